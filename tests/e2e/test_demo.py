"""The README's first command, end to end: the real demo run, its files, pictures and mIoU floor."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segwright.cli.main import main

#: Predicting background everywhere scores about 15 mIoU on the demo scenes, the best per-pixel
#: colour classifier about 19; the demo reaches 83.14 (see README).
MIOU_FLOOR = 50.0


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    import os

    os.environ["SEGWRIGHT_CACHE"] = str(root / "cache")
    try:
        code = main(["demo", "--work-dir", str(root / "work"), "--device", "cpu"])
    finally:
        os.environ.pop("SEGWRIGHT_CACHE", None)
    return code, root / "work"


def test_demo_finishes_above_the_miou_floor(demo_run, capsys):
    code, work = demo_run
    assert code == 0
    last_log = sorted(work.glob("*/*.log"))[-1].read_text()
    final = [line for line in last_log.splitlines() if "Iter(val)" in line][-1]
    miou = float(final.split("mIoU:")[1].split()[0])
    assert miou > MIOU_FLOOR, final
    assert list(work.glob("best_mIoU_iter_*.pth")) and (work / "last_checkpoint").is_file()


@pytest.mark.parametrize(
    "name, min_size",
    [("curves.png", (300, 600)), ("predictions.png", (600, 500)), ("confusion.png", (350, 350))],
)
def test_demo_pictures_exist_with_sensible_sizes_and_content(demo_run, name, min_size):
    _, work = demo_run
    image = cv2.imread(str(work / name))
    assert image is not None, name
    height, width = image.shape[:2]
    assert height >= min_size[0] and width >= min_size[1], (name, image.shape)
    assert image.std() > 10, f"{name} looks blank"
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20, f"{name} has almost no colours"


def test_confusion_matrix_array_matches_the_picture_classes(demo_run):
    _, work = demo_run
    matrix = np.load(work / "confusion.npy")
    assert matrix.shape == (5, 5) and matrix.sum() == 60 * 64 * 64
    assert np.trace(matrix) / matrix.sum() > 0.8
