"""Colour transforms on uint8 BGR images, done with OpenCV lookup tables.

A per-pixel function of a uint8 value is a 256-entry table, so ``cv2.LUT`` gives exactly the
result of the float formula at a fraction of its cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from segwright.datasets.transforms.base import BaseTransform, float_range, int_pair
from segwright.registry import TRANSFORMS
from segwright.utils.errors import ConfigError

_VALUES = np.arange(256, dtype=np.float32)
_IDENTITY = np.arange(256, dtype=np.uint8)


def affine_lut(alpha: float = 1.0, beta: float = 0.0) -> np.ndarray:
    """Table of ``uint8(clip(float32(v) * alpha + beta, 0, 255))`` (truncation, as MMSeg)."""
    return np.clip(_VALUES * alpha + beta, 0, 255).astype(np.uint8)


def convert(img: np.ndarray, alpha: float = 1.0, beta: float = 0.0) -> np.ndarray:
    """``img * alpha + beta`` clipped to uint8; a table lookup for uint8 input."""
    if img.dtype == np.uint8:
        return cv2.LUT(img, affine_lut(alpha, beta))
    return np.clip(img.astype(np.float32) * alpha + beta, 0, 255).astype(np.uint8)


def _channel_lut(table: np.ndarray, channel: int) -> np.ndarray:
    """A 3-channel table changing one HSV channel and leaving the others alone."""
    lut = np.stack([_IDENTITY, _IDENTITY, _IDENTITY], axis=-1)
    lut[:, channel] = table
    return lut.reshape(256, 1, 3)


@TRANSFORMS.register_module()
class PhotoMetricDistortion(BaseTransform):
    """MMSeg's colour jitter, with the same random draws in the same order.

    Each step happens with probability 1/2: brightness (add ``U(-delta, delta)``); contrast
    (multiply by ``U(lo, hi)``) either first or last (a coin flip); saturation (multiply S in
    HSV); hue (shift H by ``randint(-hue_delta, hue_delta)`` modulo 180).

    Reads and writes ``img`` (uint8 BGR).

    Args:
        brightness_delta: Brightness shift bound.
        contrast_range: Contrast factor range.
        saturation_range: Saturation factor range.
        hue_delta: Hue shift bound (OpenCV hue units, 0..179).
    """

    def __init__(
        self,
        brightness_delta: int = 32,
        contrast_range: Sequence[float] = (0.5, 1.5),
        saturation_range: Sequence[float] = (0.5, 1.5),
        hue_delta: int = 18,
    ) -> None:
        owner = type(self).__name__
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = float_range(
            contrast_range, "contrast_range", owner
        )
        self.saturation_lower, self.saturation_upper = float_range(
            saturation_range, "saturation_range", owner
        )
        self.hue_delta = int(hue_delta)

    def brightness(self, img: np.ndarray) -> np.ndarray:
        if np.random.randint(2):
            delta = np.random.uniform(-self.brightness_delta, self.brightness_delta)
            return convert(img, beta=delta)
        return img

    def contrast(self, img: np.ndarray) -> np.ndarray:
        if np.random.randint(2):
            return convert(img, alpha=np.random.uniform(self.contrast_lower, self.contrast_upper))
        return img

    def saturation(self, img: np.ndarray) -> np.ndarray:
        if np.random.randint(2):
            alpha = np.random.uniform(self.saturation_lower, self.saturation_upper)
            hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
            hsv = cv2.LUT(hsv, _channel_lut(affine_lut(alpha), 1))
            img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        return img

    def hue(self, img: np.ndarray) -> np.ndarray:
        if np.random.randint(2):
            delta = int(np.random.randint(-self.hue_delta, self.hue_delta))
            hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
            table = ((np.arange(256) + delta) % 180).astype(np.uint8)
            hsv = cv2.LUT(hsv, _channel_lut(table, 0))
            img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        return img

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        img = results["img"]
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ConfigError(
                "PhotoMetricDistortion needs a uint8 BGR image (HxWx3), got "
                f"{img.dtype} {img.shape}. Drop to_float32 from LoadImageFromFile or move the "
                "step before any conversion; 16-bit and float images load as float32, so leave "
                "this step out for them (see docs/your-data.md)."
            )
        img = self.brightness(img)
        contrast_first = np.random.randint(2) == 1
        if contrast_first:
            img = self.contrast(img)
        img = self.saturation(img)
        img = self.hue(img)
        if not contrast_first:
            img = self.contrast(img)
        results["img"] = img
        return results


@TRANSFORMS.register_module()
class CLAHE(BaseTransform):
    """Contrast-limited adaptive histogram equalisation on each channel.

    Reads and writes ``img`` (uint8).

    Args:
        clip_limit: Contrast clipping threshold.
        tile_grid_size: Grid of tiles ``(rows, cols)``.
    """

    def __init__(self, clip_limit: float = 40.0, tile_grid_size: Sequence[int] = (8, 8)) -> None:
        self.clip_limit = float(clip_limit)
        self.tile_grid_size = int_pair(tile_grid_size, "tile_grid_size", type(self).__name__)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        clahe = cv2.createCLAHE(self.clip_limit, self.tile_grid_size)
        img = np.asarray(results["img"], dtype=np.uint8)
        if img.ndim == 2:
            results["img"] = clahe.apply(img)
            return results
        channels = [clahe.apply(np.ascontiguousarray(img[:, :, i])) for i in range(img.shape[2])]
        results["img"] = np.stack(channels, axis=-1)
        return results


@TRANSFORMS.register_module()
class AdjustGamma(BaseTransform):
    """Gamma correction: ``255 * (v / 255) ** (1 / gamma)`` via a lookup table.

    Reads and writes ``img`` (uint8).
    """

    def __init__(self, gamma: float = 1.0) -> None:
        if not isinstance(gamma, (int, float)) or gamma <= 0:
            raise ConfigError(f"AdjustGamma: gamma must be a positive number, got {gamma!r}.")
        self.gamma = float(gamma)
        inv_gamma = 1.0 / self.gamma
        self._table = ((np.arange(256) / 255.0) ** inv_gamma * 255).astype(np.uint8)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        results["img"] = cv2.LUT(np.asarray(results["img"], dtype=np.uint8), self._table)
        return results


@TRANSFORMS.register_module()
class RGB2Gray(BaseTransform):
    """Weighted channel sum, repeated to ``out_channels`` channels (MMSeg; float64 output).

    The weights apply to the channels in stored order (BGR after ``LoadImageFromFile``), as in
    MMSeg. Reads ``img``; writes ``img`` and ``img_shape``.

    Args:
        out_channels: Channels of the result; None keeps the input's count.
        weights: One weight per input channel.
    """

    def __init__(
        self, out_channels: int | None = None, weights: Sequence[float] = (0.299, 0.587, 0.114)
    ) -> None:
        if out_channels is not None and out_channels <= 0:
            raise ConfigError(f"RGB2Gray: out_channels must be positive, got {out_channels}.")
        self.out_channels = out_channels
        self.weights = tuple(float(w) for w in weights)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        img = results["img"]
        if img.ndim != 3 or img.shape[2] != len(self.weights):
            raise ConfigError(
                f"RGB2Gray: the image has shape {img.shape} but {len(self.weights)} weights "
                "were given (one per channel)."
            )
        weights = np.array(self.weights).reshape(1, 1, -1)
        gray = (img * weights).sum(2, keepdims=True)
        repeat = self.out_channels if self.out_channels is not None else len(self.weights)
        img = gray.repeat(repeat, axis=2)
        results["img"] = img
        results["img_shape"] = img.shape
        return results
