"""SegVisualizationHook: MMSeg 1.x's drawing hook (no-op unless draw=True)."""

from __future__ import annotations

import cv2
import pytest
import torch

from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.registry import HOOKS
from segwright.task_hooks.visualization_hook import SegVisualizationHook
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run(tmp_path, **hook):
    # 4 iterations, validation at 4 over 4 images in batches of 2; test over the same 4 images
    cfg = toy_config(tmp_path / "work", max_iters=4, val_interval=4)
    cfg["test_dataloader"] = cfg["val_dataloader"]
    cfg.update(test_cfg=dict(type="TestLoop"), test_evaluator=cfg["val_evaluator"])
    cfg["default_hooks"].update(
        checkpoint=None, visualization=dict(type="SegVisualizationHook", **hook)
    )
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    runner.test()
    runner.close()
    folder = runner.log_dir / "vis_data" / "vis_image"
    return runner, sorted(p.name for p in folder.glob("*.png")) if folder.is_dir() else []


def test_mmseg_default_draws_nothing(tmp_path):
    runner, files = run(tmp_path)
    assert "SegVisualizationHook" in [type(h).__name__ for h in runner.hooks]
    assert files == []


def test_draw_saves_validation_every_interval_and_every_test_image(tmp_path):
    runner, files = run(tmp_path, draw=True, interval=5)
    # validation at iteration 4: batch 0 -> step 4 (not a multiple of 5), batch 1 -> step 5;
    # the first image of that batch is toy_2. Test: all four images, steps 1..4.
    assert files == [
        "test_toy_0.png_1.png",
        "test_toy_1.png_2.png",
        "test_toy_2.png_3.png",
        "test_toy_3.png_4.png",
        "val_toy_2.png_5.png",
    ]
    panel = cv2.imread(str(runner.log_dir / "vis_data" / "vis_image" / files[0]))
    # image | truth | prediction with 4-pixel gaps, enlarged 12x (to 192 rows) for the titles
    # and the legend
    assert panel.shape[1] == 3 * 192 + 2 * 4 and panel.shape[0] > 192 + 40


def test_show_is_written_to_files_with_a_warning(tmp_path):
    runner, files = run(tmp_path, draw=True, interval=1, show=True, wait_time=2)
    assert len(files) == 2 + 4
    log = (runner.log_dir / f"{runner.timestamp}.log").read_text()
    assert log.count("show=True needs a display") == 1


def test_arguments_are_checked():
    assert isinstance(HOOKS.build(dict(type="SegVisualizationHook")), SegVisualizationHook)
    with pytest.raises(ConfigError, match="interval must be a positive int"):
        SegVisualizationHook(draw=True, interval=0)
