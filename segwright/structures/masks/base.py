"""What every instance-mask container offers (MMDetection 3.3's ``BaseInstanceMasks``)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import torch

T = TypeVar("T", bound="BaseInstanceMasks")

FLIP_DIRECTIONS = ("horizontal", "vertical", "diagonal")


class BaseInstanceMasks(metaclass=ABCMeta):
    """``N`` instance masks on one ``height x width`` canvas.

    Subclasses keep ``masks`` (their own representation), ``height`` and ``width``. Geometric
    methods return a new object and leave this one unchanged. Shapes are ``(h, w)``; boxes
    are ``x1, y1, x2, y2`` in pixels.
    """

    masks: Any
    height: int
    width: int

    def __len__(self) -> int:
        return len(self.masks)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.masks)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_masks={len(self)}, height={self.height}, "
            f"width={self.width})"
        )

    @abstractmethod
    def __getitem__(self: T, index: Any) -> T:
        """Masks at an int, a slice, integer indices or a bool mask (always a container)."""

    @abstractmethod
    def rescale(self: T, scale: float | tuple[int, int], interpolation: str = "nearest") -> T:
        """Keep-ratio resize: a factor, or ``(long, short)`` edge bounds (MMCV's rule)."""

    @abstractmethod
    def resize(self: T, out_shape: tuple[int, int], interpolation: str = "nearest") -> T:
        """Resize the canvas (and the masks) to ``out_shape = (h, w)``."""

    @abstractmethod
    def flip(self: T, flip_direction: str = "horizontal") -> T:
        """Flip ``horizontal``, ``vertical`` or ``diagonal`` (both)."""

    @abstractmethod
    def pad(self: T, out_shape: tuple[int, int], pad_val: int = 0) -> T:
        """Grow the canvas to ``out_shape`` at the bottom and right."""

    @abstractmethod
    def crop(self: T, bbox: np.ndarray) -> T:
        """Cut out ``bbox = (x1, y1, x2, y2)`` (clipped to the canvas) as the new canvas."""

    @abstractmethod
    def crop_and_resize(
        self,
        bboxes: np.ndarray | torch.Tensor,
        out_shape: tuple[int, int],
        inds: np.ndarray | torch.Tensor,
        device: str | torch.device = "cpu",
        interpolation: str = "bilinear",
        binarize: bool = True,
    ) -> BaseInstanceMasks:
        """Mask ``inds[i]`` inside box ``bboxes[i]``, resampled to ``out_shape`` (mask targets).

        Shapes:
            ``bboxes (K, 4)``, ``inds (K,)`` -> ``K`` masks of ``out_shape``.
        """

    @abstractmethod
    def expand(self: T, expanded_h: int, expanded_w: int, top: int, left: int) -> T:
        """Place the canvas at ``(top, left)`` of a larger empty one."""

    @property
    @abstractmethod
    def areas(self) -> np.ndarray:
        """Area of each mask, ``(N,)``."""

    @abstractmethod
    def to_ndarray(self) -> np.ndarray:
        """``(N, h, w)`` array."""

    @abstractmethod
    def to_tensor(self, dtype: torch.dtype, device: str | torch.device) -> torch.Tensor:
        """``(N, h, w)`` tensor of ``dtype`` on ``device``."""

    @abstractmethod
    def get_bboxes(self, dst_type: Any = "hbb") -> torch.Tensor:
        """Boxes around each mask as an ``(N, 4)`` float32 xyxy tensor.

        MMDetection returns ``HorizontalBoxes``; we keep plain tensors, so ``dst_type`` is
        accepted for compatibility and must mean horizontal boxes.
        """

    @classmethod
    def cat(cls: type[T], masks: Sequence[T]) -> T:
        """Concatenate containers of this class with the same canvas size."""
        if len(masks) == 0:
            raise ValueError(f"{cls.__name__}.cat needs at least one {cls.__name__}.")
        for m in masks:
            if type(m) is not cls:
                raise TypeError(f"{cls.__name__}.cat takes {cls.__name__}, got {type(m).__name__}.")
        return cls._cat(masks)

    @classmethod
    @abstractmethod
    def _cat(cls: type[T], masks: Sequence[T]) -> T: ...


def check_flip_direction(direction: str) -> None:
    if direction not in FLIP_DIRECTIONS:
        raise ValueError(f"flip_direction must be one of {FLIP_DIRECTIONS}, got {direction!r}.")


def check_box_type(dst_type: Any) -> None:
    """``get_bboxes`` only makes horizontal boxes: 'hbb', a tensor type, or an HBox class."""
    name = dst_type if isinstance(dst_type, str) else getattr(dst_type, "__name__", "")
    if name not in ("hbb", "hbox", "HorizontalBoxes", "Tensor", "ndarray"):
        raise ValueError(f"get_bboxes makes horizontal boxes only, got dst_type={dst_type!r}.")


def clip_crop_box(bbox: Any, height: int, width: int, integer: bool = True) -> tuple:
    """``x1, y1, x2, y2, w, h`` of a crop box clipped to the canvas (w, h at least 1).

    With ``integer`` the coordinates are cast to int (MMDetection passes ints to bitmap
    crops; a float box is truncated). Polygon crops keep floats.
    """
    box = np.asarray(bbox)
    if box.shape != (4,):
        raise ValueError(f"A crop box must be (x1, y1, x2, y2), got shape {box.shape}.")
    box = box.astype(np.int64) if integer else box.astype(np.float64)
    x1, x2 = np.clip(box[0::2], 0, width).tolist()
    y1, y2 = np.clip(box[1::2], 0, height).tolist()
    return x1, y1, x2, y2, max(x2 - x1, 1), max(y2 - y1, 1)


def as_index_array(index: Any) -> Any:
    """Tensors and lists to NumPy arrays (bool masks stay bool); ints and slices unchanged."""
    if isinstance(index, torch.Tensor):
        return index.detach().cpu().numpy()
    if isinstance(index, (list, tuple)):
        arr = np.asarray(index)
        return arr.astype(np.int64) if arr.size == 0 else arr
    return index
