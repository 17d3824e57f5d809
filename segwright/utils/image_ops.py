"""Image operations on ``HxW`` / ``HxWxC`` NumPy arrays, done with OpenCV for speed.

Sizes follow MMCV's conventions: ``size`` and ``scale`` tuples are ``(width, height)``;
``shape`` tuples are ``(height, width)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import cv2
import numpy as np

from segwright.utils.errors import ConfigError

INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}

FLIP_CODES = {"horizontal": 1, "vertical": 0, "diagonal": -1}

PADDING_MODES = {
    "constant": cv2.BORDER_CONSTANT,
    "edge": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT_101,
    "symmetric": cv2.BORDER_REFLECT,
}


def interpolation_code(name: str, owner: str) -> int:
    """The OpenCV flag for an interpolation name, or a :class:`ConfigError`."""
    if name not in INTERPOLATIONS:
        raise ConfigError(
            f"{owner}: interpolation={name!r} is unknown; use one of {', '.join(INTERPOLATIONS)}."
        )
    return INTERPOLATIONS[name]


def scale_size(size: tuple[int, int], scale: float | Sequence[float]) -> tuple[int, int]:
    """Multiply a ``(w, h)`` size by a factor (or a ``(fw, fh)`` pair), rounding half up."""
    if isinstance(scale, numbers.Real):
        scale = (scale, scale)
    w, h = size
    return int(w * float(scale[0]) + 0.5), int(h * float(scale[1]) + 0.5)


def rescale_size(
    size: tuple[int, int], scale: float | Sequence[int]
) -> tuple[tuple[int, int], float]:
    """New ``(w, h)`` and the factor for a keep-ratio rescale (MMCV's rule).

    A number is the factor itself. A ``(a, b)`` pair bounds the long edge by ``max(a, b)`` and
    the short edge by ``min(a, b)``, whatever the image's orientation.
    """
    w, h = size
    if isinstance(scale, numbers.Real):
        if scale <= 0:
            raise ConfigError(f"A rescale factor must be positive, got {scale}.")
        factor = float(scale)
    else:
        long_edge, short_edge = max(scale), min(scale)
        factor = min(long_edge / max(h, w), short_edge / min(h, w))
    return scale_size((w, h), factor), factor


def imresize(img: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """Resize to ``(w, h)``; a trailing channel axis of size 1 survives (cv2 drops it)."""
    out = cv2.resize(img, (int(size[0]), int(size[1])), interpolation=interpolation)
    if img.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out


def imflip(img: np.ndarray, direction: str) -> np.ndarray:
    """Flip ``horizontal``, ``vertical`` or ``diagonal`` (both axes); returns a new array."""
    if img.ndim == 3 and img.shape[2] > 4:
        axes = {"horizontal": 1, "vertical": 0, "diagonal": (0, 1)}[direction]
        return np.ascontiguousarray(np.flip(img, axis=axes))
    out = cv2.flip(img, FLIP_CODES[direction])
    if img.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out


def fill_value(value: float | Sequence[float], img: np.ndarray) -> float | tuple[float, ...]:
    """A border value OpenCV applies to every channel (a bare number would fill channel 0 only)."""
    if isinstance(value, numbers.Real):
        channels = img.shape[2] if img.ndim == 3 else 1
        return tuple([float(value)] * min(channels, 4))
    return tuple(float(v) for v in value)


def imrotate(
    img: np.ndarray,
    angle: float,
    center: tuple[float, float] | None = None,
    scale: float = 1.0,
    border_value: float | Sequence[float] = 0,
    interpolation: int = cv2.INTER_LINEAR,
    auto_bound: bool = False,
) -> np.ndarray:
    """Rotate clockwise by ``angle`` degrees about ``center`` (default: the image centre).

    ``auto_bound`` grows the canvas so nothing is cut off (then ``center`` must be None).
    """
    h, w = img.shape[:2]
    if center is None:
        center = ((w - 1) * 0.5, (h - 1) * 0.5)
    elif auto_bound:
        raise ConfigError("RandomRotate: center must be None when auto_bound=True.")
    matrix = cv2.getRotationMatrix2D(tuple(center), -angle, scale)
    if auto_bound:
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        new_w = w * cos + h * sin
        new_h = h * cos + w * sin
        matrix[0, 2] += (new_w - w) * 0.5
        matrix[1, 2] += (new_h - h) * 0.5
        w, h = int(np.round(new_w)), int(np.round(new_h))
    out = cv2.warpAffine(
        img,
        matrix,
        (w, h),
        flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill_value(border_value, img),
    )
    if img.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out


def impad(
    img: np.ndarray,
    shape: tuple[int, int],
    pad_val: float | Sequence[float],
    padding_mode: str = "constant",
) -> np.ndarray:
    """Pad at the bottom and right up to ``shape = (h, w)``; never crops."""
    bottom = max(int(shape[0]) - img.shape[0], 0)
    right = max(int(shape[1]) - img.shape[1], 0)
    if bottom == 0 and right == 0:
        return img
    if img.ndim == 3 and img.shape[2] > 4:
        if padding_mode != "constant" or not isinstance(pad_val, numbers.Real):
            raise ConfigError(
                "Pad: images with more than 4 channels need padding_mode='constant' and a "
                "number as pad_val."
            )
        return np.pad(img, ((0, bottom), (0, right), (0, 0)), constant_values=pad_val)
    out = cv2.copyMakeBorder(
        img, 0, bottom, 0, right, PADDING_MODES[padding_mode], value=fill_value(pad_val, img)
    )
    if img.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out


def imrescale_nearest(img: np.ndarray, factor: float) -> np.ndarray:
    """Rescale by a factor with nearest neighbour (for label maps)."""
    size, _ = rescale_size((img.shape[1], img.shape[0]), factor)
    return imresize(img, size, cv2.INTER_NEAREST)
