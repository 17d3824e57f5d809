"""The instance demo's data: procedural COCO-format scenes of shapes, generated on first use.

Each scene is a textured background (the semantic demo's) with a few objects of four classes:
a shaded disc, a striped square, a dotted triangle and a plain ring. Objects may touch and
overlap; a placement that would hide more than :data:`MAX_HIDDEN` of an earlier object is
retried elsewhere, so every instance stays recognisable. Objects are painted back to front
and each instance's mask is what stays visible.

The data set is a pure function of its seed and arguments. It is written once, atomically,
as ``images/{train,val}/*.png``, ``annotations/{train,val}.json`` (COCO json, masks as
uncompressed RLE, category ids from 1 in the order of :data:`INSTANCE_DEMO_CLASSES`) and
``meta.json``, and reused afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from segwright.datasets.demo import (
    _background,
    _pigment,
    _read_meta,
    _rotated,
    _two_pigments,
    cache_dir,
)
from segwright.utils.errors import DatasetError

#: Bumped whenever the generator's output changes, so old caches are regenerated.
GENERATOR_VERSION = 1
GENERATOR_NAME = "segwright.datasets.demo_instance"

INSTANCE_DEMO_CLASSES = ("disc", "square", "triangle", "ring")
#: Display colours (RGB, like MMDet palettes).
INSTANCE_DEMO_PALETTE = [[230, 25, 75], [0, 130, 200], [255, 225, 25], [60, 180, 75]]

#: The largest share of an earlier object that a later one may hide.
MAX_HIDDEN = 0.35
SPLITS = ("train", "val")
_SPLIT_CODES = {"train": 0, "val": 1}
_LAYOUT = ("images", "annotations", "meta.json")


# -- one scene ---------------------------------------------------------------------------------


def _disc(rng, xx, yy, cx, cy, scale):
    radius = rng.uniform(7.0, 12.0) * scale
    dist = np.hypot(xx - cx, yy - cy)
    shade = 1.12 - 0.3 * (dist / radius) ** 2  # a lit sphere: bright centre, darker rim
    return dist <= radius, _pigment(rng) * shade[..., None]


def _square(rng, xx, yy, cx, cy, scale):
    half = rng.uniform(6.0, 10.0) * scale
    u, v = _rotated(xx, yy, cx, cy, rng.uniform(0.0, np.pi / 2))
    area = (np.abs(u) <= half) & (np.abs(v) <= half)
    period = rng.uniform(4.0, 6.0) * scale
    on = ((u / period + rng.random()) % 1.0) < 0.5
    first, second = _two_pigments(rng)
    return area, np.where(on[..., None], first, second)


def _triangle(rng, xx, yy, cx, cy, scale):
    radius = rng.uniform(9.0, 14.0) * scale
    angles = rng.uniform(0.0, 2.0 * np.pi) + np.array([0.0, 2.0, 4.0]) * np.pi / 3.0
    px, py = cx + radius * np.cos(angles), cy + radius * np.sin(angles)
    area = np.ones(xx.shape, dtype=bool)
    for i in range(3):  # left of every edge of a counter-clockwise triangle
        j = (i + 1) % 3
        area &= (px[j] - px[i]) * (yy - py[i]) - (py[j] - py[i]) * (xx - px[i]) >= 0
    period = rng.uniform(4.0, 5.5) * scale
    u, v = _rotated(xx, yy, cx, cy, rng.uniform(0.0, np.pi / 2))
    du = (u / period + rng.random()) % 1.0 - 0.5
    dv = (v / period + rng.random()) % 1.0 - 0.5
    first, second = _two_pigments(rng)
    return area, np.where((np.hypot(du, dv) < 0.3)[..., None], first, second)


def _ring(rng, xx, yy, cx, cy, scale):
    outer = rng.uniform(9.0, 14.0) * scale
    width = rng.uniform(3.0, 4.5) * scale
    dist = np.hypot(xx - cx, yy - cy)
    area = (dist <= outer) & (dist >= outer - width)
    return area, np.broadcast_to(_pigment(rng), (*xx.shape, 3))


_PAINTERS = (_disc, _square, _triangle, _ring)


def render_instance_scene(
    rng: np.random.Generator,
    size: int = 128,
    num_objects: tuple[int, int] = (3, 6),
    tries: int = 8,
) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """Render one scene and its instances.

    Args:
        rng: The only source of randomness: the same generator state gives the same scene.
        size: Side of the square image, in pixels.
        num_objects: Inclusive range of how many objects to place.
        tries: Placements tried per object before it is left out.

    Returns:
        ``(image, instances)``: ``(size, size, 3)`` uint8 BGR, and ``(label, visible mask)``
        pairs with 0-based labels into :data:`INSTANCE_DEMO_CLASSES` and ``(size, size)`` bool
        masks, back to front.
    """
    scale = size / 64.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    canvas = _background(rng, size)
    objects: list[list[Any]] = []  # [label, footprint area, visible mask]
    for _ in range(int(rng.integers(num_objects[0], num_objects[1] + 1))):
        label = int(rng.integers(len(_PAINTERS)))
        for _ in range(tries):
            cx, cy = rng.uniform(0.12 * size, 0.88 * size, size=2)
            area, paint = _PAINTERS[label](rng, xx, yy, cx, cy, scale)
            if all(
                (visible & ~area).sum() >= (1 - MAX_HIDDEN) * full for _, full, visible in objects
            ):
                break
        else:
            continue
        paint = paint + rng.normal(0.0, 3.0, size=paint.shape).astype(np.float32)
        canvas[area] = paint[area]
        for earlier in objects:
            earlier[2] &= ~area
        objects.append([label, int(area.sum()), area.copy()])
    image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)[:, :, ::-1]
    return np.ascontiguousarray(image), [(label, visible) for label, _, visible in objects]


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO's uncompressed RLE of a bool mask: run lengths in column-major order, zeros first."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return dict(size=[int(mask.shape[0]), int(mask.shape[1])], counts=counts)


def _annotation(ann_id: int, image_id: int, label: int, mask: np.ndarray) -> dict[str, Any]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    x, y = int(cols[0]), int(rows[0])
    w, h = int(cols[-1]) + 1 - x, int(rows[-1]) + 1 - y
    return dict(
        id=ann_id, image_id=image_id, category_id=label + 1, bbox=[x, y, w, h],
        area=float(mask.sum()), iscrowd=0, segmentation=mask_to_rle(mask),
    )  # fmt: skip


# -- the data set on disk ----------------------------------------------------------------------


def instance_demo_data_root() -> Path:
    """``$SEGWRIGHT_CACHE/demo_instance_v1`` or ``~/.cache/segwright/demo_instance_v1``."""
    return cache_dir() / f"demo_instance_v{GENERATOR_VERSION}"


def instance_demo_meta(num_train: int, num_val: int, size: int, seed: int) -> dict[str, Any]:
    """The ``meta.json`` content of a data set written with these arguments."""
    return dict(
        generator=GENERATOR_NAME,
        version=GENERATOR_VERSION,
        seed=int(seed),
        size=int(size),
        splits=dict(train=int(num_train), val=int(num_val)),
        classes=list(INSTANCE_DEMO_CLASSES),
    )


def _is_complete(root: Path, meta: Mapping[str, Any]) -> bool:
    if _read_meta(root) != dict(meta):
        return False
    for split, count in meta["splits"].items():
        if not (root / "annotations" / f"{split}.json").is_file():
            return False
        try:
            found = set(os.listdir(root / "images" / split))
        except OSError:
            return False
        if not {f"{i:05d}.png" for i in range(count)} <= found:
            return False
    return True


def _write_split(folder: Path, split: str, count: int, size: int, seed: int) -> None:
    img_dir = folder / "images" / split
    img_dir.mkdir(parents=True)
    images, annotations = [], []
    for index in range(count):
        rng = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODES[split], index]))
        image, instances = render_instance_scene(rng, size)
        name = f"{index:05d}.png"
        if not cv2.imwrite(str(img_dir / name), image):
            raise DatasetError(f"Could not write demo image {name} under {img_dir}.")
        images.append(dict(id=index + 1, file_name=name, width=size, height=size))
        for label, mask in instances:
            if mask.any():
                annotations.append(_annotation(len(annotations) + 1, index + 1, label, mask))
    categories = [dict(id=i + 1, name=n) for i, n in enumerate(INSTANCE_DEMO_CLASSES)]
    (folder / "annotations").mkdir(exist_ok=True)
    with open(folder / "annotations" / f"{split}.json", "w", encoding="utf-8") as handle:
        json.dump(dict(images=images, annotations=annotations, categories=categories), handle)


def write_instance_demo_dataset(
    root: str | os.PathLike | None = None,
    num_train: int = 240,
    num_val: int = 40,
    size: int = 128,
    seed: int = 0,
) -> Path:
    """Write the instance demo data under ``root`` unless an identical one is already there.

    The files go to a temporary folder beside ``root`` that is renamed into place, so an
    interrupted run leaves no half-written data set behind.

    Args:
        root: Target folder; None uses :func:`instance_demo_data_root`.
        num_train: Number of training scenes.
        num_val: Number of validation scenes.
        size: Image side in pixels (at least 64).
        seed: Seed of the whole data set.

    Returns:
        The data set folder.

    Raises:
        DatasetError: Bad arguments, or ``root`` holds files that are not demo data.
    """
    if size < 64 or num_train < 1 or num_val < 1:
        raise DatasetError(
            "write_instance_demo_dataset: size must be >= 64 and the split sizes >= 1, got "
            f"size={size}, num_train={num_train}, num_val={num_val}."
        )
    root = instance_demo_data_root() if root is None else Path(os.path.expanduser(root))
    meta = instance_demo_meta(num_train, num_val, size, seed)
    if _is_complete(root, meta):
        return root
    if root.exists() and not set(os.listdir(root)) <= set(_LAYOUT):
        raise DatasetError(
            f"The demo data folder {str(root)!r} exists and holds other files; segwright will "
            "not overwrite it. Point $SEGWRIGHT_CACHE at an empty or new folder, or delete it."
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir()
        for split in SPLITS:
            _write_split(tmp, split, meta["splits"][split], size, seed)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        if root.exists():
            if _is_complete(root, meta):  # another process finished first
                return root
            shutil.rmtree(root)
        try:
            os.rename(tmp, root)
        except OSError:
            if not _is_complete(root, meta):  # not a concurrent writer that got there first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root
