"""R-CNN mask heads: per-RoI instance masks."""

from segwright.models.roi_heads.mask_heads.fcn_mask_head import (
    FCNMaskHead,
    empty_mask_results,
    paste_masks,
)

__all__ = ["FCNMaskHead", "empty_mask_results", "paste_masks"]
