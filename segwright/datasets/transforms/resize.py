"""Resizing transforms with MMCV 2.x semantics (``scale`` is ``(w, h)``).

``keep_ratio=True`` rescales so the long edge fits ``max(scale)`` and the short edge fits
``min(scale)``; labels are always resized with nearest neighbour.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from segwright.datasets.transforms.base import BaseTransform, check_choice, float_range, int_pair
from segwright.registry import TRANSFORMS
from segwright.utils.errors import ConfigError
from segwright.utils.image_ops import (
    imresize,
    interpolation_code,
    rescale_size,
    scale_size,
)
from segwright.utils.suggest import close_matches


def seg_keys(results: dict[str, Any]) -> list[str]:
    """Keys of the label maps to transform with the image: ``seg_fields`` plus ``gt_seg_map``."""
    keys = [k for k in results.get("seg_fields", []) if results.get(k) is not None]
    if results.get("gt_seg_map") is not None and "gt_seg_map" not in keys:
        keys.append("gt_seg_map")
    return keys


def _is_int_pair(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize the image and label maps to a fixed scale or by a factor.

    Reads ``img``, ``seg_fields``/``gt_seg_map``; writes ``img``, the label maps, ``img_shape``,
    ``scale`` (target ``(w, h)``), ``scale_factor`` (``(w_ratio, h_ratio)``), ``keep_ratio``.

    Args:
        scale: Target ``(w, h)`` (an int means a square); with ``keep_ratio`` a bound on the
            long and short edges.
        scale_factor: Used when ``scale`` is None: a factor, or ``(w_factor, h_factor)``.
        keep_ratio: Keep the aspect ratio (rescale) instead of resizing to ``scale`` exactly.
        clip_object_border: Accepted for MMCV compatibility (no boxes here).
        backend: Only ``cv2``.
        interpolation: For the image: nearest, bilinear, bicubic, area or lanczos.
    """

    def __init__(
        self,
        scale: int | Sequence[int] | None = None,
        scale_factor: float | Sequence[float] | None = None,
        keep_ratio: bool = False,
        clip_object_border: bool = True,
        backend: str = "cv2",
        interpolation: str = "bilinear",
    ) -> None:
        owner = type(self).__name__
        if scale is None and scale_factor is None:
            raise ConfigError(f"{owner}: give scale=(w, h) or scale_factor.")
        self.scale = None if scale is None else int_pair(scale, "scale", owner, positive=False)
        if scale_factor is None:
            self.scale_factor = None
        elif isinstance(scale_factor, numbers.Real) and not isinstance(scale_factor, bool):
            self.scale_factor = (float(scale_factor), float(scale_factor))
        elif isinstance(scale_factor, Sequence) and len(scale_factor) == 2:
            self.scale_factor = (float(scale_factor[0]), float(scale_factor[1]))
        else:
            raise ConfigError(
                f"{owner}: scale_factor must be a number or a pair, got {scale_factor!r}."
            )
        check_choice(backend, "backend", owner, ("cv2",))
        self.keep_ratio = keep_ratio
        self.clip_object_border = clip_object_border
        self.interpolation = interpolation
        self._interp = interpolation_code(interpolation, owner)

    def _target(self, results: dict[str, Any]) -> tuple[int, int]:
        if self.scale:
            # (checked here: RandomResize and friends build a Resize with a placeholder 0)
            if any(v == 0 or v < -1 for v in self.scale):
                raise ConfigError(
                    f"{type(self).__name__}: scale must be positive (w, h) sizes, got "
                    f"{self.scale!r}."
                )
            return self.scale
        h, w = results["img"].shape[:2]
        return scale_size((w, h), self.scale_factor)

    def _new_size(self, shape: tuple[int, ...], scale: tuple[int, int]) -> tuple[int, int]:
        if self.keep_ratio:
            return rescale_size((shape[1], shape[0]), scale)[0]
        return scale

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        scale = self._target(results)
        results["scale"] = scale
        img = results.get("img")
        if img is not None:
            h, w = img.shape[:2]
            img = imresize(img, self._new_size(img.shape, scale), self._interp)
            new_h, new_w = img.shape[:2]
            results["img"] = img
            results["img_shape"] = img.shape[:2]
            results["scale_factor"] = (new_w / w, new_h / h)
            results["keep_ratio"] = self.keep_ratio
        for key in seg_keys(results):
            seg = results[key]
            results[key] = imresize(seg, self._new_size(seg.shape, scale), cv2.INTER_NEAREST)
        return results


def _build_resize(resize_type: str, scale: Any, resize_kwargs: dict[str, Any], owner: str) -> Any:
    cfg = dict(type=resize_type, scale=scale, **resize_kwargs)
    return TRANSFORMS.build(cfg, key=f"{owner}.resize")


