"""train -> val -> checkpoint -> resume -> test through the segwright command on the toy config."""

from __future__ import annotations

from pathlib import Path

import torch

from segwright.cli.main import main
from segwright.testing import TOY_CONFIG_PATH

FAST = ["train_cfg.max_iters=4", "train_cfg.val_interval=2", "param_scheduler.0.end=4"]


def test_train_resume_and_test_through_the_cli(tmp_path, capsys):
    work = tmp_path / "run"
    hooks = "default_hooks.checkpoint.interval=2"
    assert (
        main(
            [
                "train",
                str(TOY_CONFIG_PATH),
                "--work-dir",
                str(work),
                "--device",
                "cpu",
                "--cfg-options",
                *FAST,
                hooks,
            ]
        )
        == 0
    )
    assert (work / "iter_4.pth").is_file()
    assert list(work.glob("best_mIoU_iter_*.pth"))
    # Resume the finished run with a longer schedule: it continues from iteration 4.
    assert (
        main(
            [
                "train",
                str(TOY_CONFIG_PATH),
                "--work-dir",
                str(work),
                "--device",
                "cpu",
                "--resume",
                "--cfg-options",
                "train_cfg.max_iters=6",
                "train_cfg.val_interval=2",
                "param_scheduler.0.end=6",
                hooks,
            ]
        )
        == 0
    )
    assert torch.load(work / "iter_6.pth", weights_only=True)["meta"]["iter"] == 6
    capsys.readouterr()
    assert (
        main(
            [
                "test",
                str(TOY_CONFIG_PATH),
                str(work / "iter_6.pth"),
                "--work-dir",
                str(tmp_path / "t"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "mIoU" in out.splitlines()[-1] and "mDice" in out.splitlines()[-1]


def test_bad_checkpoint_is_a_user_error(tmp_path, capsys):
    bad = Path(tmp_path) / "bad.pth"
    bad.write_bytes(b"garbage")
    assert (
        main(
            ["test", str(TOY_CONFIG_PATH), str(bad), "--work-dir", str(tmp_path), "--device", "cpu"]
        )
        == 2
    )
    assert "Cannot read checkpoint" in capsys.readouterr().err
