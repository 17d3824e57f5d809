"""Label-map remapping: ``reduce_zero_label`` and a dataset's ``label_map``, as one lookup table.

MMSeg 1.x order: reduce first (``0 -> 255``, ``k -> k - 1``, ``254`` stays ignored), then map
old ids to new ones using the *original* values, so mappings never chain.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from segwright.utils.errors import DatasetError


def label_lut(reduce_zero_label: bool, label_map: Mapping[int, int] | None) -> np.ndarray | None:
    """A 256-entry uint8 table doing both steps, or None when labels stay as they are."""
    if not reduce_zero_label and not label_map:
        return None
    lut = np.arange(256, dtype=np.int64)
    if reduce_zero_label:
        lut = lut - 1
        lut[0] = 255
        lut[255] = 255  # 255 - 1 = 254 would leave ignore; it stays 255
    if label_map:
        mapping = np.arange(256, dtype=np.int64)
        for old, new in label_map.items():
            if 0 <= int(old) < 256:
                mapping[int(old)] = int(new) % 256  # -1 (MMSeg 0.30) wraps to 255 = ignore
        lut = mapping[lut]
    return lut.astype(np.uint8)


def to_label_array(raw: np.ndarray, path: str = "") -> np.ndarray:
    """A decoded map as ``HxW`` uint8 (MMSeg casts with ``astype(uint8)``; values > 255 wrap)."""
    array = raw
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2:
        raise DatasetError(
            f"Label map {path or '(array)'} has shape {raw.shape}: a label map must be one "
            "channel of class indices. A colour-coded mask must be converted to indices "
            "(one value per class; palette-mode PNGs are fine); a greyscale mask saved as RGB "
            "must be re-saved as a single-channel PNG."
        )
    if array.dtype != np.uint8:
        array = array.astype(np.uint8)
    return array


def remap_labels(
    labels: np.ndarray, reduce_zero_label: bool, label_map: Mapping[int, int] | None
) -> np.ndarray:
    """Apply :func:`label_lut` to a uint8 map (returns a new array, or ``labels`` unchanged)."""
    lut = label_lut(reduce_zero_label, label_map)
    if lut is None:
        return labels
    return cv2.LUT(labels, lut)


def label_histogram(seg: np.ndarray) -> np.ndarray:
    """Pixel count per value ``0..255`` of a uint8 label map (``int64[256]``)."""
    # calcHist counts in float32: exact below 2**24 pixels, and much faster than bincount.
    if seg.dtype == np.uint8 and seg.ndim == 2 and 0 < seg.size < 2**24:
        return cv2.calcHist([seg], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    return np.bincount(seg.ravel().astype(np.int64), minlength=256)
