"""RoI feature extractors: pool a fixed-size map per RoI from multi-level features."""

from segwright.models.roi_heads.roi_extractors.base_roi_extractor import (
    ROI_LAYERS,
    BaseRoIExtractor,
    build_roi_layers,
)
from segwright.models.roi_heads.roi_extractors.single_level_roi_extractor import (
    SingleRoIExtractor,
)

__all__ = ["ROI_LAYERS", "BaseRoIExtractor", "SingleRoIExtractor", "build_roi_layers"]
