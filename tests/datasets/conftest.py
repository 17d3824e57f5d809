"""Fixtures for dataset tests: tiny image/label files in a real folder layout."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import pytest
from ds_files import tiny_image, tiny_label, write_png


@pytest.fixture
def make_pairs() -> Callable[..., list[str]]:
    """``make_pairs(root, img_dir, seg_dir, stems, img_suffix, seg_suffix, values=...)``."""

    def make(
        root: Path,
        img_dir: str,
        seg_dir: str | None,
        stems: Sequence[str],
        img_suffix: str,
        seg_suffix: str,
        values: Sequence[int] = (0, 1),
        size: tuple[int, int] = (8, 12),
    ) -> list[str]:
        paths = []
        for i, stem in enumerate(stems):
            img_path = root / img_dir / f"{stem}{img_suffix}"
            if img_suffix.endswith((".jpg", ".jpeg")):
                os.makedirs(img_path.parent, exist_ok=True)
                cv2.imwrite(str(img_path), tiny_image(i, size))
            else:
                write_png(img_path, tiny_image(i, size))
            if seg_dir is not None:
                write_png(root / seg_dir / f"{stem}{seg_suffix}", tiny_label(values, size))
            paths.append(str(img_path))
        return paths

    return make
