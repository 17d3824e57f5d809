"""No host-device sync in a training iteration between two log lines (issue 19, part 1).

On CUDA every read of a tensor's value on the host (``.item()``, ``float()``, ``bool()``,
``.tolist()``, ``.cpu()``, boolean-mask indexing, ...) waits for the queued kernels. The CPU
cannot show the wait, but it can count the reads: ``HostReads`` is a ``TorchFunctionMode`` that
sees every such call (``segwright.testing.host_reads``). It counts inside ``run_iter`` (hooks, train step with the data
preprocessor, optimizer step, the loop's checks), not the data loading, which reads CPU data.

Two kinds of read are torch's, not ours, and are not counted: GradScaler's check of the
unscaled gradients (the one sync of fp16 AMP) and the step counters of Adam-style optimizers,
which torch keeps on the CPU also in CUDA runs (no device involved).
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
import torch

import segwright
from segwright.config import Config
from segwright.engine import loops
from segwright.engine.hooks.hook import Hook
from segwright.engine.runner import Runner
from segwright.testing.host_reads import HostReads
from segwright.testing.toy_config import toy_config
from segwright.utils.errors import TrainingError

pytestmark = [
    pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore"),
    pytest.mark.filterwarnings("ignore:For binary segmentation"),
]

_CONFIGS = Path(segwright.__file__).parent / "configs"


def _counted_run(cfg, monkeypatch, extra_hook=None) -> dict[int, collections.Counter]:
    """Train ``cfg``; the reads of each iteration (1-based), counted inside ``run_iter``."""
    counts: dict[int, collections.Counter] = {}
    original = loops._TrainLoopBase.run_iter

    def counted(loop, batch_idx, data_batch):
        reads = HostReads(loop.runner.optim_wrapper.optimizer)
        with reads:
            original(loop, batch_idx, data_batch)
        counts[loop.iter] = reads.where

    monkeypatch.setattr(loops._TrainLoopBase, "run_iter", counted)
    runner = Runner.from_cfg(Config(cfg))
    if extra_hook is not None:
        runner.register_hook(extra_hook)
    try:
        runner.train()
    finally:
        runner.close()
    return counts


def _cfg(work_dir, model=None, iters=7, interval=3, amp=False, optimizer=None, **train):
    cfg = toy_config(work_dir, max_iters=iters, val_interval=10**6, param_scheduler=[])
    for key in ("val_dataloader", "val_cfg", "val_evaluator"):
        cfg.pop(key)
    if model is not None:  # images of 16x16 (the toy data's), padded to that by the preprocessor
        cfg["model"] = model
    optimizer = optimizer or dict(type="SGD", lr=0.01, momentum=0.9)
    wrapper = dict(type="AmpOptimWrapper", dtype="bfloat16") if amp else dict(type="OptimWrapper")
    cfg["optim_wrapper"] = dict(wrapper, optimizer=optimizer, clip_grad=dict(max_norm=1.0))
    cfg["default_hooks"]["logger"]["interval"] = interval
    cfg["default_hooks"]["checkpoint"].update(interval=10**6, save_last=False)
    cfg["train_cfg"].update(train)
    return cfg


_PRE = dict(
    type="SegDataPreProcessor", mean=[127.5] * 3, std=[64.0] * 3, bgr_to_rgb=True, size=(16, 16)
)
_BN = dict(type="BN", requires_grad=True)


def _demo_unet():
    model = Config.fromfile(_CONFIGS / "quickstart" / "demo_unet.py").model
    model.decode_head.num_classes = 2  # the toy data's classes (every run's pre-flight checks)
    return dict(model, data_preprocessor=_PRE)


def _tiny_pspnet():
    return dict(
        type="EncoderDecoder", data_preprocessor=_PRE,
        backbone=dict(
            type="ResNetV1c", depth=18, stem_channels=8, base_channels=4, strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4), contract_dilation=True, norm_cfg=_BN,
        ),
        decode_head=dict(
            type="PSPHead", in_channels=32, in_index=3, channels=4, num_classes=2,
            pool_scales=(1, 2), norm_cfg=_BN,
        ),
        auxiliary_head=dict(
            type="FCNHead", in_channels=16, in_index=2, channels=4, num_classes=2, num_convs=1,
            concat_input=False, norm_cfg=_BN,
            loss_decode=dict(type="CrossEntropyLoss", loss_weight=0.4),
        ),
        train_cfg=dict(), test_cfg=dict(mode="whole"),
    )  # fmt: skip


def _weighted_pspnet():
    """The tiny PSPNet with class weights on its decode loss, ``avg_non_ignore`` on the aux's."""
    model = _tiny_pspnet()
    model["decode_head"]["loss_decode"] = dict(type="CrossEntropyLoss", class_weight=[0.8, 1.2])
    model["auxiliary_head"]["loss_decode"] = dict(
        type="CrossEntropyLoss", loss_weight=0.4, avg_non_ignore=True
    )
    return model


