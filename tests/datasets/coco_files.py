"""A tiny COCO-format dataset written to a folder (images made with OpenCV)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

CATEGORIES = [
    {"id": 1, "name": "person"},
    {"id": 3, "name": "car"},
    {"id": 18, "name": "dog"},
]

IMAGES = [
    {"id": 11, "file_name": "a.jpg", "width": 40, "height": 30},  # landscape
    {"id": 12, "file_name": "b.jpg", "width": 20, "height": 50},  # portrait
    {"id": 13, "file_name": "c.jpg", "width": 30, "height": 30},  # no annotations
]


def _square(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


ANNOTATIONS: list[dict[str, Any]] = [
    # a.jpg: a person, a car, a crowd of persons
    dict(id=1, image_id=11, category_id=1, bbox=[2, 3, 10, 8], area=80.0, iscrowd=0,
         segmentation=_square(2, 3, 10, 8)),
    dict(id=2, image_id=11, category_id=3, bbox=[20.5, 5, 15, 20], area=150.0, iscrowd=0,
         segmentation=[[20.5, 5, 35.5, 5, 35.5, 25]]),
    dict(id=3, image_id=11, category_id=1, bbox=[0, 20, 6, 6], area=36.0, iscrowd=1,
         segmentation=_square(0, 20, 6, 6)),
    # b.jpg: skipped ones (tiny, outside, negative, ignore) and a dog
    dict(id=4, image_id=12, category_id=18, bbox=[1, 1, 0.5, 10], area=5.0, iscrowd=0,
         segmentation=_square(1, 1, 0.5, 10)),
    dict(id=5, image_id=12, category_id=3, bbox=[50, 60, 5, 5], area=25.0, iscrowd=0,
         segmentation=_square(50, 60, 5, 5)),
    dict(id=6, image_id=12, category_id=3, bbox=[2, 2, 10, -4], area=40.0, iscrowd=0,
         segmentation=_square(2, 2, 10, 4)),
    dict(id=7, image_id=12, category_id=18, bbox=[4, 10, 10, 20], area=200.0, iscrowd=0,
         segmentation=_square(4, 10, 10, 20)),
    dict(id=8, image_id=12, category_id=1, bbox=[0, 0, 3, 3], area=9.0, iscrowd=0, ignore=1,
         segmentation=_square(0, 0, 3, 3)),
]  # fmt: skip


def write_coco(
    root: Path,
    annotations: list[dict[str, Any]] | None = None,
    images: list[dict[str, Any]] | None = None,
    categories: list[dict[str, Any]] | None = None,
    name: str = "ann.json",
) -> Path:
    """Write ``root/images/*.jpg`` and ``root/<name>``; returns the json path."""
    images = IMAGES if images is None else images
    (root / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for img in images:
        pixels = rng.integers(0, 255, (img["height"], img["width"], 3), dtype=np.uint8)
        cv2.imwrite(str(root / "images" / img["file_name"]), pixels)
    data = dict(
        images=images,
        annotations=ANNOTATIONS if annotations is None else annotations,
        categories=CATEGORIES if categories is None else categories,
    )
    path = root / name
    path.write_text(json.dumps(data))
    return path
