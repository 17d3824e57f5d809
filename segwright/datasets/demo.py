"""The built-in demo data: procedural scenes of textured objects, generated on first use.

Each scene is a textured background with a few overlapping objects of four classes. The
classes differ in shape and texture (a smooth shaded disc, a thin ring, a striped box, a
dotted triangle), never in colour: objects and background draw their colours from the same
small set of pigments. A per-pixel colour classifier therefore does poorly (see
:func:`color_threshold_baseline_miou`), while a small convnet, which sees texture and shape,
does well. Objects are painted back to front; the mask holds what stays visible.

The data set is a pure function of its seed and arguments. It is written once, atomically,
in the MMSeg layout (``img_dir/{train,val}``, ``ann_dir/{train,val}``, ``meta.json``) and
reused afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from segwright.datasets.base import BaseSegDataset
from segwright.registry import DATASETS
from segwright.utils.errors import DatasetError

#: Bumped whenever the generator's output changes, so old caches are regenerated.
GENERATOR_VERSION = 1
GENERATOR_NAME = "segwright.datasets.demo"

DEMO_CLASSES = ("background", "disc", "ring", "stripes", "dots")
#: Display colours (RGB, like MMSeg palettes); the scenes themselves use :data:`PIGMENTS_RGB`.
DEMO_PALETTE = [[120, 120, 120], [230, 25, 75], [60, 180, 75], [0, 130, 200], [255, 225, 25]]

#: The colours every scene is painted with, shared by background and all object classes.
PIGMENTS_RGB = np.array(
    [
        [200, 60, 50],
        [60, 160, 70],
        [50, 90, 190],
        [220, 190, 60],
        [150, 70, 170],
        [70, 180, 190],
        [230, 230, 220],
        [55, 50, 45],
    ],
    dtype=np.float32,
)

SPLITS = ("train", "val")
_SPLIT_CODES = {"train": 0, "val": 1}
_LAYOUT = ("img_dir", "ann_dir", "meta.json")


# -- one scene ---------------------------------------------------------------------------------


@dataclass
class DemoObject:
    """One painted object: its class, its full footprint and the part left visible."""

    class_id: int
    footprint: np.ndarray
    visible: np.ndarray = field(repr=False)


@dataclass
class DemoScene:
    """A rendered scene: BGR image, class-id mask, and its objects back to front."""

    image: np.ndarray
    mask: np.ndarray
    objects: list[DemoObject]


def _pigment(rng: np.random.Generator, jitter: float = 18.0) -> np.ndarray:
    base = PIGMENTS_RGB[rng.integers(len(PIGMENTS_RGB))]
    return base + rng.uniform(-jitter, jitter, size=3).astype(np.float32)


def _two_pigments(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    first, second = rng.choice(len(PIGMENTS_RGB), size=2, replace=False)
    shift = rng.uniform(-12, 12, size=(2, 3)).astype(np.float32)
    return PIGMENTS_RGB[first] + shift[0], PIGMENTS_RGB[second] + shift[1]


def _smooth_field(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a random ``cells x cells`` grid, upsampled."""
    grid = rng.random((cells, cells)).astype(np.float32)
    return np.clip(cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Patches of two pigments with soft borders and a visible grain."""
    first, second = _two_pigments(rng)
    t = _smooth_field(rng, size, cells=int(rng.integers(3, 6)))
    t = np.clip((t - 0.5) * 3.0 + 0.5, 0.0, 1.0)[..., None]
    image = first * (1.0 - t) + second * t
    return image + rng.normal(0.0, 11.0, size=image.shape).astype(np.float32)


def _rotated(
    xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    cos, sin = np.cos(angle), np.sin(angle)
    dx, dy = xx - cx, yy - cy
    return dx * cos + dy * sin, -dx * sin + dy * cos


def _disc(rng, xx, yy, cx, cy, scale):
    radius = rng.uniform(6.0, 13.0) * scale
    dist = np.hypot(xx - cx, yy - cy)
    area = dist <= radius
    shade = 1.12 - 0.3 * (dist / radius) ** 2  # a lit sphere: bright centre, darker rim
    return area, _pigment(rng) * shade[..., None]


def _ring(rng, xx, yy, cx, cy, scale):
    outer = rng.uniform(9.0, 16.0) * scale
    width = rng.uniform(3.0, 4.5) * scale
    dist = np.hypot(xx - cx, yy - cy)
    area = (dist <= outer) & (dist >= outer - width)
    return area, np.broadcast_to(_pigment(rng), (*xx.shape, 3))


def _stripes(rng, xx, yy, cx, cy, scale):
    half_w, half_h = rng.uniform(7.0, 14.0, size=2) * scale
    u, v = _rotated(xx, yy, cx, cy, rng.uniform(0.0, np.pi))
    area = (np.abs(u) <= half_w) & (np.abs(v) <= half_h)
    period = rng.uniform(4.0, 6.5) * scale
    s, _ = _rotated(xx, yy, cx, cy, rng.uniform(0.0, np.pi))
    on = ((s / period + rng.random()) % 1.0) < 0.5
    first, second = _two_pigments(rng)
    return area, np.where(on[..., None], first, second)


def _dots(rng, xx, yy, cx, cy, scale):
    radius = rng.uniform(11.0, 18.0) * scale
    start = rng.uniform(0.0, 2.0 * np.pi)
    angles = start + np.array([0.0, 2.0, 4.0]) * np.pi / 3.0 + rng.uniform(-0.3, 0.3, size=3)
    px, py = cx + radius * np.cos(angles), cy + radius * np.sin(angles)
    # Inside a counter-clockwise triangle: left of every edge.
    area = np.ones(xx.shape, dtype=bool)
    for i in range(3):
        j = (i + 1) % 3
        area &= (px[j] - px[i]) * (yy - py[i]) - (py[j] - py[i]) * (xx - px[i]) >= 0
    period = rng.uniform(4.5, 6.0) * scale
    u, v = _rotated(xx, yy, cx, cy, rng.uniform(0.0, np.pi / 2))
    du = (u / period + rng.random()) % 1.0 - 0.5
    dv = (v / period + rng.random()) % 1.0 - 0.5
    on = np.hypot(du, dv) < 0.28
    first, second = _two_pigments(rng)
    return area, np.where(on[..., None], first, second)


_PAINTERS = {1: _disc, 2: _ring, 3: _stripes, 4: _dots}


def render_demo_scene(
    rng: np.random.Generator, size: int = 64, num_objects: tuple[int, int] = (4, 6)
) -> DemoScene:
    """Render one scene and keep each object's footprint (for occlusion checks).

    Args:
        rng: The only source of randomness: the same generator state gives the same scene.
        size: Side of the square image, in pixels.
        num_objects: Inclusive range of how many objects to paint.

    Returns:
        The scene; ``image`` is ``(size, size, 3)`` uint8 BGR, ``mask`` ``(size, size)`` uint8.
    """
    scale = size / 64.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    canvas = _background(rng, size)
    mask = np.zeros((size, size), dtype=np.uint8)
    objects: list[DemoObject] = []
    count = int(rng.integers(num_objects[0], num_objects[1] + 1))
    for _ in range(count):
        class_id = int(rng.integers(1, len(DEMO_CLASSES)))
        cx, cy = rng.uniform(0.05 * size, 0.95 * size, size=2)
        area, paint = _PAINTERS[class_id](rng, xx, yy, cx, cy, scale)
        paint = paint + rng.normal(0.0, 3.0, size=paint.shape).astype(np.float32)
        canvas[area] = paint[area]
        mask[area] = class_id
        for earlier in objects:
            earlier.visible &= ~area
        objects.append(DemoObject(class_id, area, area.copy()))
    image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)[:, :, ::-1]
    return DemoScene(np.ascontiguousarray(image), mask, objects)


def generate_demo_scene(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """One demo scene: ``(image HxWx3 uint8 BGR, mask HxW uint8 class ids)``."""
    scene = render_demo_scene(rng, size)
    return scene.image, scene.mask


# -- the data set on disk ----------------------------------------------------------------------


def cache_dir() -> Path:
    """segwright's data cache: ``$SEGWRIGHT_CACHE``, else ``~/.cache/segwright``."""
    cache = os.environ.get("SEGWRIGHT_CACHE") or os.path.join("~", ".cache", "segwright")
    return Path(os.path.expanduser(cache))


def demo_data_root() -> Path:
    """Where the demo data lives: ``$SEGWRIGHT_CACHE/demo_v1`` or ``~/.cache/segwright/demo_v1``."""
    return cache_dir() / f"demo_v{GENERATOR_VERSION}"


def demo_meta(num_train: int, num_val: int, size: int, seed: int) -> dict[str, Any]:
    """The ``meta.json`` content of a data set written with these arguments."""
    return dict(
        generator=GENERATOR_NAME,
        version=GENERATOR_VERSION,
        seed=int(seed),
        size=int(size),
        splits=dict(train=int(num_train), val=int(num_val)),
        classes=list(DEMO_CLASSES),
        palette=[list(c) for c in DEMO_PALETTE],
    )


def _scene_rng(seed: int, split: str, index: int) -> np.random.Generator:
    # One stream per image: a split's images do not depend on the other split's size.
    return np.random.default_rng(np.random.SeedSequence([int(seed), _SPLIT_CODES[split], index]))


def _file_name(index: int) -> str:
    return f"demo_{index:05d}.png"


def _read_meta(root: Path) -> dict[str, Any] | None:
    try:
        with open(root / "meta.json", encoding="utf-8") as handle:
            meta = json.load(handle)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def is_complete_demo_dataset(root: str | os.PathLike, meta: Mapping[str, Any]) -> bool:
    """True when ``root`` holds ``meta.json`` equal to ``meta`` and every image and mask file."""
    root = Path(root)
    if _read_meta(root) != dict(meta):
        return False
    for split, count in meta["splits"].items():
        expected = {_file_name(i) for i in range(count)}
        for folder in ("img_dir", "ann_dir"):
            try:
                found = set(os.listdir(root / folder / split))
            except OSError:
                return False
            if not expected <= found:
                return False
    return True


def _write_split(folder: Path, split: str, count: int, size: int, seed: int) -> None:
    img_dir, ann_dir = folder / "img_dir" / split, folder / "ann_dir" / split
    img_dir.mkdir(parents=True)
    ann_dir.mkdir(parents=True)
    for index in range(count):
        image, mask = generate_demo_scene(_scene_rng(seed, split, index), size)
        name = _file_name(index)
        if not (cv2.imwrite(str(img_dir / name), image) and cv2.imwrite(str(ann_dir / name), mask)):
            raise DatasetError(f"Could not write demo image {name} under {folder}.")


def _is_replaceable(root: Path) -> bool:
    """True for an empty folder or one holding nothing but demo-data entries."""
    try:
        return set(os.listdir(root)) <= set(_LAYOUT)
    except OSError:
        return False


def _install(tmp: Path, root: Path, meta: Mapping[str, Any]) -> None:
    """Move the finished ``tmp`` folder to ``root``, replacing an outdated demo data set."""
    old = None
    if root.exists():
        if is_complete_demo_dataset(root, meta):  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
            return
        if not _is_replaceable(root):
            shutil.rmtree(tmp, ignore_errors=True)
            raise DatasetError(
                f"The demo data folder {str(root)!r} exists and holds other files; segwright "
                "will not overwrite it. Point data_root (or $SEGWRIGHT_CACHE) at an empty or "
                "new folder, or delete this one."
            )
        old = root.with_name(f".{root.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(root, old)
    try:
        os.rename(tmp, root)
    except OSError:
        # A concurrent writer got there between our check and our rename.
        shutil.rmtree(tmp, ignore_errors=True)
        if not is_complete_demo_dataset(root, meta):
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_demo_dataset(
    root: str | os.PathLike | None = None,
    num_train: int = 300,
    num_val: int = 60,
    size: int = 64,
    seed: int = 0,
) -> Path:
    """Write the demo data set under ``root`` unless an identical one is already there.

    The files are written to a temporary folder beside ``root`` and renamed into place, so
    ``root`` is either absent, a previous data set, or complete; an interrupted run leaves
    no half-written data set behind. An existing data set with the same ``meta.json`` and all
    its files is reused untouched.

    Args:
        root: Target folder; None uses :func:`demo_data_root`.
        num_train: Number of training scenes.
        num_val: Number of validation scenes.
        size: Image side in pixels (at least 16).
        seed: Seed of the whole data set.

    Returns:
        The data set folder.

    Raises:
        DatasetError: Bad arguments, or ``root`` holds files that are not demo data.
    """
    if size < 16 or num_train < 0 or num_val < 0:
        raise DatasetError(
            f"write_demo_dataset: size must be >= 16 and the split sizes >= 0, got size={size}, "
            f"num_train={num_train}, num_val={num_val}."
        )
    root = demo_data_root() if root is None else Path(os.path.expanduser(os.fspath(root)))
    meta = demo_meta(num_train, num_val, size, seed)
    if is_complete_demo_dataset(root, meta):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir()
        for split in SPLITS:
            _write_split(tmp, split, meta["splits"][split], size, seed)
        # meta.json last: its presence marks a finished data set.
        with open(tmp / "meta.json", "w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=2, sort_keys=True)
            handle.write("\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _install(tmp, root, meta)
    return root


# -- the registered dataset --------------------------------------------------------------------


@DATASETS.register_module()
class DemoSceneDataset(BaseSegDataset):
    """The built-in demo scenes, generated into ``data_root`` when missing or outdated.

    ::

        dataset=dict(type='DemoSceneDataset', data_root=None,   # None: the user cache
                     data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                     pipeline=[...])

    Give train and val datasets the same generator arguments (``num_train``, ``num_val``,
    ``size``, ``seed``): they share one folder, and different arguments rewrite it.

    Args:
        data_root: Data set folder; None uses :func:`demo_data_root`.
        data_prefix: Image and mask folders; None means the train split.
        num_train: Number of training scenes to generate.
        num_val: Number of validation scenes to generate.
        size: Image side in pixels.
        seed: Generator seed.
        **kwargs: Any :class:`BaseSegDataset` argument.
    """

    METAINFO = dict(classes=DEMO_CLASSES, palette=DEMO_PALETTE)

    def __init__(
        self,
        data_root: str | None = None,
        data_prefix: Mapping[str, str] | None = None,
        img_suffix: str = ".png",
        seg_map_suffix: str = ".png",
        num_train: int = 300,
        num_val: int = 60,
        size: int = 64,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        root = write_demo_dataset(data_root, num_train, num_val, size, seed)
        if data_prefix is None:
            data_prefix = dict(img_path="img_dir/train", seg_map_path="ann_dir/train")
        super().__init__(
            data_root=str(root),
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs,
        )


# -- the colour baseline -----------------------------------------------------------------------


def _load_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    names = sorted(os.listdir(root / "img_dir" / split))
    images = [cv2.imread(str(root / "img_dir" / split / n), cv2.IMREAD_COLOR) for n in names]
    masks = [cv2.imread(str(root / "ann_dir" / split / n), cv2.IMREAD_UNCHANGED) for n in names]
    if not names or any(a is None for a in images + masks):
        raise DatasetError(f"Cannot read the {split!r} split of the demo data under {root}.")
    return np.stack(images), np.stack(masks)


def mean_iou(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> float:
    """mIoU over the classes present in ``gt`` or ``pred`` (others are NaN and skipped)."""
    pairs = gt.astype(np.int64).ravel() * num_classes + pred.astype(np.int64).ravel()
    confusion = np.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)
    inter = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.nanmean(np.where(union > 0, inter / union, np.nan)))


def _color_bins(images: np.ndarray, bins: int) -> np.ndarray:
    q = (images.astype(np.int64) * bins) // 256
    return ((q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]).ravel()


def color_threshold_baseline_miou(
    root: str | os.PathLike | None = None, bins: int = 32, splits: Sequence[str] = SPLITS
) -> float:
    """Val mIoU of the best per-pixel colour classifier fitted on the train split.

    The classifier is a lookup table over the colour cube quantised to ``bins`` levels per
    channel, fitted by counting train pixels: every colour cell predicts its most frequent
    class (or, second rule, the class whose colour histogram puts the most mass there). The
    better of the two rules on val is returned. Any colour threshold is such a table, so no
    colour-only rule at this resolution does better on the train distribution.

    Args:
        root: Data set folder; None uses :func:`demo_data_root`.
        bins: Quantisation levels per channel.
        splits: ``(fit split, score split)``.

    Returns:
        mIoU in [0, 1].
    """
    root = demo_data_root() if root is None else Path(root)
    num_classes = len(DEMO_CLASSES)
    train_images, train_masks = _load_split(root, splits[0])
    val_images, val_masks = _load_split(root, splits[1])
    cells = _color_bins(train_images, bins) * num_classes + train_masks.ravel().astype(np.int64)
    counts = np.bincount(cells, minlength=bins**3 * num_classes).reshape(bins**3, num_classes)
    counts = counts.astype(np.float64)
    frequencies = counts.sum(0)
    likelihood = counts / np.maximum(frequencies, 1.0)
    val_cells = _color_bins(val_images, bins)
    best = 0.0
    for table in (counts, likelihood):
        lut = np.where(table.sum(1) > 0, table.argmax(1), int(frequencies.argmax()))
        best = max(best, mean_iou(lut[val_cells], val_masks.ravel(), num_classes))
    return best