def _log_iters(iters: int, interval: int) -> set[int]:
    return {i for i in range(1, iters + 1) if i % interval == 0 or i == iters}


def _assert_sync_free(counts, iters, interval, at_log=3):
    logged = _log_iters(iters, interval)
    plain = {i: dict(c) for i, c in counts.items() if i not in logged and i != 1}
    assert plain and all(not c for c in plain.values()), plain
    # At a log line: the losses the loop kept, the weights' finite flag, the log store.
    assert {i: sum(counts[i].values()) for i in logged} == dict.fromkeys(logged, at_log)


@pytest.mark.parametrize(
    "model, optimizer",
    [
        (None, None),  # segwright.testing's toy
        (_demo_unet(), dict(type="AdamW", lr=5e-3, weight_decay=1e-4)),  # the demo's optimizer
        (_tiny_pspnet(), None),
        (_weighted_pspnet(), None),
    ],
    ids=["toy", "demo_unet", "pspnet", "pspnet_class_weight"],
)
def test_no_host_read_between_log_lines_fp32(tmp_path, monkeypatch, model, optimizer):
    counts = _counted_run(_cfg(tmp_path, model, optimizer=optimizer), monkeypatch)
    _assert_sync_free(counts, iters=7, interval=3)


@pytest.mark.parametrize("model", [_demo_unet(), _tiny_pspnet()], ids=["demo_unet", "pspnet"])
def test_no_host_read_between_log_lines_bf16_autocast(tmp_path, monkeypatch, model):
    # bf16 is emulated on most CPUs: three iterations, the second one between reads.
    counts = _counted_run(_cfg(tmp_path, model, iters=3, interval=3, amp=True), monkeypatch)
    _assert_sync_free(counts, iters=3, interval=3)


