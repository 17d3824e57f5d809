"""Geometric transforms: crop, flip, rotate, pad and label rescale (plus the resizes).

Random decisions use NumPy's global generator, which the engine seeds per worker, so a run's
seed fixes every crop and flip (and matches MMSeg's draws call for call).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from segwright.datasets.labels import label_histogram
from segwright.datasets.transforms.base import BaseTransform, check_choice, int_pair
from segwright.datasets.transforms.resize import (
    RandomChoiceResize,
    RandomResize,
    Resize,
    ResizeShortestEdge,
    ResizeToMultiple,
    seg_keys,
)
from segwright.registry import TRANSFORMS
from segwright.utils.errors import ConfigError
from segwright.utils.image_ops import (
    FLIP_CODES,
    PADDING_MODES,
    imflip,
    impad,
    imrescale_nearest,
    imrotate,
)

__all__ = [
    "Pad",
    "RandomChoiceResize",
    "RandomCrop",
    "RandomFlip",
    "RandomResize",
    "RandomRotFlip",
    "RandomRotate",
    "Resize",
    "ResizeShortestEdge",
    "ResizeToMultiple",
    "SegRescale",
]


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random ``crop_size`` window (smaller when the image is smaller; pad later).

    With ``cat_max_ratio < 1`` up to 10 windows are tried until one holds more than one
    non-ignored class and no class covers ``cat_max_ratio`` or more of its labelled pixels;
    after 10 failures the 11th window is used as is (MMSeg).

    Reads ``img``, ``gt_seg_map``, ``seg_fields``; writes ``img``, the label maps, ``img_shape``.

    Args:
        crop_size: ``(h, w)`` or an int.
        cat_max_ratio: Largest share one class may take of a crop.
        ignore_index: Label left out of the share.
    """

    def __init__(
        self,
        crop_size: int | Sequence[int],
        cat_max_ratio: float = 1.0,
        ignore_index: int = 255,
    ) -> None:
        self.crop_size = int_pair(crop_size, "crop_size", type(self).__name__)
        self.cat_max_ratio = float(cat_max_ratio)
        self.ignore_index = ignore_index

    def _random_box(self, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        margin_h = max(shape[0] - self.crop_size[0], 0)
        margin_w = max(shape[1] - self.crop_size[1], 0)
        top = int(np.random.randint(0, margin_h + 1))
        left = int(np.random.randint(0, margin_w + 1))
        return top, top + self.crop_size[0], left, left + self.crop_size[1]

    def _balanced(self, seg: np.ndarray) -> bool:
        if seg.dtype == np.uint8 and seg.ndim == 2:
            counts = label_histogram(seg)
            if 0 <= self.ignore_index < 256:
                counts[self.ignore_index] = 0
            counts = counts[counts > 0]
        else:
            labels, counts = np.unique(seg, return_counts=True)
            counts = counts[labels != self.ignore_index]
        return len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        img = results["img"]
        top, bottom, left, right = self._random_box(img.shape)
        if self.cat_max_ratio < 1.0:
            seg = results.get("gt_seg_map")
            if seg is None:
                raise ConfigError(
                    "RandomCrop(cat_max_ratio<1) needs gt_seg_map: put LoadAnnotations before "
                    "RandomCrop in the pipeline."
                )
            for _ in range(10):
                if self._balanced(seg[top:bottom, left:right]):
                    break
                top, bottom, left, right = self._random_box(img.shape)
        img = img[top:bottom, left:right, ...]
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        for key in seg_keys(results):
            results[key] = results[key][top:bottom, left:right, ...]
        return results


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip the image and label maps with probability ``prob`` (MMCV 2.x ``RandomFlip``).

    Reads ``img``, label maps; writes them plus ``flip`` and ``flip_direction``.

    Args:
        prob: Probability of flipping; a list gives one probability per direction.
        direction: ``horizontal``, ``vertical``, ``diagonal``, or a list of them.
        swap_seg_labels: Pairs of label ids swapped after a flip (e.g. left/right classes).
    """

    def __init__(
        self,
        prob: float | Sequence[float] | None = None,
        direction: str | Sequence[str] = "horizontal",
        swap_seg_labels: Sequence[Sequence[int]] | None = None,
    ) -> None:
        owner = type(self).__name__
        directions = [direction] if isinstance(direction, str) else list(direction)
        for d in directions:
            check_choice(d, "direction", owner, tuple(FLIP_CODES))
        if prob is None:
            raise ConfigError(f"{owner}: prob is required (e.g. prob=0.5).")
        if isinstance(prob, numbers.Real):
            if not 0 <= prob <= 1:
                raise ConfigError(f"{owner}: prob must be in [0, 1], got {prob}.")
            per_direction = [float(prob) / len(directions)] * len(directions)
        else:
            per_direction = [float(p) for p in prob]
            if len(per_direction) != len(directions):
                raise ConfigError(
                    f"{owner}: a list prob needs a list direction of the same length."
                )
            if not 0 <= sum(per_direction) <= 1 or min(per_direction) < 0:
                raise ConfigError(f"{owner}: the probabilities must sum to at most 1, got {prob}.")
        self.prob = prob
        self.direction = direction
        self.swap_seg_labels = swap_seg_labels
        self._choices: list[str | None] = [*directions, None]
        self._probs = [*per_direction, 1.0 - sum(per_direction)]
        self._swap_lut = self._make_swap_lut(swap_seg_labels)

    @staticmethod
    def _make_swap_lut(pairs: Sequence[Sequence[int]] | None) -> np.ndarray | None:
        if not pairs:
            return None
        lut = np.arange(256, dtype=np.uint8)
        for a, b in pairs:
            lut[a], lut[b] = b, a
        return lut

    def _choose_direction(self) -> str | None:
        """A direction, or None for no flip (one draw from NumPy's generator, as MMCV)."""
        return self._choices[int(np.random.choice(len(self._choices), p=self._probs))]

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        direction = self._choose_direction()
        results["flip"] = direction is not None
        results["flip_direction"] = direction
        if direction is None:
            return results
        if results.get("img") is not None:
            results["img"] = imflip(results["img"], direction)
        for key in seg_keys(results):
            seg = imflip(results[key], direction)
            if self._swap_lut is not None and seg.dtype == np.uint8:
                seg = cv2.LUT(seg, self._swap_lut)
            results[key] = seg
        return results


@TRANSFORMS.register_module()
class RandomRotate(BaseTransform):
    """Rotate by a random angle with probability ``prob`` (MMSeg ``RandomRotate``).

    Reads/writes ``img`` and the label maps (nearest neighbour, padded with ``seg_pad_val``).

    Args:
        prob: Probability of rotating.
        degree: ``d`` for ``U(-d, d)``, or ``(low, high)``; positive angles turn clockwise.
        pad_val: Image fill value.
        seg_pad_val: Label fill value.
        center: Rotation centre ``(x, y)``; None is the image centre.
        auto_bound: Enlarge the canvas to keep the whole image.
    """

    def __init__(
        self,
        prob: float,
        degree: float | Sequence[float],
        pad_val: float = 0,
        seg_pad_val: int = 255,
        center: Sequence[float] | None = None,
        auto_bound: bool = False,
    ) -> None:
        owner = type(self).__name__
        if not 0 <= prob <= 1:
            raise ConfigError(f"{owner}: prob must be in [0, 1], got {prob}.")
        if isinstance(degree, numbers.Real):
            if degree <= 0:
                raise ConfigError(f"{owner}: degree must be positive, got {degree}.")
            self.degree = (-float(degree), float(degree))
        elif isinstance(degree, Sequence) and len(degree) == 2:
            self.degree = (float(min(degree)), float(max(degree)))
        else:
            raise ConfigError(f"{owner}: degree must be a number or (low, high), got {degree!r}.")
        self.prob = prob
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.center = None if center is None else tuple(center)
        self.auto_bound = auto_bound

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        rotate = np.random.rand() < self.prob
        angle = float(np.random.uniform(*self.degree))
        if rotate:
            results["img"] = imrotate(
                results["img"],
                angle,
                center=self.center,
                border_value=self.pad_val,
                auto_bound=self.auto_bound,
            )
            for key in seg_keys(results):
                results[key] = imrotate(
                    results[key],
                    angle,
                    center=self.center,
                    border_value=self.seg_pad_val,
                    interpolation=cv2.INTER_NEAREST,
                    auto_bound=self.auto_bound,
                )
            results["img_shape"] = results["img"].shape[:2]
        return results


@TRANSFORMS.register_module()
class RandomRotFlip(BaseTransform):
    """Either rotate by a random angle, or turn by a random multiple of 90° and flip (MMSeg).

    Reads/writes ``img`` and the label maps (labels rotate with nearest neighbour).

    Args:
        rotate_prob: Probability of the free rotation.
        flip_prob: Probability of the 90°-turn-and-flip when no rotation happened.
        degree: ``(low, high)`` for the free rotation.
    """

    def __init__(
        self,
        rotate_prob: float = 0.5,
        flip_prob: float = 0.5,
        degree: Sequence[float] = (-20, 20),
    ) -> None:
        owner = type(self).__name__
        for name, value in (("rotate_prob", rotate_prob), ("flip_prob", flip_prob)):
            if not 0 <= value <= 1:
                raise ConfigError(f"{owner}: {name} must be in [0, 1], got {value}.")
        if isinstance(degree, numbers.Real):
            degree = (-abs(degree), abs(degree))
        self.rotate_prob = rotate_prob
        self.flip_prob = flip_prob
        self.degree = (float(min(degree)), float(max(degree)))

    def _rot_flip(self, results: dict[str, Any]) -> None:
        turns = int(np.random.randint(0, 4))
        axis = int(np.random.randint(0, 2))
        for key in ["img", *seg_keys(results)]:
            results[key] = np.flip(np.rot90(results[key], turns), axis=axis).copy()

    def _rotate(self, results: dict[str, Any]) -> None:
        angle = float(np.random.uniform(*self.degree))
        results["img"] = imrotate(results["img"], angle)
        for key in seg_keys(results):
            results[key] = imrotate(results[key], angle, interpolation=cv2.INTER_NEAREST)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        rotated = False
        if np.random.random() < self.rotate_prob:
            self._rotate(results)
            rotated = True
        if np.random.random() < self.flip_prob and not rotated:
            self._rot_flip(results)
        results["img_shape"] = results["img"].shape[:2]
        return results


@TRANSFORMS.register_module()
class Pad(BaseTransform):
    """Pad the image and label maps at the bottom/right (MMCV 2.x ``Pad``).

    Reads ``img``, label maps; writes them plus ``pad_shape``, ``img_shape`` (the padded
    shape, as MMCV), ``pad_fixed_size``, ``pad_size_divisor``.

    Args:
        size: Fixed padded size ``(w, h)`` (MMCV 2.x order).
        size_divisor: Pad each edge up to a multiple of this.
        pad_to_square: Pad to a square of the longer edge.
        pad_val: Image fill value, or ``dict(img=..., seg=...)``.
        padding_mode: ``constant``, ``edge``, ``reflect`` or ``symmetric``.
        seg_pad_val: Label fill value (MMSeg 0.x spelling); overrides ``pad_val['seg']``.
    """

    def __init__(
        self,
        size: int | Sequence[int] | None = None,
        size_divisor: int | None = None,
        pad_to_square: bool = False,
        pad_val: float | dict[str, float] = dict(img=0, seg=255),  # noqa: B006 (MMCV default)
        padding_mode: str = "constant",
        seg_pad_val: int | None = None,
    ) -> None:
        owner = type(self).__name__
        if pad_to_square:
            if size is not None or size_divisor is not None:
                raise ConfigError(
                    f"{owner}: size and size_divisor must be None with pad_to_square."
                )
        elif (size is None) == (size_divisor is None):
            raise ConfigError(f"{owner}: give exactly one of size=(w, h) and size_divisor.")
        self.size = None if size is None else int_pair(size, "size", owner)
        self.size_divisor = size_divisor
        self.pad_to_square = pad_to_square
        if isinstance(pad_val, dict):
            pad_val = dict(pad_val)
        else:
            pad_val = dict(img=pad_val, seg=255)
        if seg_pad_val is not None:
            pad_val["seg"] = seg_pad_val
        self.pad_val = pad_val
        self.padding_mode = check_choice(padding_mode, "padding_mode", owner, tuple(PADDING_MODES))

    def _target_shape(self, shape: tuple[int, ...]) -> tuple[int, int]:
        if self.pad_to_square:
            side = max(shape[:2])
            return side, side
        if self.size_divisor is not None:
            d = self.size_divisor
            return int(np.ceil(shape[0] / d)) * d, int(np.ceil(shape[1] / d)) * d
        return self.size[1], self.size[0]

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        img = impad(
            results["img"],
            self._target_shape(results["img"].shape),
            self.pad_val.get("img", 0),
            self.padding_mode,
        )
        results["img"] = img
        results["pad_shape"] = img.shape
        results["pad_fixed_size"] = self.size
        results["pad_size_divisor"] = self.size_divisor
        results["img_shape"] = img.shape[:2]
        for key in seg_keys(results):
            results[key] = impad(
                results[key], img.shape[:2], self.pad_val.get("seg", 255), self.padding_mode
            )
        return results


@TRANSFORMS.register_module()
class SegRescale(BaseTransform):
    """Rescale the label maps alone by ``scale_factor`` (nearest neighbour).

    Reads/writes the label maps in ``seg_fields``.
    """

    def __init__(self, scale_factor: float = 1) -> None:
        self.scale_factor = scale_factor

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        if self.scale_factor != 1:
            for key in seg_keys(results):
                results[key] = imrescale_nearest(results[key], self.scale_factor)
        return results