@TRANSFORMS.register_module()
class RandomResize(BaseTransform):
    """Resize to a random scale, then delegate to ``resize_type`` (MMCV 2.x ``RandomResize``).

    * ``scale=(w, h)`` with ``ratio_range=(lo, hi)``: ``r ~ U[lo, hi)``, target
      ``(int(w * r), int(h * r))``.
    * ``scale=[(w1, h1), (w2, h2)]``: each edge drawn uniformly (inclusive) between the two.

    Reads/writes what the inner resize does, plus ``scale``.

    Args:
        scale: A base scale or two bounding scales.
        ratio_range: Ratio range for a single base scale.
        resize_type: The resize transform to call (``Resize`` by default).
        **resize_kwargs: Passed to it (``keep_ratio=True``, ``interpolation``...).
    """

    def __init__(
        self,
        scale: Sequence[int] | Sequence[Sequence[int]],
        ratio_range: Sequence[float] | None = None,
        resize_type: str = "Resize",
        **resize_kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        for key in resize_kwargs:  # passed on to resize_type, unless it misspells ours
            for own in close_matches(key, ("scale", "ratio_range", "resize_type"), n=1):
                raise ConfigError(
                    f"{owner} got {key!r}: did you mean {own!r}? (Other keys go to "
                    f"resize_type={resize_type!r}.)"
                )
        if _is_int_pair(scale):
            if ratio_range is None:
                raise ConfigError(
                    f"{owner}: a single scale {tuple(scale)} needs ratio_range=(low, high); "
                    "or give two scales [(w1, h1), (w2, h2)] to sample between."
                )
            self.scale: Any = (int(scale[0]), int(scale[1]))
            self.ratio_range: tuple[float, float] | None = float_range(
                ratio_range, "ratio_range", owner
            )
        elif (
            isinstance(scale, Sequence)
            and not isinstance(scale, str)
            and len(scale) == 2
            and all(_is_int_pair(s) for s in scale)
        ):
            self.scale = [tuple(int(v) for v in s) for s in scale]
            self.ratio_range = (
                None if ratio_range is None else float_range(ratio_range, "ratio_range", owner)
            )
        else:
            raise ConfigError(
                f"{owner}: scale must be (w, h) with ratio_range, or [(w1, h1), (w2, h2)]; got "
                f"{scale!r}."
            )
        self.resize_type = resize_type
        self.resize_kwargs = resize_kwargs
        first = self.scale if isinstance(self.scale, tuple) else self.scale[0]
        self.resize = _build_resize(resize_type, first, resize_kwargs, owner)

    def _random_scale(self) -> tuple[int, int]:
        if isinstance(self.scale, tuple):
            low, high = self.ratio_range
            ratio = np.random.random_sample() * (high - low) + low
            return int(self.scale[0] * ratio), int(self.scale[1] * ratio)
        (w1, h1), (w2, h2) = self.scale
        edge_w = np.random.randint(min(w1, w2), max(w1, w2) + 1)
        edge_h = np.random.randint(min(h1, h2), max(h1, h2) + 1)
        return int(edge_w), int(edge_h)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        scale = self._random_scale()
        results["scale"] = scale
        self.resize.scale = scale
        return self.resize(results)


@TRANSFORMS.register_module()
class RandomChoiceResize(BaseTransform):
    """Resize to one of ``scales`` picked uniformly; writes ``scale_idx`` too.

    Args:
        scales: A list of candidates, each a ``(w, h)`` tuple or an int (e.g. short-edge
            lengths for ``resize_type='ResizeShortestEdge'``); a tuple alone is one scale.
        resize_type: The resize transform to call.
        **resize_kwargs: Passed to it (``keep_ratio=True``...).
    """

    def __init__(
        self,
        scales: Sequence[Sequence[int]] | Sequence[int],
        resize_type: str = "Resize",
        **resize_kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(scales, list):  # MMCV: a list holds choices, anything else is one
            scales = [scales]
        if not scales:
            raise ConfigError(
                f"{owner}: scales must be a non-empty list of (w, h), got {scales!r}."
            )
        self.scales = [
            s if isinstance(s, int) else int_pair(s, "scales", owner, positive=False)
            for s in scales
        ]
        self.resize_type = resize_type
        self.resize_kwargs = resize_kwargs
        self.resize = _build_resize(resize_type, self.scales[0], resize_kwargs, owner)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        index = int(np.random.randint(len(self.scales)))
        self.resize.scale = self.scales[index]
        results = self.resize(results)
        results["scale_idx"] = index
        return results


@TRANSFORMS.register_module()
class ResizeShortestEdge(BaseTransform):
    """Resize so the short edge is ``scale`` (or ``min(scale)``), the long edge at most ``max_size``.

    Args:
        scale: Short-edge length, or a tuple whose minimum is used.
        max_size: Upper bound on the long edge, or None.
    """

    def __init__(self, scale: int | Sequence[int], max_size: int | None = None) -> None:
        self.scale = scale
        self.max_size = max_size
        self.resize = Resize(scale=0, keep_ratio=True)

    def _output_size(self, shape: tuple[int, ...]) -> tuple[int, int]:
        h, w = shape[:2]
        size = float(self.scale if isinstance(self.scale, int) else min(self.scale))
        ratio = size / min(h, w)
        new_h, new_w = (size, ratio * w) if h < w else (ratio * h, size)
        if self.max_size and max(new_h, new_w) > self.max_size:
            shrink = self.max_size / max(new_h, new_w)
            new_h, new_w = new_h * shrink, new_w * shrink
        return int(new_w + 0.5), int(new_h + 0.5)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        self.resize.scale = self._output_size(results["img"].shape)
        return self.resize(results)


@TRANSFORMS.register_module()
class ResizeToMultiple(BaseTransform):
    """Resize up to the next multiple of ``size_divisor`` on each edge.

    Writes ``img``, label maps, ``img_shape`` and ``pad_shape``.
    """

    def __init__(self, size_divisor: int = 32, interpolation: str | None = None) -> None:
        self.size_divisor = int(size_divisor)
        self.interpolation = interpolation
        self._interp = interpolation_code(interpolation or "bilinear", type(self).__name__)

    def _size(self, shape: tuple[int, ...]) -> tuple[int, int]:
        d = self.size_divisor
        return tuple(int(np.ceil(s / d)) * d for s in (shape[1], shape[0]))  # type: ignore[return-value]

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        img = imresize(results["img"], self._size(results["img"].shape), self._interp)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["pad_shape"] = img.shape[:2]
        for key in seg_keys(results):
            seg = results[key]
            results[key] = imresize(seg, self._size(seg.shape), cv2.INTER_NEAREST)
        return results
