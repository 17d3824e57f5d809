"""``resize``: ``F.interpolate`` with MMSeg's argument order and its align_corners warning."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def resize(
    input: torch.Tensor,  # noqa: A002 - MMSeg's argument name
    size: Sequence[int] | torch.Size | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    warning: bool = True,
) -> torch.Tensor:
    """Resize a ``(N, C, H, W)`` tensor.

    With ``align_corners=True``, an output size that is not ``k·(in − 1) + 1`` misaligns pixel
    centres; a warning says so, as MMSeg's does.
    """
    # While tracing (ONNX export), sizes taken from ``x.shape`` are traced values: int() would
    # freeze them to the example input's size and break exports with dynamic height and width.
    tracing = torch.jit.is_tracing()
    if size is not None and not tracing:
        size = tuple(int(s) for s in size)
    if warning and size is not None and align_corners and not tracing:
        in_h, in_w = (int(s) for s in input.shape[-2:])
        out_h, out_w = size
        if (out_h > in_h or out_w > in_w) and min(in_h, in_w, out_h, out_w) > 1:
            if (out_h - 1) % (in_h - 1) or (out_w - 1) % (in_w - 1):
                warnings.warn(
                    f"When align_corners=True, the output size ({out_h}, {out_w}) should be "
                    f"k*(input-1)+1 of the input size ({in_h}, {in_w}) for aligned pixels.",
                    stacklevel=2,
                )
    if mode in ("nearest", "area", "nearest-exact"):
        align_corners = None  # F.interpolate rejects align_corners for these modes
    return F.interpolate(input, size, scale_factor, mode, align_corners)
