"""CheckpointHook options: interval, max_keep_ckpts, save_last, save_best (rule, auto), out_dir, filename_tmpl."""

from __future__ import annotations

import pytest
import torch

from segwright.config import Config
from segwright.engine.hooks.checkpoint_hook import infer_rule
from segwright.engine.runner import Runner
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError


def _run(tmp_path, max_iters=6, val_interval=2, **checkpoint):
    cfg = toy_config(tmp_path, max_iters=max_iters, val_interval=val_interval)
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", by_epoch=False, **checkpoint)
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    runner.close()
    return runner


def test_max_keep_ckpts_keeps_the_newest(tmp_path):
    _run(tmp_path, interval=2, max_keep_ckpts=2)
    assert sorted(p.name for p in tmp_path.glob("iter_*.pth")) == ["iter_4.pth", "iter_6.pth"]


def test_interval_minus_one_saves_only_the_last_and_save_last_false_saves_nothing(tmp_path):
    _run(tmp_path / "a", interval=-1)
    assert [p.name for p in (tmp_path / "a").glob("*.pth")] == ["iter_6.pth"]
    _run(tmp_path / "b", interval=-1, save_last=False)
    assert list((tmp_path / "b").glob("*.pth")) == []


def test_filename_tmpl_out_dir_and_no_optimizer(tmp_path):
    _run(
        tmp_path / "w",
        interval=3,
        out_dir=str(tmp_path / "out"),
        filename_tmpl="step_{:04d}.pth",
        save_optimizer=False,
    )
    folder = tmp_path / "out" / "w"
    assert sorted(p.name for p in folder.glob("*.pth")) == ["step_0003.pth", "step_0006.pth"]
    assert "optimizer" not in torch.load(folder / "step_0006.pth", weights_only=True)


def test_save_best_auto_keeps_one_best_file_with_the_best_score(tmp_path):
    runner = _run(tmp_path, interval=2, save_best="auto")
    best = list(tmp_path.glob("best_aAcc_iter_*.pth"))
    assert len(best) == 1
    ckpt = torch.load(best[0], weights_only=True)
    assert "optimizer" not in ckpt and "param_schedulers" not in ckpt
    assert runner.log_store.get_info("best_score") == max(
        h for h in runner.log_store.scalars["val/aAcc"].values
    )


def test_save_best_with_less_rule_and_several_keys(tmp_path):
    runner = _run(tmp_path, interval=2, save_best=["mIoU", "aAcc"], rule=["less", "greater"])
    assert len(list(tmp_path.glob("best_mIoU_iter_*.pth"))) == 1
    assert len(list(tmp_path.glob("best_aAcc_iter_*.pth"))) == 1
    assert runner.log_store.get_info("best_score_mIoU") == min(
        runner.log_store.scalars["val/mIoU"].values
    )


def test_rule_inference_matches_mmengine():
    greater, less = (
        ["acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc"],
        ["loss"],
    )
    assert infer_rule("mIoU", greater, less) == "greater"
    assert infer_rule("val_loss", greater, less) == "less"
    assert infer_rule("my_accuracy", greater, less) == "greater"
    with pytest.raises(ConfigError, match="rule='greater'"):
        infer_rule("fps", greater, less)


def test_unknown_save_best_key_names_the_available_metrics(tmp_path):
    with pytest.raises(ConfigError, match=r"save_best='mIoUU'.*aAcc"):
        _run(tmp_path, interval=2, save_best="mIoUU")