class _ReadsTheLoss(Hook):
    """A hook that reads the loss every iteration, as a careless user hook would."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        outputs["loss"].item()


def test_the_counter_catches_a_hook_that_reads_the_loss(tmp_path, monkeypatch):
    counts = _counted_run(_cfg(tmp_path), monkeypatch, extra_hook=_ReadsTheLoss())
    plain = [counts[i] for i in (2, 4, 5)]
    assert all(sum(c.values()) == 1 for c in plain), plain
    assert all("item " in next(iter(c)) and __file__ in next(iter(c)) for c in plain)


@pytest.mark.parametrize(
    "train, per_iter",
    [
        (dict(on_nonfinite_loss="skip"), 1),  # the loss, before the update it decides
        # the loss before its update, the weights' flag, the loss for the explosion warning
        (dict(check_finite="every_iter"), 3),
    ],
)
def test_per_iteration_checks_cost_their_documented_reads(tmp_path, monkeypatch, train, per_iter):
    counts = _counted_run(_cfg(tmp_path, **train), monkeypatch)
    logged = _log_iters(7, 3)
    assert {i: sum(c.values()) for i, c in counts.items() if i not in logged and i != 1} == {
        i: per_iter for i in (2, 4, 5)
    }


def _poison_loss_at(runner: Runner, iteration: int) -> None:
    original = runner.model.parse_losses
    calls = {"n": 0}

    def poisoned(losses):
        calls["n"] += 1
        if calls["n"] == iteration:
            losses = {k: v * float("nan") if "loss" in k else v for k, v in losses.items()}
        return original(losses)

    runner.model.parse_losses = poisoned


@pytest.mark.parametrize(
    "train, log_interval, ckpt_interval, found",
    [
        # read at the next log line: the iteration is still named exactly
        (dict(), 3, 10**6, r"iteration 4 \(loss=nan.*stopped after iteration 6, where the losses"),
        # read before a checkpoint is written: it is not written
        (dict(), 10, 5, r"iteration 4 \(loss=nan.*stopped before saving iter_5\.pth, where"),
        # read before its update: training stops there
        (
            dict(check_finite="every_iter"),
            10,
            10**6,
            r"iteration 4 \(loss=nan.*\. Training stopped\. ",
        ),
    ],
    ids=["log_line", "checkpoint", "every_iter"],
)
def test_a_nonfinite_loss_kept_on_the_device_stops_the_run(
    tmp_path, train, log_interval, ckpt_interval, found
):
    cfg = _cfg(tmp_path, iters=8, interval=log_interval, **train)
    cfg["default_hooks"]["checkpoint"]["interval"] = ckpt_interval
    runner = Runner.from_cfg(Config(cfg))
    _poison_loss_at(runner, 4)
    with pytest.raises(TrainingError, match=found):
        runner.train()
    runner.close()
    assert not list(tmp_path.glob("*.pth"))
    # Only the per-iteration check stops before the NaN update reaches the weights.
    finite = all(bool(torch.isfinite(p).all()) for p in runner.model.parameters())
    assert finite == (train.get("check_finite") == "every_iter")


# -- On CUDA: torch's own sync detector (run by benchmarks/gpu_suite.sh on a GPU machine) -------


def _sync_checked_run(cfg, monkeypatch) -> list[int]:
    """Train ``cfg`` on CUDA with ``set_sync_debug_mode('error')`` over every iteration between
    log lines (not the first: CUDA and cuDNN set themselves up there); the iterations checked.

    GradScaler's check of the unscaled gradients is torch's one sync of AMP and is let through.
    """
    logged = _log_iters(cfg["train_cfg"]["max_iters"], cfg["default_hooks"]["logger"]["interval"])
    checked: list[int] = []
    original_run_iter = loops._TrainLoopBase.run_iter
    original_step = torch.amp.GradScaler.step

    def run_iter(loop, batch_idx, data_batch):
        iteration = loop.iter + 1
        if iteration == 1 or iteration in logged:
            return original_run_iter(loop, batch_idx, data_batch)
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            original_run_iter(loop, batch_idx, data_batch)
        finally:
            torch.cuda.set_sync_debug_mode(0)
        checked.append(iteration)

    def scaler_step(scaler, *args, **kwargs):
        mode = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode(0)
        try:
            return original_step(scaler, *args, **kwargs)
        finally:
            torch.cuda.set_sync_debug_mode(mode)

    monkeypatch.setattr(loops._TrainLoopBase, "run_iter", run_iter)
    monkeypatch.setattr(torch.amp.GradScaler, "step", scaler_step)
    runner = Runner.from_cfg(Config(cfg))
    try:
        runner.train()
    finally:
        runner.close()
    return checked


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (benchmarks/gpu_suite.sh)")
@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "bf16"])
@pytest.mark.parametrize(
    "model, optimizer",
    [
        (None, None),
        (_demo_unet(), dict(type="AdamW", lr=5e-3, weight_decay=1e-4)),
        (_tiny_pspnet(), None),
        (_weighted_pspnet(), None),
    ],
    ids=["toy", "demo_unet", "pspnet", "pspnet_class_weight"],
)
def test_cuda_sync_debug_mode_error_passes_between_log_lines(
    tmp_path, monkeypatch, model, optimizer, amp
):
    cfg = dict(_cfg(tmp_path, model, optimizer=optimizer, amp=amp), device="cuda")
    assert _sync_checked_run(cfg, monkeypatch) == [2, 4, 5]
