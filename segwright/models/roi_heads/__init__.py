"""R-CNN RoI heads (MMDetection 3.3): RoI feature extractors, box heads, mask heads.

``StandardRoIHead`` (registered in MODELS) is the second stage of Faster and Mask R-CNN;
parameter names are MMDetection's (``bbox_head.shared_fcs.0``, ``mask_head.convs.0.conv``...),
so its checkpoints' ``roi_head.*`` load as they are.
"""

from segwright.models.roi_heads.base_roi_head import BaseRoIHead
from segwright.models.roi_heads.bbox_heads import (
    BBoxHead,
    ConvFCBBoxHead,
    Shared2FCBBoxHead,
    Shared4Conv1FCBBoxHead,
)
from segwright.models.roi_heads.bbox_nms import multiclass_nms
from segwright.models.roi_heads.mask_heads import FCNMaskHead
from segwright.models.roi_heads.roi_extractors import BaseRoIExtractor, SingleRoIExtractor
from segwright.models.roi_heads.standard_roi_head import StandardRoIHead

__all__ = [
    "BBoxHead",
    "BaseRoIExtractor",
    "BaseRoIHead",
    "ConvFCBBoxHead",
    "FCNMaskHead",
    "Shared2FCBBoxHead",
    "Shared4Conv1FCBBoxHead",
    "SingleRoIExtractor",
    "StandardRoIHead",
    "multiclass_nms",
]
