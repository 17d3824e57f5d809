"""Masks painted in class colours and blended over images (panels: ``panels.py``).

Images are BGR uint8 (OpenCV's order, as datasets load them); palettes are RGB (MMSeg's).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from segwright.utils.palette import get_palette

IGNORE_COLOUR_BGR = (255, 255, 255)


def colorize_mask(
    mask: np.ndarray,
    palette: Sequence[Sequence[int]] | None = None,
    num_classes: int | None = None,
    ignore_index: int = 255,
) -> np.ndarray:
    """``(H, W)`` class ids -> ``(H, W, 3)`` BGR colours; ignored pixels are white."""
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.squeeze(0)
    valid = mask != ignore_index
    top = int(mask[valid].max()) + 1 if valid.any() else 1
    colours = get_palette(palette, max(num_classes or 0, top))[:, ::-1]  # RGB -> BGR
    painted = np.empty((*mask.shape, 3), dtype=np.uint8)
    painted[...] = IGNORE_COLOUR_BGR
    painted[valid] = colours[mask[valid].astype(np.int64)]
    return painted


def overlay_mask(
    image: np.ndarray,
    mask: np.ndarray,
    palette: Sequence[Sequence[int]] | None = None,
    opacity: float = 0.5,
    num_classes: int | None = None,
    ignore_index: int = 255,
) -> np.ndarray:
    """Blend the coloured mask over a BGR image (``opacity`` is the mask's weight)."""
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}.")
    image = as_bgr(image)
    painted = colorize_mask(mask, palette, num_classes, ignore_index)
    if painted.shape[:2] != image.shape[:2]:
        painted = cv2.resize(
            painted, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST
        )
    return cv2.addWeighted(image, 1.0 - opacity, painted, opacity, 0.0)


def as_bgr(image: np.ndarray) -> np.ndarray:
    """A contiguous 3-channel uint8 copy (grey images are expanded, others clipped)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[..., :3])


def display_image(image: np.ndarray) -> np.ndarray:
    """An image ready to draw on: uint8 as it is; 16-bit and float stretched to 0..255.

    A 16-bit microscope image often uses a small part of its range (the nuclei image spans
    0..235 of 65535), so a fixed scale would show it black; the picture stretches the image's
    own minimum..maximum instead. A single channel axis is dropped.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype == np.uint8:
        return image
    values = np.nan_to_num(image.astype(np.float64))
    low, high = float(values.min()), float(values.max())
    return ((values - low) / max(high - low, 1e-12) * 255.0).round().astype(np.uint8)
