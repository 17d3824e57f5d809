"""Reading and checking a COCO instances json (no pycocotools needed).

:func:`read_coco_json` parses the file and checks its top level; :class:`CocoIndex` indexes
images and annotations in pycocotools' order and checks every entry that MMDetection would
crash on (a missing key, a wrong type); :func:`check_segmentation` checks one annotation's mask.
Every error is a :class:`DatasetError` naming the file and the image or annotation id.
What MMDetection skips instead (unknown image or category ids) is counted here and reported by
the dataset in one log line per kind.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from segwright.utils.errors import DatasetError

_KEYS = ("images", "annotations", "categories")


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _all_numbers(values: list[Any]) -> bool:
    """Whether ``values`` are all finite numbers (``sum`` in C: COCO has millions of points)."""
    try:
        total = sum(values)
        return isinstance(total, (int, float)) and math.isfinite(total)
    except (TypeError, OverflowError):
        return False


def read_coco_json(path: str, owner: str, need_annotations: bool = True) -> dict[str, Any]:
    """The parsed json at ``path``.

    Args:
        path: The json file.
        owner: The dataset's name, for messages.
        need_annotations: Whether a file without ``annotations`` is an error (COCO's
            ``image_info_test*.json`` files have none; they serve ``test_mode`` datasets).

    Raises:
        DatasetError: a missing, unreadable or malformed file, or one without the
            ``images``/``annotations``/``categories`` lists.
    """
    if not path or not os.path.isfile(path):
        raise DatasetError(
            f"{owner}: ann_file {path!r} does not exist. It is a COCO-format json, relative to "
            "data_root (e.g. ann_file='annotations/instances_train2017.json')."
        )
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"{owner}: {path} is not valid JSON: {exc.msg} at line {exc.lineno}, column "
            f"{exc.colno} (character {exc.pos}). Fix the file there, or regenerate it."
        ) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise DatasetError(f"{owner}: cannot read {path}: {exc}.") from None
    if not isinstance(data, dict):
        raise DatasetError(
            f"{owner}: {path} holds a JSON {type(data).__name__}; a COCO file is an object with "
            "'images', 'annotations' and 'categories'."
        )
    for key in _KEYS:
        if key not in data:
            if key == "annotations" and not need_annotations:
                continue
            raise DatasetError(
                f"{owner}: {path} has no '{key}' list (its keys: {sorted(data)[:10]}). A COCO "
                "instances file holds 'images', 'annotations' and 'categories'; is ann_file a "
                "captions, keypoints or panoptic file?"
            )
        if not isinstance(data[key], list):
            raise DatasetError(
                f"{owner}: {path}: '{key}' must be a list, got a JSON {type(data[key]).__name__}."
            )
    return data


class CocoIndex:
    """Images, their annotations and the categories of a COCO json (pycocotools' order).

    Annotations whose ``image_id`` is not an image of the file are left out and listed in
    ``orphans``; those whose ``category_id`` is not a category of the file stay in
    ``img_to_anns`` (the dataset skips them, as MMDetection does) and are listed in
    ``unknown_category``.

    Args:
        data: The parsed json.
        path: Its file, for messages.
        owner: The dataset's name, for messages.

    Raises:
        DatasetError: an entry that is not an object; an image without ``id``/``file_name``/
            ``height``/``width`` or with a size that is not a positive integer; a repeated
            image id; an annotation without ``id``/``image_id``/``category_id``; a category
            without ``id``/``name``.
    """

    def __init__(self, data: Mapping[str, Any], path: str, owner: str) -> None:
        self.path = path
        self.owner = owner
        self.categories: list[dict[str, Any]] = []
        for i, cat in enumerate(data.get("categories", [])):
            if not isinstance(cat, dict) or "id" not in cat or "name" not in cat:
                self._fail(f"categories[{i}] needs an 'id' and a 'name', got {cat!r}")
            self.categories.append(cat)
        category_ids = {cat["id"] for cat in self.categories}
        self.images: dict[Any, dict[str, Any]] = {}
        for i, img in enumerate(data.get("images", [])):
            self._check_image(i, img)
            self.images[img["id"]] = img
        self.img_to_anns: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        self.cat_to_imgs: dict[Any, list[Any]] = defaultdict(list)
        self.orphans: list[Any] = []
        self.unknown_category: list[Any] = []
        for i, ann in enumerate(data.get("annotations", [])):
            if not isinstance(ann, dict):
                self._fail(f"annotations[{i}] is a JSON {type(ann).__name__}, not an object")
            missing = [k for k in ("id", "image_id", "category_id") if k not in ann]
            if missing:
                where = f"annotation id {ann['id']!r}" if "id" in ann else f"annotations[{i}]"
                self._fail(f"{where} has no {', '.join(missing)}")
            if ann["image_id"] not in self.images:
                self.orphans.append(ann["id"])
                continue
            if ann["category_id"] not in category_ids:
                self.unknown_category.append(ann["id"])
            self.img_to_anns[ann["image_id"]].append(ann)
            self.cat_to_imgs[ann["category_id"]].append(ann["image_id"])

    def _check_image(self, i: int, img: Any) -> None:
        if not isinstance(img, dict):
            self._fail(f"images[{i}] is a JSON {type(img).__name__}, not an object")
        missing = [k for k in ("id", "file_name", "height", "width") if k not in img]
        if missing:
            known = ", ".join(f"{k} {img[k]!r}" for k in ("id", "file_name") if k in img)
            where = f"images[{i}] ({known})" if known else f"images[{i}]"
            self._fail(f"{where} has no {', '.join(missing)}")
        if img["id"] in self.images:
            self._fail(f"image id {img['id']!r} appears twice (images[{i}])")
        if not isinstance(img["file_name"], str) or not img["file_name"]:
            self._fail(
                f"image id {img['id']!r} has file_name {img['file_name']!r}; expected a path"
            )
        for key in ("height", "width"):
            value = img[key]
            if not is_number(value) or value < 1 or value != int(value):
                self._fail(
                    f"image id {img['id']!r} ({img['file_name']}) has {key} {value!r}; expected "
                    "the image's size in pixels, a positive integer"
                )

    def _fail(self, what: str) -> None:
        raise DatasetError(f"{self.owner}: {self.path}: {what}.")

    def cat_ids_by_name(self, names: Sequence[str]) -> dict[int, int]:
        """``category id -> label`` for ``names`` in the given order (all ids of a name)."""
        label_of = {name: i for i, name in enumerate(names)}
        return {
            cat["id"]: label_of[cat["name"]] for cat in self.categories if cat["name"] in label_of
        }


def rle_string_counts(counts: str) -> np.ndarray:
    """The run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString``), int64.

    Each run is a little-endian group of 5-bit digits, one character each (``chr(48 + c)``,
    ``c & 0x20`` set while the group goes on, ``c & 0x10`` of its last one the sign); from the
    fourth run on, a run is stored as its difference to the run two places before. Vectorised:
    a COCO file holds thousands of them.

    Raises:
        ValueError: a character outside the encoding, or a string that ends inside a run.
    """
    try:
        codes = np.frombuffer(counts.encode("ascii"), np.uint8).astype(np.int64) - 48
    except UnicodeEncodeError:
        raise ValueError("a character outside the RLE encoding") from None
    if codes.size == 0:
        return codes
    if codes.min() < 0 or codes.max() > 63:
        raise ValueError("a character outside the RLE encoding")
    last = (codes & 0x20) == 0
    if not last[-1]:
        raise ValueError("the string ends inside a run length")
    starts = np.flatnonzero(np.concatenate(([True], last[:-1])))
    digit = np.arange(codes.size) - np.repeat(starts, np.diff(np.append(starts, codes.size)))
    if digit.max() > 11:  # 60 bits: no image has runs that long
        raise ValueError("a run length of more than 12 digits")
    runs = np.add.reduceat((codes & 0x1F) << (5 * digit), starts)
    negative = (codes[last] & 0x10) != 0
    runs[negative] -= np.left_shift(1, 5 * (digit[last][negative] + 1))
    if runs.size > 3:  # runs[i] += runs[i - 2] for i > 2, i.e. running sums per parity
        runs[3::2] = np.cumsum(runs[3::2]) + runs[1]
        runs[4::2] = np.cumsum(runs[4::2]) + runs[2]
    return runs


def check_segmentation(segmentation: Any, img: Mapping[str, Any]) -> str | None:
    """What is wrong with a non-empty ``segmentation`` that MMDetection cannot use, or None.

    Polygons with fewer than 3 points or an odd number of coordinates are not reported here:
    MMDetection drops them (see :func:`has_short_polygon`).
    """
    height, width = int(img["height"]), int(img["width"])
    if isinstance(segmentation, list):
        if segmentation and not isinstance(segmentation[0], list) and _all_numbers(segmentation):
            return (
                f"segmentation {_short(segmentation)} is one flat list of numbers; COCO polygons "
                "are a list of polygons: wrap it as [[x1, y1, x2, y2, ...]]"
            )
        for polygon in segmentation:
            if not isinstance(polygon, list) or not _all_numbers(polygon):
                return (
                    f"segmentation holds the polygon {_short(polygon)}; each polygon is a list "
                    "of finite numbers [x1, y1, x2, y2, ...]"
                )
        return None
    if not isinstance(segmentation, dict):
        return (
            f"segmentation is a JSON {type(segmentation).__name__} ({_short(segmentation)}); "
            "expected polygons [[x1, y1, ...], ...] or an RLE {'size': [h, w], 'counts': ...}"
        )
    size, counts = segmentation.get("size"), segmentation.get("counts")
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(v, int) for v in size)
        or not isinstance(counts, (list, str))
    ):
        return (
            f"segmentation {_short(segmentation)} is not a COCO RLE; expected "
            "{'size': [height, width], 'counts': <a string or a list of run lengths>}"
        )
    if list(size) != [height, width]:
        return (
            f"the RLE mask is {size[0]}x{size[1]} (height x width) but the image is "
            f"{height}x{width} in 'images'; encode the mask at the image's size (or fix the "
            "image's height/width)"
        )
    if isinstance(counts, str):
        try:
            runs = rle_string_counts(counts).tolist()
        except ValueError as exc:
            return f"the RLE counts string is corrupt ({exc}); re-encode the mask"
    else:
        runs = counts
    integers = all(isinstance(v, int) and not isinstance(v, bool) for v in runs)
    if not integers or min(runs, default=0) < 0 or sum(runs) != height * width:
        total = sum(runs) if integers else "?"
        return (
            f"the RLE run lengths cover {total} pixels, not the {height}x{width} = "
            f"{height * width} of its size; re-encode the mask (pycocotools.mask.encode of an "
            "(height, width) Fortran-ordered uint8 array)"
        )
    return None


def has_short_polygon(segmentation: Any) -> bool:
    """Whether a polygon list holds a polygon of fewer than 3 points or odd length."""
    return isinstance(segmentation, list) and any(
        len(polygon) < 6 or len(polygon) % 2 for polygon in segmentation
    )


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + " ..."
