"""IoU, IoF and GIoU between axis-aligned boxes, as MMDetection 3.3's ``bbox_overlaps``."""

from __future__ import annotations

from typing import Any

import torch

from segwright.models.task_modules._boxes import check_boxes
from segwright.registry import TASK_UTILS
from segwright.utils.errors import ConfigError

#: What ``mode`` can be: intersection over union, over the first box ("foreground"), generalised IoU.
OVERLAP_MODES = ("iou", "iof", "giou")


def _area(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def bbox_overlaps(
    bboxes1: torch.Tensor,
    bboxes2: torch.Tensor,
    mode: str = "iou",
    is_aligned: bool = False,
    eps: float = 1e-6,
) -> torch.Tensor:
    """Overlaps of every box in ``bboxes1`` with every box in ``bboxes2`` (or pairwise).

    Boxes are ``x1, y1, x2, y2`` with no +1 offset. The denominator (union for 'iou'/'giou',
    the area of the ``bboxes1`` box for 'iof') and the enclosing area of 'giou' are clamped
    to at least ``eps``; ``giou = iou - (enclose - union) / enclose``.

    Args:
        bboxes1: First boxes.
        bboxes2: Second boxes, with the same leading batch dimensions.
        mode: 'iou', 'iof' or 'giou'.
        is_aligned: Compare ``bboxes1[i]`` with ``bboxes2[i]`` only (M must equal N).
        eps: Lower bound of the denominators.

    Returns:
        The overlaps; zero-sized when either side has no boxes.

    Raises:
        ValueError: An unknown mode, boxes that are not (..., 4), batch dimensions that differ,
            or aligned inputs with M != N.

    Shapes:
        bboxes1 (B..., M, 4); bboxes2 (B..., N, 4) -> (B..., M, N), or (B..., M) when aligned.
    """
    if mode not in OVERLAP_MODES:
        raise ValueError(
            f"bbox_overlaps: mode must be one of {', '.join(map(repr, OVERLAP_MODES))}, "
            f"got {mode!r}."
        )
    bboxes1 = check_boxes(bboxes1, "bboxes1", "bbox_overlaps")
    bboxes2 = check_boxes(bboxes2, "bboxes2", "bbox_overlaps")
    batch_shape = bboxes1.shape[:-2]
    if bboxes2.shape[:-2] != batch_shape:
        raise ValueError(
            "bbox_overlaps: bboxes1 and bboxes2 need the same batch dimensions, got shapes "
            f"{tuple(bboxes1.shape)} and {tuple(bboxes2.shape)}."
        )
    rows, cols = bboxes1.size(-2), bboxes2.size(-2)
    if is_aligned and rows != cols:
        raise ValueError(
            f"bbox_overlaps: is_aligned=True needs as many boxes on both sides, got {rows} "
            f"and {cols}."
        )
    if rows * cols == 0:
        shape = (rows,) if is_aligned else (rows, cols)
        return bboxes1.new_zeros(batch_shape + shape)

    area1, area2 = _area(bboxes1), _area(bboxes2)
    if is_aligned:
        first, second = bboxes1, bboxes2
    else:  # broadcast to (B..., M, N, 4)
        first, second = bboxes1[..., :, None, :], bboxes2[..., None, :, :]
        area1, area2 = area1[..., :, None], area2[..., None, :]

    top_left = torch.max(first[..., :2], second[..., :2])
    bottom_right = torch.min(first[..., 2:], second[..., 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    union = area1 + area2 - overlap if mode != "iof" else area1
    eps_tensor = union.new_tensor([eps])
    union = torch.max(union, eps_tensor)
    ious = overlap / union
    if mode != "giou":
        return ious

    enclose_wh = (
        torch.max(first[..., 2:], second[..., 2:]) - torch.min(first[..., :2], second[..., :2])
    ).clamp(min=0)
    enclose_area = torch.max(enclose_wh[..., 0] * enclose_wh[..., 1], eps_tensor)
    return ious - (enclose_area - union) / enclose_area


@TASK_UTILS.register_module()
class BboxOverlaps2D:
    """Overlap calculator of the assigners (MMDetection's ``BboxOverlaps2D``).

    A fifth column (a score) is dropped. With ``dtype='fp16'`` the boxes are divided by
    ``scale`` and computed in half precision to save memory; results on the CPU come back
    as float32.

    Args:
        scale: Divides the boxes before the fp16 cast (avoids overflow).
        dtype: None, or 'fp16'.
    """

    def __init__(self, scale: float = 1.0, dtype: str | None = None) -> None:
        if dtype not in (None, "fp16"):
            raise ConfigError(f"BboxOverlaps2D: dtype must be None or 'fp16', got {dtype!r}.")
        self.scale = scale
        self.dtype = dtype

    def __call__(
        self, bboxes1: Any, bboxes2: Any, mode: str = "iou", is_aligned: bool = False
    ) -> torch.Tensor:
        """Overlaps between two sets of boxes (see :func:`bbox_overlaps`).

        Shapes:
            bboxes1 (M, 4 or 5); bboxes2 (N, 4 or 5) -> (M, N), or (M,) when aligned.
        """
        bboxes1 = check_boxes(bboxes1, "bboxes1", "BboxOverlaps2D", widths=(4, 5))[..., :4]
        bboxes2 = check_boxes(bboxes2, "bboxes2", "BboxOverlaps2D", widths=(4, 5))[..., :4]
        if self.dtype == "fp16":
            bboxes1 = (bboxes1 / self.scale).half()
            bboxes2 = (bboxes2 / self.scale).half()
            overlaps = bbox_overlaps(bboxes1, bboxes2, mode, is_aligned)
            if not overlaps.is_cuda and overlaps.dtype == torch.float16:
                overlaps = overlaps.float()
            return overlaps
        return bbox_overlaps(bboxes1, bboxes2, mode, is_aligned)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale={self.scale}, dtype={self.dtype})"
