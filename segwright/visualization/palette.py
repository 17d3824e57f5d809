"""Class colours: the dataset's palette when it has one, else a fixed, well-spread default."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def default_palette(num_classes: int, seed: int = 0) -> list[list[int]]:
    """Distinct RGB colours, the same for every call (background-like class 0 is dark grey)."""
    rng = np.random.default_rng(seed)
    colours = [[64, 64, 64]]
    for index in range(1, num_classes):
        hue = (index * 0.61803398875) % 1.0  # golden-ratio hue steps spread colours evenly
        saturation = 0.65 + 0.35 * rng.random()
        value = 0.75 + 0.25 * rng.random()
        colours.append(_hsv_to_rgb(hue, saturation, value))
    return colours[:num_classes]


def _hsv_to_rgb(h: float, s: float, v: float) -> list[int]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return [round(r * 255), round(g * 255), round(b * 255)]


def get_palette(palette: Sequence[Sequence[int]] | None, num_classes: int) -> np.ndarray:
    """``(num_classes, 3)`` uint8 RGB: the given palette (checked) or the default one."""
    if palette is None or len(palette) == 0:
        return np.asarray(default_palette(num_classes), dtype=np.uint8)
    array = np.asarray(palette, dtype=np.int64)
    if array.ndim != 2 or array.shape[1] != 3 or array.min() < 0 or array.max() > 255:
        raise ValueError(
            f"A palette must be a list of [R, G, B] colours in 0..255, got shape {array.shape}."
        )
    if len(array) < num_classes:
        array = np.concatenate([array, np.asarray(default_palette(num_classes))[len(array) :]])
    return array.astype(np.uint8)
