"""Class colours: the dataset's palette when it has one, else an automatic high-contrast one.

The automatic palette starts with :data:`DISTINCT_COLOURS`, twenty colours picked by hand and
then nudged to push the closest pairs apart, so the first classes (usually the large ones:
background, road, wall, ...) never share a hue. Further classes come from a deterministic
farthest-point search: each new colour is the candidate of an RGB grid farthest from every
colour already chosen. The palette for ``n`` classes is always the first ``n`` colours of the
palette for more classes, so adding a class never repaints the others.

Distances are measured in CIELAB with lightness counted at half weight
(:func:`overlay_distance`): pictures blend the colours with the image, whose own shading varies
mostly in lightness, so classes must be told apart by hue and saturation first.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

#: The first twenty automatic colours (RGB). Class 0 is a neutral grey (often the background);
#: then red, green, blue, yellow, magenta, aqua, orange, violet, lime, brown, pink, pine, navy,
#: olive, crimson, periwinkle, peach, sky and forest green. None is near white, the colour of
#: ignored pixels.
DISTINCT_COLOURS: tuple[tuple[int, int, int], ...] = (
    (120, 120, 120),
    (250, 10, 10),
    (30, 240, 20),
    (10, 50, 255),
    (255, 210, 0),
    (255, 30, 170),
    (0, 250, 200),
    (215, 115, 25),
    (135, 0, 170),
    (195, 245, 105),
    (85, 25, 5),
    (245, 150, 210),
    (0, 100, 65),
    (25, 25, 105),
    (95, 100, 0),
    (175, 0, 70),
    (170, 185, 255),
    (255, 205, 155),
    (70, 200, 220),
    (0, 115, 10),
)

#: Weight of CIELAB lightness in :func:`overlay_distance` (hue and saturation count fully).
LIGHTNESS_WEIGHT = 0.5
#: Lightness range of generated colours: no near-black (hides the image), no near-white
#: (the colour of ignored pixels).
_LIGHTNESS_RANGE = (14.0, 92.0)
_GRID_STEP = 17  # 0, 17, ..., 255: 16 levels per channel, 4096 candidates before filtering


def rgb_to_lab(rgb: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
    """sRGB colours (0..255, last axis RGB) -> CIELAB (D65 white), same leading shape."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883])
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4.0 / 29.0)
    lightness = 116.0 * f[..., 1] - 16.0
    a = 500.0 * (f[..., 0] - f[..., 1])
    b = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1)


def _overlay_lab(rgb: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
    lab = rgb_to_lab(rgb)
    lab[..., 0] *= LIGHTNESS_WEIGHT
    return lab


def overlay_distance(colours: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
    """``(N, N)`` pairwise distances of RGB colours as seen in overlays (diagonal: inf).

    Euclidean CIELAB distance with lightness at :data:`LIGHTNESS_WEIGHT`. For scale: MMSeg's
    seeded random palette gives its first two classes two greens 28.7 apart, which people
    mistake for one another; the first ten automatic colours are all more than 40 apart.
    """
    lab = _overlay_lab(np.asarray(colours).reshape(-1, 3))
    distances = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    return distances


@lru_cache(maxsize=1)
def _candidates() -> tuple[np.ndarray, np.ndarray]:
    levels = np.arange(0, 256, _GRID_STEP)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    lightness = rgb_to_lab(grid)[:, 0]
    keep = (lightness >= _LIGHTNESS_RANGE[0]) & (lightness <= _LIGHTNESS_RANGE[1])
    return grid[keep], _overlay_lab(grid[keep])


@lru_cache(maxsize=8)
def _auto_palette(num_classes: int) -> tuple[tuple[int, int, int], ...]:
    colours = list(DISTINCT_COLOURS[:num_classes])
    if num_classes <= len(colours):
        return tuple(colours)
    grid, grid_lab = _candidates()
    # Farthest-point sampling: every candidate remembers its distance to the nearest chosen
    # colour; the next colour is the candidate with the largest such distance (first on ties).
    nearest = np.full(len(grid), np.inf)
    for lab in _overlay_lab(np.asarray(colours)):
        nearest = np.minimum(nearest, np.linalg.norm(grid_lab - lab, axis=1))
    while len(colours) < num_classes and nearest.max() > 0:
        best = int(np.argmax(nearest))
        colours.append(tuple(int(v) for v in grid[best]))
        nearest = np.minimum(nearest, np.linalg.norm(grid_lab - grid_lab[best], axis=1))
    # Thousands of classes exhaust the grid: golden-ratio hue steps keep the rest spread out.
    index = 0
    while len(colours) < num_classes:
        index += 1
        hue = (index * 0.61803398875) % 1.0
        saturation = 0.5 + 0.45 * ((index * 0.7548776662) % 1.0)
        value = 0.55 + 0.4 * ((index * 0.5698402910) % 1.0)
        colours.append(_hsv_to_rgb(hue, saturation, value))
    return tuple(colours)


def auto_palette(num_classes: int) -> list[list[int]]:
    """``num_classes`` RGB colours far apart, the same for every call (see the module doc)."""
    if num_classes < 0:
        raise ValueError(f"num_classes must be >= 0, got {num_classes}.")
    return [list(colour) for colour in _auto_palette(num_classes)]


def mmseg_random_palette(num_classes: int) -> list[list[int]]:
    """MMSeg's fallback palette: ``randint(0, 255)`` colours from a generator seeded with 42."""
    return [list(colour) for colour in _mmseg_random_palette(num_classes)]


@lru_cache(maxsize=8)
def _mmseg_random_palette(num_classes: int) -> tuple[tuple[int, ...], ...]:
    colours = np.random.RandomState(42).randint(0, 255, size=(num_classes, 3))
    return tuple(tuple(int(v) for v in colour) for colour in colours)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return round(r * 255), round(g * 255), round(b * 255)


def get_palette(palette: Sequence[Sequence[int]] | None, num_classes: int) -> np.ndarray:
    """``(max(num_classes, len(palette)), 3)`` uint8 RGB: the given palette or the automatic one.

    A given palette is kept exactly, and completed with automatic colours when it is short.
    MMSeg's seeded random fallback (what MMSeg, and segwright before its automatic palette,
    stored in ``dataset_meta`` when a dataset had none) counts as no palette: nobody chose
    those colours, and they can be hard to tell apart.
    """
    if palette is None or len(palette) == 0:
        return np.asarray(auto_palette(num_classes), dtype=np.uint8).reshape(-1, 3)
    array = np.asarray(palette, dtype=np.int64)
    if array.ndim != 2 or array.shape[1] != 3 or array.min() < 0 or array.max() > 255:
        raise ValueError(
            f"A palette must be a list of [R, G, B] colours in 0..255, got shape {array.shape}."
        )
    if tuple(map(tuple, array.tolist())) == _mmseg_random_palette(len(array)):
        return np.asarray(auto_palette(max(num_classes, len(array))), dtype=np.uint8)
    if len(array) < num_classes:
        array = np.concatenate([array, np.asarray(auto_palette(num_classes))[len(array) :]])
    return array.astype(np.uint8)
