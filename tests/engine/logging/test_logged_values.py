"""The logged training values did not change when the losses stopped being read every iteration.

``EXPECTED`` and ``LINES`` were recorded from the implementation before issue 19 (each loss,
accuracy and grad norm read with ``.item()`` in its iteration), on the run below: the toy model,
10 iterations, a log line every 3, means over a window of 4 (so each window reaches back past
the previous log line), two parameter groups (``base_lr``) and clipping (``grad_norm``). The new
implementation reproduces them bit for bit on the machine that recorded them.

Tolerances: lr comes from the schedule's float64 arithmetic and must match exactly. The model's
numbers come from float32 CPU kernels, whose reduction order may differ on another CPU or torch
build by a few ulps (~1e-7 relative) per operation, grown over 10 SGD steps; rtol=1e-5 leaves
that room and still fails for any wrong window or missed iteration (those move a mean by
percents). A second, machine-independent check is exact: each logged mean equals the mean of
the per-iteration values a hook read with ``.item()`` in the same run.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from segwright.config import Config
from segwright.engine.hooks.hook import Hook
from segwright.engine.runner import Runner
from segwright.testing.toy_config import toy_config

WINDOW = 4
#: step -> logged value (LoggerHook: losses and grad_norm averaged over WINDOW iterations, the
#: others current)
EXPECTED = {
    3: {
        "lr": 0.07977745720678624, "base_lr": 0.07977745720678624,
        "loss": 0.5873433252175649, "decode.loss_ce": 0.5873433252175649,
        "decode.acc_seg": 93.75, "grad_norm": 0.9013448158899943,
    },
    6: {
        "lr": 0.048250546641177824, "base_lr": 0.048250546641177824,
        "loss": 0.31361081451177597, "decode.loss_ce": 0.31361081451177597,
        "decode.acc_seg": 96.09375, "grad_norm": 0.40849531441926956,
    },
    9: {
        "lr": 0.013927613429732245, "base_lr": 0.013927613429732245,
        "loss": 0.20035596564412117, "decode.loss_ce": 0.20035596564412117,
        "decode.acc_seg": 94.140625, "grad_norm": 0.3213914558291435,
    },
    10: {
        "lr": 0.0001, "base_lr": 0.0001,
        "loss": 0.2030027061700821, "decode.loss_ce": 0.2030027061700821,
        "decode.acc_seg": 90.0390625, "grad_norm": 0.35058487951755524,
    },
}  # fmt: skip
#: the log lines, without eta, time and data_time (they depend on the machine's speed)
LINES = [
    "Iter(train) [ 3/10]  base_lr: 7.9777e-02  lr: 7.9777e-02  loss: 0.5873  "
    "decode.loss_ce: 0.5873  decode.acc_seg: 93.7500  grad_norm: 0.9013",
    "Iter(train) [ 6/10]  base_lr: 4.8251e-02  lr: 4.8251e-02  loss: 0.3136  "
    "decode.loss_ce: 0.3136  decode.acc_seg: 96.0938  grad_norm: 0.4085",
    "Iter(train) [ 9/10]  base_lr: 1.3928e-02  lr: 1.3928e-02  loss: 0.2004  "
    "decode.loss_ce: 0.2004  decode.acc_seg: 94.1406  grad_norm: 0.3214",
    "Iter(train) [10/10]  base_lr: 1.0000e-04  lr: 1.0000e-04  loss: 0.2030  "
    "decode.loss_ce: 0.2030  decode.acc_seg: 90.0391  grad_norm: 0.3506",
]
_TIMES = re.compile(r"  (eta|time|data_time): \S+")
_DEVICE_KEYS = ("loss", "decode.loss_ce", "decode.acc_seg", "grad_norm")


class _ReadEachIteration(Hook):
    """Reads every iteration's values on the host, as the old implementation did."""

    priority = "LOWEST"

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {key: [] for key in _DEVICE_KEYS}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        for key in _DEVICE_KEYS[:-1]:
            self.values[key].append(outputs[key].item())
        self.values["grad_norm"].append(float(runner.optim_wrapper.last_grad_norm))


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("logged")
    schedule = [dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=10, by_epoch=False)]
    cfg = toy_config(work_dir, max_iters=10, val_interval=100, param_scheduler=schedule)
    for key in ("val_dataloader", "val_cfg", "val_evaluator"):
        cfg.pop(key)
    cfg["optim_wrapper"]["clip_grad"] = dict(max_norm=1.0)
    cfg["optim_wrapper"]["paramwise_cfg"] = dict(custom_keys={"decode_head": dict(lr_mult=2.0)})
    cfg["default_hooks"]["logger"] = dict(
        type="LoggerHook", interval=3, window_size=WINDOW, log_metric_by_epoch=False
    )
    cfg["default_hooks"]["checkpoint"]["interval"] = 5
    runner = Runner.from_cfg(Config(cfg))
    reader = _ReadEachIteration()
    runner.register_hook(reader)
    written: list[tuple[int, dict[str, float]]] = []
    add_scalars = runner.scalar_writer.add_scalars

    def spy(scalars, step):
        written.append((step, dict(scalars)))
        add_scalars(scalars, step)

    runner.scalar_writer.add_scalars = spy
    runner.train()
    runner.close()
    log = (runner.log_dir / f"{runner.timestamp}.log").read_text().splitlines()
    lines = [_TIMES.sub("", line.split(" - ")[-1]) for line in log if "Iter(train)" in line]
    records = (runner.log_dir / "vis_data" / "scalars.json").read_text().splitlines()
    return written, lines, [json.loads(r) for r in records], reader.values


def test_logged_values_are_the_recorded_ones(logged):
    written, _, _, _ = logged
    assert [step for step, _ in written] == list(EXPECTED)
    for step, scalars in written:
        assert {"time", "data_time"} <= set(scalars)
        values = {k: v for k, v in scalars.items() if k not in ("time", "data_time")}
        assert list(values) == list(EXPECTED[step])  # same keys, same order
        for key, value in values.items():
            rtol = 0.0 if key in ("lr", "base_lr") else 1e-5
            assert value == pytest.approx(EXPECTED[step][key], rel=rtol, abs=0), (step, key)


def test_logged_means_equal_the_windows_of_values_read_each_iteration(logged):
    written, _, _, per_iter = logged
    for step, scalars in written:
        for key in _DEVICE_KEYS:
            if key == "decode.acc_seg":  # not a loss, time or grad norm: the current value
                assert scalars[key] == per_iter[key][step - 1], step
                continue
            window = per_iter[key][max(step - WINDOW, 0) : step]
            assert scalars[key] == sum(window) / len(window), (step, key)  # exact


def test_log_lines_and_scalars_json_are_the_recorded_ones(logged):
    written, lines, records, _ = logged
    assert len(lines) == len(LINES)
    for line, recorded in zip(lines, LINES):
        head, *parts = line.split("  ")
        recorded_head, *recorded_parts = recorded.split("  ")
        assert head == recorded_head
        assert [p.split(": ")[0] for p in parts] == [p.split(": ")[0] for p in recorded_parts]
        for part, expected in zip(parts, recorded_parts):  # within one unit of the last digit
            value, wanted = float(part.split(": ")[1]), float(expected.split(": ")[1])
            assert math.isclose(value, wanted, rel_tol=2e-4), (part, expected)
    train_records = [r for r in records if "loss" in r]
    assert [r["step"] for r in train_records] == list(EXPECTED)
    for record, (_, scalars) in zip(train_records, written):
        assert record == {**{k: round(v, 6) for k, v in scalars.items()}, "step": record["step"]}
