"""Detection task modules (registered in TASK_UTILS): anchors, box coding, assigning, sampling.

They follow MMDetection 3.3 (class names, constructor arguments and numbers) so its
configs build and its RPN/R-CNN heads' checkpoints meet the same anchors and targets.
Instances (predictions, ground truths) are read by duck typing: anything with ``.priors``
(or ``.bboxes``), ``.bboxes`` and ``.labels`` attributes.
"""

from segwright.models.task_modules.anchor_generator import AnchorGenerator
from segwright.models.task_modules.assign_result import AssignResult
from segwright.models.task_modules.base_sampler import BaseSampler
from segwright.models.task_modules.bbox_overlaps import BboxOverlaps2D, bbox_overlaps
from segwright.models.task_modules.delta_xywh_coder import (
    DeltaXYWHBBoxCoder,
    bbox2delta,
    delta2bbox,
)
from segwright.models.task_modules.hungarian_assigner import HungarianAssigner, MaskPseudoSampler
from segwright.models.task_modules.match_costs import (
    ClassificationCost,
    CrossEntropyLossCost,
    DiceCost,
    FocalLossCost,
)
from segwright.models.task_modules.max_iou_assigner import MaxIoUAssigner
from segwright.models.task_modules.random_sampler import RandomSampler
from segwright.models.task_modules.sampling_result import SamplingResult

__all__ = [
    "AnchorGenerator",
    "AssignResult",
    "BaseSampler",
    "BboxOverlaps2D",
    "DeltaXYWHBBoxCoder",
    "ClassificationCost",
    "CrossEntropyLossCost",
    "DiceCost",
    "FocalLossCost",
    "HungarianAssigner",
    "MaskPseudoSampler",
    "MaxIoUAssigner",
    "RandomSampler",
    "SamplingResult",
    "bbox2delta",
    "bbox_overlaps",
    "delta2bbox",
]
