"""``segwright plot-lr``: a PNG of the schedule and the per-iteration values as JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib import image

from segwright.cli.main import COMMANDS, main
from segwright.testing import TOY_CONFIG_PATH

FAST = ["train_cfg.max_iters=20", "param_scheduler.0.end=20"]


def test_plot_lr_writes_png_and_json(tmp_path, capsys):
    png, values = tmp_path / "out" / "lr.png", tmp_path / "values.json"
    code = main(
        ["plot-lr", str(TOY_CONFIG_PATH), "-o", str(png), "--json", str(values)]
        + ["--cfg-options", *FAST]
    )
    assert code == 0
    data = json.loads(values.read_text())
    assert set(data) == {"lr", "momentum"}
    assert len(data["lr"]) == 1 and len(data["lr"][0]) == 20
    assert data["lr"][0][0] == 0.05 and data["lr"][0][-1] == pytest.approx(1e-4)
    assert data["momentum"] == [[0.9] * 20]

    pixels = image.imread(png)
    height, width = pixels.shape[:2]
    assert 600 <= width <= 2000 and 300 <= height <= 2000
    ink = (pixels[..., :3] < 0.9).any(axis=-1).mean()
    assert 0.01 < ink < 0.5  # axes, ticks and curves, on a mostly white page
    assert "20 iterations" in capsys.readouterr().out


def test_plot_lr_with_mmcv_policies_and_groups(tmp_path):
    config = tmp_path / "cyclic.py"
    config.write_text(
        f"_base_ = [{str(TOY_CONFIG_PATH)!r}]\n"
        "optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'decode_head': "
        "dict(lr_mult=10.0)}))\n"
        "param_scheduler = [dict(type='MMCVCyclicLR', target_ratio=(10, 1e-4), by_epoch=False),\n"
        "                   dict(type='MMCVCyclicMomentum', by_epoch=False)]\n"
    )
    values = tmp_path / "v.json"
    assert main(["plot-lr", str(config), "--json", str(values), "--num-iters", "30"]) == 0
    data = json.loads(values.read_text())
    assert len(data["lr"]) > 1 and all(len(s) == 30 for s in data["lr"])
    lr = np.array(data["lr"])
    assert np.allclose(lr.max(axis=1) / lr[:, 0], lr[0].max() / lr[0, 0])  # same shape ×1 / ×10
    assert not (tmp_path / "lr.png").exists()  # only --json was asked for

    png = tmp_path / "cyclic.png"
    assert main(["plot-lr", str(config), "-o", str(png)]) == 0
    pixels = image.imread(png)
    assert pixels.shape[0] > 500  # two panels: lr and momentum


def test_plot_lr_is_registered_and_reports_user_errors(tmp_path, capsys):
    assert COMMANDS["plot-lr"] == "plot_lr"
    config = tmp_path / "bad.py"
    config.write_text(f"_base_ = [{str(TOY_CONFIG_PATH)!r}]\ntrain_cfg = None\n")
    assert main(["plot-lr", str(config), "-o", str(tmp_path / "x.png")]) == 2
    assert "train_cfg" in capsys.readouterr().err
