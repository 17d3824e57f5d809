"""R-CNN box heads: per-RoI class scores and box deltas."""

from segwright.models.roi_heads.bbox_heads.bbox_head import BBoxHead, empty_bbox_results
from segwright.models.roi_heads.bbox_heads.convfc_bbox_head import (
    ConvFCBBoxHead,
    Shared2FCBBoxHead,
    Shared4Conv1FCBBoxHead,
)

__all__ = [
    "BBoxHead",
    "ConvFCBBoxHead",
    "Shared2FCBBoxHead",
    "Shared4Conv1FCBBoxHead",
    "empty_bbox_results",
]
