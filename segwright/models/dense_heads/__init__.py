"""Dense detection heads (MMDetection 3.3): per-location scores and boxes over anchor grids.

``RPNHead`` (registered in MODELS) proposes regions for two-stage detectors; ``AnchorHead``
and ``BaseDenseHead`` hold the shared anchor targets, losses and train/test flow.
"""

from segwright.models.dense_heads.anchor_head import AnchorHead
from segwright.models.dense_heads.base_dense_head import BaseDenseHead
from segwright.models.dense_heads.rpn_head import RPNHead

__all__ = ["AnchorHead", "BaseDenseHead", "RPNHead"]
