"""Tiny image and label files written with cv2, for dataset tests (imported by the tests)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np


def write_png(path: Path | str, array: np.ndarray) -> str:
    """Write ``array`` (uint8, HxW or HxWx3) to ``path``, creating folders; returns the path."""
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    assert cv2.imwrite(str(path), array)
    return str(path)


def tiny_image(seed: int, size: tuple[int, int] = (8, 12)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)


def tiny_label(values: Sequence[int], size: tuple[int, int] = (8, 12)) -> np.ndarray:
    """Vertical stripes cycling through ``values``."""
    cols = np.array([values[i % len(values)] for i in range(size[1])], dtype=np.uint8)
    return np.tile(cols, (size[0], 1))
