"""Instance masks as an ``(N, H, W)`` array (MMDetection 3.3's ``BitmapMasks``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from segwright.structures.masks.base import (
    BaseInstanceMasks,
    as_index_array,
    check_box_type,
    check_flip_direction,
    clip_crop_box,
)
from segwright.utils import image_ops


class BitmapMasks(BaseInstanceMasks):
    """``N`` binary masks of ``height x width`` pixels, kept as a NumPy array.

    Args:
        masks: An ``(N, H, W)`` array, a list of ``(H, W)`` arrays, or empty.
        height: Canvas height.
        width: Canvas width.

    The dtype is kept as given (``uint8`` from loading, ``bool`` from ``crop_and_resize``).

    Example:
        >>> m = BitmapMasks(np.zeros((2, 4, 6), np.uint8), 4, 6)
        >>> m.flip().pad((8, 8)).masks.shape
        (2, 8, 8)
    """

    def __init__(self, masks: np.ndarray | Sequence[np.ndarray], height: int, width: int):
        self.height = int(height)
        self.width = int(width)
        if isinstance(masks, torch.Tensor):
            masks = masks.detach().cpu().numpy()
        if len(masks) == 0:
            self.masks = np.empty((0, self.height, self.width), dtype=np.uint8)
            return
        if isinstance(masks, list):
            if not all(isinstance(m, np.ndarray) and m.ndim == 2 for m in masks):
                raise TypeError("BitmapMasks takes a list of (H, W) arrays or an (N, H, W) array.")
            masks = np.stack(masks)
        elif not isinstance(masks, np.ndarray) or masks.ndim != 3:
            raise TypeError(
                "BitmapMasks takes a list of (H, W) arrays or an (N, H, W) array, got "
                f"{type(masks).__name__} of shape {getattr(masks, 'shape', '?')}."
            )
        if masks.shape[1:] != (self.height, self.width):
            raise ValueError(
                f"BitmapMasks of shape {masks.shape[1:]} do not match height={self.height}, "
                f"width={self.width}."
            )
        self.masks = masks

    def __getitem__(self, index: Any) -> BitmapMasks:
        masks = self.masks[as_index_array(index)].reshape(-1, self.height, self.width)
        return BitmapMasks(masks, self.height, self.width)

    def rescale(
        self, scale: float | tuple[int, int], interpolation: str = "nearest"
    ) -> BitmapMasks:
        ops = image_ops
        (new_w, new_h), _ = ops.rescale_size((self.width, self.height), scale)
        return self.resize((new_h, new_w), interpolation)

    def resize(self, out_shape: tuple[int, int], interpolation: str = "nearest") -> BitmapMasks:
        out_h, out_w = int(out_shape[0]), int(out_shape[1])
        if len(self) == 0:
            return BitmapMasks([], out_h, out_w)
        ops = image_ops
        code = ops.interpolation_code(interpolation, "BitmapMasks.resize")
        # OpenCV resizes neither bool nor int64; uint8 holds 0/1 masks exactly.
        src = self.masks.astype(np.uint8) if self.masks.dtype == np.bool_ else self.masks
        resized = np.stack([ops.imresize(m, (out_w, out_h), code) for m in src])
        return BitmapMasks(resized.astype(self.masks.dtype, copy=False), out_h, out_w)

    def flip(self, flip_direction: str = "horizontal") -> BitmapMasks:
        check_flip_direction(flip_direction)
        axes = {"horizontal": (2,), "vertical": (1,), "diagonal": (1, 2)}[flip_direction]
        flipped = np.ascontiguousarray(np.flip(self.masks, axis=axes))
        return BitmapMasks(flipped, self.height, self.width)

    def pad(self, out_shape: tuple[int, int], pad_val: int = 0) -> BitmapMasks:
        out_h, out_w = int(out_shape[0]), int(out_shape[1])
        if out_h < self.height or out_w < self.width:
            raise ValueError(
                f"BitmapMasks.pad only grows the canvas: ({self.height}, {self.width}) -> "
                f"{(out_h, out_w)}."
            )
        if len(self) == 0:
            return BitmapMasks([], out_h, out_w)
        padded = np.full((len(self), out_h, out_w), pad_val, dtype=self.masks.dtype)
        padded[:, : self.height, : self.width] = self.masks
        return BitmapMasks(padded, out_h, out_w)

    def crop(self, bbox: np.ndarray) -> BitmapMasks:
        x1, y1, _, _, w, h = clip_crop_box(bbox, self.height, self.width)
        if len(self) == 0:
            return BitmapMasks([], h, w)
        cropped = self.masks[:, y1 : y1 + h, x1 : x1 + w]
        if cropped.shape[1:] != (h, w):  # a box on the far edge: MMDet would fail here too
            raise ValueError(f"Crop box {list(np.asarray(bbox))} lies outside the masks.")
        return BitmapMasks(cropped, h, w)

    def crop_and_resize(
        self,
        bboxes: np.ndarray | torch.Tensor,
        out_shape: tuple[int, int],
        inds: np.ndarray | torch.Tensor,
        device: str | torch.device = "cpu",
        interpolation: str = "bilinear",
        binarize: bool = True,
    ) -> BitmapMasks:
        """RoIAlign (``aligned=True``, adaptive sampling, average) of the masks in the boxes.

        ``interpolation`` is unused (RoIAlign is bilinear), as in MMDetection. With
        ``binarize`` the result is ``>= 0.5`` as bool, else the float averages.
        """
        out_h, out_w = int(out_shape[0]), int(out_shape[1])
        if len(self) == 0:
            return BitmapMasks([], out_h, out_w)
        bboxes = torch.as_tensor(bboxes, device=device)
        if not bboxes.is_floating_point():
            bboxes = bboxes.float()
        inds = torch.as_tensor(inds, device=device).long()
        num = bboxes.shape[0]
        if num == 0:
            return BitmapMasks([], out_h, out_w)
        from segwright.ops.roi_align import roi_align  # ops is its own room; loaded on use

        batch_idx = torch.arange(num, device=device, dtype=bboxes.dtype)[:, None]
        rois = torch.cat([batch_idx, bboxes], dim=1)
        masks = torch.from_numpy(self.masks).to(device).index_select(0, inds).to(rois.dtype)
        targets = roi_align(masks[:, None], rois, (out_h, out_w), 1.0, 0, "avg", True).squeeze(1)
        out = (targets >= 0.5) if binarize else targets
        return BitmapMasks(out.cpu().numpy(), out_h, out_w)

    def expand(self, expanded_h: int, expanded_w: int, top: int, left: int) -> BitmapMasks:
        if len(self) == 0:
            return BitmapMasks([], expanded_h, expanded_w)
        out = np.zeros((len(self), expanded_h, expanded_w), dtype=np.uint8)
        out[:, top : top + self.height, left : left + self.width] = self.masks
        return BitmapMasks(out, expanded_h, expanded_w)

    @property
    def areas(self) -> np.ndarray:
        return self.masks.sum((1, 2))

    def to_ndarray(self) -> np.ndarray:
        return self.masks

    def to_tensor(self, dtype: torch.dtype, device: str | torch.device) -> torch.Tensor:
        return torch.tensor(self.masks, dtype=dtype, device=device)

    def get_bboxes(self, dst_type: Any = "hbb") -> torch.Tensor:
        """Tight boxes: ``x2``/``y2`` are one past the last set column/row; empty masks give 0."""
        check_box_type(dst_type)
        boxes = np.zeros((len(self), 4), dtype=np.float32)
        cols = self.masks.any(axis=1)  # (N, W)
        rows = self.masks.any(axis=2)  # (N, H)
        filled = cols.any(axis=1)
        boxes[filled, 0] = cols[filled].argmax(axis=1)
        boxes[filled, 1] = rows[filled].argmax(axis=1)
        boxes[filled, 2] = self.width - cols[filled][:, ::-1].argmax(axis=1)
        boxes[filled, 3] = self.height - rows[filled][:, ::-1].argmax(axis=1)
        return torch.from_numpy(boxes)

    @classmethod
    def _cat(cls, masks: Sequence[BitmapMasks]) -> BitmapMasks:
        shapes = {(m.height, m.width) for m in masks}
        if len(shapes) != 1:
            raise ValueError(f"BitmapMasks.cat needs one canvas size, got {sorted(shapes)}.")
        height, width = shapes.pop()
        return cls(np.concatenate([m.masks for m in masks], axis=0), height, width)
