"""Operators that MMCV compiles, in plain PyTorch: RoIAlign, NMS, the PSA mask, point sampling
and multi-scale deformable attention.

This package depends on torch only and imports nothing else of segwright. Each operator has a
slow, exact reference beside it (``segwright.ops._reference``; ``_reference_context`` for the
PSA mask and point sampling; ``_reference_ms_deform_attn`` for deformable attention) that
the tests compare it to.
"""

from segwright.ops.ms_deform_attn import multi_scale_deformable_attn
from segwright.ops.nms import batched_nms, nms
from segwright.ops.point_sample import point_sample
from segwright.ops.psa_mask import PSAMask, psa_mask
from segwright.ops.roi_align import RoIAlign, roi_align

__all__ = [
    "PSAMask",
    "RoIAlign",
    "batched_nms",
    "multi_scale_deformable_attn",
    "nms",
    "point_sample",
    "psa_mask",
    "roi_align",
]
