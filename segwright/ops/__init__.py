"""Operators that MMCV compiles, in plain PyTorch: RoIAlign and NMS.

This package depends on torch only and imports nothing else of segwright. Each operator has a
slow, exact reference beside it (``segwright.ops._reference``) that the tests compare it to.
"""

from segwright.ops.nms import batched_nms, nms
from segwright.ops.roi_align import RoIAlign, roi_align

__all__ = ["RoIAlign", "batched_nms", "nms", "roi_align"]
