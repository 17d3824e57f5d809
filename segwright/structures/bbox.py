"""Box helpers on plain ``(..., 4)`` xyxy tensors.

MMDetection 3.3 wraps boxes in ``HorizontalBoxes`` inside its transforms and treats a bare
tensor as horizontal boxes everywhere else. We keep plain tensors throughout, so these helpers
take and return tensors; :func:`get_box_tensor` still unwraps any object with a ``.tensor``
(an MMDet box type) so mixed code keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

FLIP_DIRECTIONS = ("horizontal", "vertical", "diagonal")


def get_box_tensor(boxes: Any) -> torch.Tensor:
    """The ``(..., 4)`` tensor behind ``boxes`` (a tensor, an array, or an MMDet box object)."""
    if isinstance(boxes, torch.Tensor):
        return boxes
    if isinstance(boxes, np.ndarray):
        return torch.from_numpy(boxes)
    tensor = getattr(boxes, "tensor", None)
    if isinstance(tensor, torch.Tensor):
        return tensor
    raise TypeError(f"Expected boxes as a tensor or an array, got {type(boxes).__name__}.")


def empty_box_as(boxes: Any) -> torch.Tensor:
    """A ``(0, 4)`` tensor with the dtype and device of ``boxes``."""
    return get_box_tensor(boxes).new_zeros(0, 4)


def cat_boxes(data_list: Sequence[Any], dim: int = 0) -> torch.Tensor:
    """Concatenate boxes given as tensors (or anything :func:`get_box_tensor` takes)."""
    return torch.cat([get_box_tensor(b) for b in data_list], dim=dim)


def bbox2roi(bbox_list: Sequence[Any]) -> torch.Tensor:
    """Per-image boxes to RoIs that say which image each box is from.

    Args:
        bbox_list: One ``(n_i, 4)`` box tensor per image of the batch.

    Returns:
        ``[batch_idx, x1, y1, x2, y2]`` rows, images in order.

    Shapes:
        ``[(n_i, 4)] -> (sum n_i, 5)``
    """
    rois = []
    for img_id, bboxes in enumerate(bbox_list):
        bboxes = get_box_tensor(bboxes)
        img_inds = bboxes.new_full((bboxes.size(0), 1), img_id)
        rois.append(torch.cat([img_inds, bboxes], dim=-1))
    return torch.cat(rois, 0)


def roi2bbox(rois: torch.Tensor) -> list[torch.Tensor]:
    """Split ``(K, 5)`` RoIs back into one box tensor per image index present, in order."""
    img_ids = torch.unique(rois[:, 0].cpu(), sorted=True)
    return [rois[rois[:, 0] == img_id.item(), 1:] for img_id in img_ids]


def bbox_flip(
    bboxes: torch.Tensor, img_shape: Sequence[int], direction: str = "horizontal"
) -> torch.Tensor:
    """Flip xyxy boxes inside an image of ``img_shape = (h, w)``.

    Boxes use continuous coordinates, so ``x -> w - x`` (a pixel mask flips ``i -> w - 1 - i``;
    both send a box around the mask to the box around the flipped mask). The last dimension
    may hold several boxes (a multiple of 4), as in class-specific regression.

    Raises:
        ValueError: unknown ``direction`` or a last dimension that is not a multiple of 4.
    """
    if bboxes.shape[-1] % 4 != 0:
        raise ValueError(f"bbox_flip needs a last dimension of 4k, got {tuple(bboxes.shape)}.")
    if direction not in FLIP_DIRECTIONS:
        raise ValueError(
            f"bbox_flip: direction must be one of {FLIP_DIRECTIONS}, got {direction!r}."
        )
    h, w = img_shape[0], img_shape[1]
    flipped = bboxes.clone()
    if direction in ("horizontal", "diagonal"):
        flipped[..., 0::4] = w - bboxes[..., 2::4]
        flipped[..., 2::4] = w - bboxes[..., 0::4]
    if direction in ("vertical", "diagonal"):
        flipped[..., 1::4] = h - bboxes[..., 3::4]
        flipped[..., 3::4] = h - bboxes[..., 1::4]
    return flipped


def scale_boxes(boxes: torch.Tensor, scale_factor: Sequence[float]) -> torch.Tensor:
    """Multiply x by ``scale_factor[0]`` and y by ``scale_factor[1]`` (a new tensor).

    Shapes:
        ``(..., 2k) -> (..., 2k)``; ``scale_factor`` is ``(w_scale, h_scale)``.
    """
    boxes = get_box_tensor(boxes)
    factor = boxes.new_tensor(tuple(scale_factor)).repeat(boxes.size(-1) // 2)
    return boxes * factor


def bbox_cxcywh_to_xyxy(bbox: torch.Tensor) -> torch.Tensor:
    """``(cx, cy, w, h) -> (x1, y1, x2, y2)``."""
    cx, cy, w, h = bbox.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def bbox_xyxy_to_cxcywh(bbox: torch.Tensor) -> torch.Tensor:
    """``(x1, y1, x2, y2) -> (cx, cy, w, h)``."""
    x1, y1, x2, y2 = bbox.unbind(-1)
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)
