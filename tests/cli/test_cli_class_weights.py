"""``segwright class-weights``: the per-class table and a class_weight line to paste."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from segwright.cli.main import COMMANDS, main
from segwright.testing import TOY_CONFIG_PATH

# Three 4x4 masks of 4 classes: class 0 has 20 px, class 1 20 px, class 2 4 px, class 3 none.
MASKS = [
    np.array([[0, 0, 0, 1]] * 4, dtype=np.uint8),
    np.array([[0, 0, 2, 255]] * 4, dtype=np.uint8),
    np.full((4, 4), 1, dtype=np.uint8),
]


@pytest.fixture
def config(tmp_path):
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    for i, mask in enumerate(MASKS):
        assert cv2.imwrite(str(tmp_path / "images" / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
        assert cv2.imwrite(str(tmp_path / "masks" / f"{i}.png"), mask)
    path = tmp_path / "cfg.py"
    path.write_text(
        "train_dataloader = dict(batch_size=2, dataset=dict(type='FolderSegDataset',\n"
        f"    data_root={str(tmp_path)!r}, classes=('road', 'car', 'bike', 'tram'),\n"
        "    pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]))\n"
    )
    return str(path)


def test_class_weights_is_a_registered_command():
    assert COMMANDS["class-weights"] == "class_weights"


def test_median_frequency_table_and_line(config, capsys):
    assert main(["class-weights", config]) == 0
    out = capsys.readouterr().out
    assert "FolderSegDataset: 3 label map(s) read, 44 labelled pixels, 4 ignored" in out
    assert "median-frequency balancing" in out
    # freq = 20/28, 20/32, 4/12 -> median 0.625 -> 0.875, 1, 1.875; tram never appears -> 0
    assert re.search(r"^ 0  road\s+20\s+45\.45\s+2\s+0\.7143\s+0\.8750$", out, re.M)
    assert re.search(r"^ 1  car\s+20\s+45\.45\s+2\s+0\.6250\s+1\.0000$", out, re.M)
    assert re.search(r"^ 2  bike\s+4\s+9\.09\s+1\s+0\.3333\s+1\.8750$", out, re.M)
    assert re.search(r"^ 3  tram\s+0\s+0\.00\s+0\s+0\.0000\s+0\.0000$", out, re.M)
    assert "warning: class 3 ('tram') never appears in the 3 label map(s) read" in out
    assert out.rstrip().endswith("class_weight=[0.8750, 1.0000, 1.8750, 0.0000]")


def test_log_method_and_num_samples(config, capsys):
    assert main(["class-weights", config, "--method", "log", "--num-samples", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 label map(s) read, 32 labelled pixels" in out  # maps 0 and 2
    # p = 12/32, 20/32 -> 1 / ln(1.02 + p)
    assert out.rstrip().endswith("class_weight=[3.0040, 2.0091, 0.0000, 0.0000]")
    assert "warning: class 2 ('bike')" in out and "warning: class 3 ('tram')" in out


def test_cfg_options_and_reduce_zero_label(config, capsys):
    argv = ["class-weights", config, "--cfg-options"]
    argv += [
        "train_dataloader.dataset.reduce_zero_label=True",
        "train_dataloader.dataset.classes=[x,y]",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "24 labelled pixels, 24 ignored" in out
    # 1 -> class 0 (20 px in maps 0, 2: 20 labelled), 2 -> class 1 (4 px, map 1: 4 labelled)
    assert out.rstrip().endswith("class_weight=[1.0000, 1.0000]")
    assert "warning" not in out


def test_toy_config_and_user_errors(tmp_path, capsys):
    argv = ["class-weights", str(TOY_CONFIG_PATH), "--cfg-options"]
    assert main(argv + ["train_dataloader.dataset.num_samples=2"]) == 0
    assert "ToySegDataset: 2 label map(s) read" in capsys.readouterr().out

    empty = tmp_path / "no_data.py"
    empty.write_text("model = dict(type='ToySegModel')\n")
    assert main(["class-weights", str(empty)]) == 2
    assert "no train_dataloader.dataset" in capsys.readouterr().err
    assert main(["class-weights", str(TOY_CONFIG_PATH), "--num-samples", "0"]) == 2
    assert "num_samples must be a positive" in capsys.readouterr().err


def test_legacy_config_data_train(tmp_path, capsys):
    legacy = tmp_path / "legacy.py"
    legacy.write_text(
        "model = dict(type='ToySegModel', channels=4, num_classes=2)\n"
        "data = dict(samples_per_gpu=2, workers_per_gpu=0,\n"
        "            train=dict(type='ToySegDataset', num_samples=3, size=(8, 8)))\n"
        "optimizer = dict(type='SGD', lr=0.01)\n"
        "runner = dict(type='IterBasedRunner', max_iters=10)\n"
    )
    assert main(["class-weights", str(legacy)]) == 0
    out = capsys.readouterr().out
    assert "MMSeg 0.x config, translated" in out
    assert "ToySegDataset: 3 label map(s) read, 192 labelled pixels" in out
