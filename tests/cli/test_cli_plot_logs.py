"""segwright plot-logs: curves of one or several runs, and unknown keys as user errors."""

from __future__ import annotations

import json

import cv2

from segwright.cli.main import COMMANDS, main
from segwright.testing import TOY_CONFIG_PATH


def write_scalars(folder, losses, mious):
    """A fake run folder: <folder>/<stamp>/vis_data/scalars.json with train and val records."""
    path = folder / "20260101_000000" / "vis_data" / "scalars.json"
    path.parent.mkdir(parents=True)
    lines = [json.dumps({"loss": loss, "lr": 0.01, "step": i + 1}) for i, loss in enumerate(losses)]
    lines += [json.dumps({"val/mIoU": m, "step": 10 * (i + 1)}) for i, m in enumerate(mious)]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_png(path):
    image = cv2.imread(str(path))
    assert image is not None, f"{path} was not written"
    return image


def test_plot_logs_is_a_registered_command():
    assert COMMANDS["plot-logs"] == "plot_logs"


def test_two_runs_default_keys(tmp_path, capsys):
    run_a = tmp_path / "run_a"
    run_b = tmp_path / "run_b"
    write_scalars(run_a, [1.0, 0.8, 0.5], [20.0, 40.0])
    file_b = write_scalars(run_b, [1.2, 0.9, 0.7], [15.0, 35.0])
    out = tmp_path / "plots" / "curves.png"
    assert main(["plot-logs", str(run_a), str(file_b), "-o", str(out)]) == 0
    image = read_png(out)
    # plot_curves: 5 x 3.6 inches per key at 100 dpi, two keys side by side.
    assert image.shape == (360, 1000, 3)
    assert image.std() > 10  # not blank
    printed = capsys.readouterr().out
    # A scalars.json file is labelled by its run folder, a work dir by its name.
    assert "run_a: " in printed and "20260101_000000: " in printed
    assert f"plot: {out}" in printed


def test_one_key_one_panel_and_missing_key_per_run(tmp_path, capsys):
    run_a = write_scalars(tmp_path / "a", [1.0, 0.5], [10.0])
    run_b = write_scalars(tmp_path / "b", [1.0, 0.5], [])
    out = tmp_path / "miou.png"
    argv = ["plot-logs", str(run_a), str(run_b), "--keys", "val/mIoU", "-o", str(out)]
    assert main(argv) == 0
    assert read_png(out).shape == (360, 500, 3)
    # Both files sit in a folder of the same name: the labels fall back to the paths.
    assert f"{run_b}: {run_b} (no val/mIoU)" in capsys.readouterr().out


def test_unknown_key_lists_the_available_ones(tmp_path, capsys):
    run = tmp_path / "run"
    write_scalars(run, [1.0], [10.0])
    out = tmp_path / "x.png"
    assert main(["plot-logs", str(run), "--keys", "loss", "val/miou", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No run logged 'val/miou'" in err
    assert "Available keys: loss, lr, val/mIoU" in err
    assert not out.exists()


def test_missing_run_is_a_user_error(tmp_path, capsys):
    assert main(["plot-logs", str(tmp_path / "nothing")]) == 2
    assert "No vis_data/scalars.json" in capsys.readouterr().err


def test_curves_of_a_real_training_run(tmp_path, capsys):
    work = tmp_path / "work"
    opts = [
        "train_cfg.max_iters=2",
        "train_cfg.val_interval=2",
        "param_scheduler.0.end=2",
        "default_hooks.logger.interval=1",
    ]
    argv = ["train", str(TOY_CONFIG_PATH), "--work-dir", str(work), "--device", "cpu"]
    assert main([*argv, "--cfg-options", *opts]) == 0
    out = tmp_path / "curves.png"
    keys = ["loss", "decode.acc_seg", "val/mIoU"]
    assert main(["plot-logs", str(work), "--keys", *keys, "-o", str(out)]) == 0
    image = read_png(out)
    assert image.shape == (360, 1500, 3)
    assert image.std() > 10


def test_labels_must_match_the_runs(tmp_path, capsys):
    run = tmp_path / "run"
    write_scalars(run, [1.0], [10.0])
    out = tmp_path / "x.png"
    assert main(["plot-logs", str(run), "--labels", "a", "b", "-o", str(out)]) == 2
    assert "--labels names 2 runs but 1 were given" in capsys.readouterr().err
    assert main(["plot-logs", str(run), "--labels", "mine", "-o", str(out)]) == 0
    assert "mine: " in capsys.readouterr().out
