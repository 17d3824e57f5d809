"""segwright benchmark: images per second of a model's tensor forward on random input."""

from __future__ import annotations

import re

import pytest
import torch

from segwright.cli import benchmark
from segwright.cli.main import COMMANDS, main
from segwright.testing import TOY_CONFIG_PATH, ToySegModel


def test_benchmark_is_a_registered_command():
    assert COMMANDS["benchmark"] == "benchmark"


def test_toy_model_prints_positive_images_per_second_last(capsys):
    argv = ["benchmark", str(TOY_CONFIG_PATH), "--shape", "32", "24", "--batch-size", "2"]
    assert main([*argv, "--iters", "3", "--warmup", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "input 2x3x32x24 on cpu" in lines[1]
    assert "1 warm-up runs, 3 timed runs" in lines[1]
    assert re.fullmatch(r"time per batch: median [\d.]+ ms, min [\d.]+ ms, max [\d.]+ ms", lines[2])
    match = re.fullmatch(r"([\d.]+) img/s", lines[-1])
    assert match and float(match.group(1)) > 0
    low, high = map(float, re.search(r"min ([\d.]+), max ([\d.]+)$", lines[-2]).groups())
    assert low <= float(match.group(1)) <= high


def test_time_forward_runs_warmup_plus_iters_in_eval_mode():
    model = ToySegModel().eval()
    calls = []
    model.register_forward_hook(lambda m, i, o: calls.append((m.training, torch.is_grad_enabled())))
    times = benchmark.time_forward(model, torch.zeros(1, 3, 8, 8), iters=4, warmup=2)
    assert len(times) == 4 and all(t > 0 for t in times)
    assert calls == [(False, False)] * 6


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--iters", "0"], "--iters must be at least 1"),
        (["--shape", "8", "8", "8"], "--shape takes the input height and width"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
    ],
)
def test_bad_flags_are_user_errors(flags, message, capsys):
    assert main(["benchmark", str(TOY_CONFIG_PATH), *flags]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_device_is_a_user_error(capsys):
    assert main(["benchmark", str(TOY_CONFIG_PATH), "--device", "cuda"]) == 2
    assert "no CUDA device is available" in capsys.readouterr().err


def test_legacy_config_is_translated(tmp_path, capsys):
    config = tmp_path / "legacy.py"
    config.write_text(
        "model = dict(type='ToySegModel', channels=4, num_classes=2, norm=False)\n"
        "optimizer = dict(type='SGD', lr=0.01)\n"
        "runner = dict(type='IterBasedRunner', max_iters=10)\n"
    )
    argv = ["benchmark", str(config), "--shape", "8", "--iters", "2", "--warmup", "0"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "MMSeg 0.x config, translated" in out
    assert "input 1x3x8x8 on cpu" in out
