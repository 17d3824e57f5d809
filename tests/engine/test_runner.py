"""Whole runs of the toy model through the Runner: train, validate, checkpoint, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from segwright.config import Config
from segwright.engine.hooks import Hook
from segwright.engine.loops import TrainingError
from segwright.engine.runner import Runner
from segwright.registry import HOOKS
from segwright.testing import toy_config


def _run(tmp_path: Path, **kw) -> Runner:
    runner = Runner.from_cfg(Config(toy_config(tmp_path, **kw)))
    runner.train()
    runner.close()
    return runner


def test_iter_based_run_writes_checkpoints_logs_and_metrics(tmp_path):
    runner = _run(tmp_path, max_iters=4, val_interval=2)
    assert runner.iter == 4
    assert (tmp_path / "iter_2.pth").is_file() and (tmp_path / "iter_4.pth").is_file()
    assert Path((tmp_path / "last_checkpoint").read_text()) == tmp_path / "iter_4.pth"
    ckpt = torch.load(tmp_path / "iter_4.pth", weights_only=False)
    assert ckpt["meta"]["iter"] == 4
    assert {"state_dict", "optimizer", "param_schedulers", "message_hub"} <= set(ckpt)
    run_dir = runner.log_dir
    log_text = (run_dir / f"{runner.timestamp}.log").read_text()
    assert "Iter(train) [4/4]" in log_text and "decode.loss_ce" in log_text
    assert "Iter(val) [4]" in log_text and "mIoU" in log_text
    records = [
        json.loads(line)
        for line in (run_dir / "vis_data" / "scalars.json").read_text().splitlines()
    ]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4]
    assert any("val/mIoU" in r for r in records)


def test_lr_follows_poly_schedule_per_iteration(tmp_path):
    runner = Runner.from_cfg(Config(toy_config(tmp_path, max_iters=4, val_interval=4)))
    seen = []

    class Spy(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen.append(runner.optim_wrapper.get_lr()["lr"][0])

    runner.register_hook(Spy())
    runner.train()
    runner.close()
    # MMEngine PolyLR: eta + (b - eta) * (1 - s/T)^p with T = end - begin - 1 = 3.
    expected = [1e-4 + (0.1 - 1e-4) * (1 - s / 3) ** 0.9 for s in range(4)]
    assert seen == pytest.approx(expected, rel=1e-6)


def _random_toy(work_dir, max_iters, **kw):
    """Dropout in the model and random flips in the data: resuming must restore both."""
    cfg = toy_config(work_dir, max_iters=max_iters, val_interval=6, **kw)
    cfg["model"]["dropout"] = 0.3
    cfg["train_dataloader"]["dataset"]["random_flip"] = True
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", by_epoch=False, interval=6)
    cfg["param_scheduler"][0]["end"] = 12
    return cfg


def test_train_12_equals_train_6_then_resume_6(tmp_path):
    full = Runner.from_cfg(Config(_random_toy(tmp_path / "full", 12)))
    full.train()
    full.close()
    half = Runner.from_cfg(Config(_random_toy(tmp_path / "half", 6)))
    half.train()
    half.close()
    resumed = Runner.from_cfg(Config(_random_toy(tmp_path / "half", 12, resume=True)))
    resumed.train()
    resumed.close()
    a = torch.load(tmp_path / "full" / "iter_12.pth", weights_only=True)
    b = torch.load(tmp_path / "half" / "iter_12.pth", weights_only=True)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    assert a["meta"]["iter"] == b["meta"]["iter"] == 12
    assert resumed.iter == 12


def test_epoch_based_loop(tmp_path):
    cfg = toy_config(
        tmp_path,
        train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=2, val_interval=1),
        train_dataloader=dict(
            batch_size=4,
            sampler=dict(type="DefaultSampler", shuffle=True),
            dataset=dict(type="ToySegDataset", num_samples=8, size=(16, 16)),
        ),
        param_scheduler=[dict(type="MultiStepLR", milestones=[1], gamma=0.5, by_epoch=True)],
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", by_epoch=True, interval=1)),
    )
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    runner.close()
    assert runner.epoch == 2 and runner.iter == 4
    assert (tmp_path / "epoch_1.pth").is_file() and (tmp_path / "epoch_2.pth").is_file()
    assert runner.optim_wrapper.get_lr()["lr"][0] == pytest.approx(0.05)


def test_non_finite_loss_stops_with_iteration_and_terms_and_keeps_last_checkpoint(tmp_path):
    runner = Runner.from_cfg(Config(toy_config(tmp_path, max_iters=4, val_interval=2)))

    class Poison(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == 2:
                with torch.no_grad():
                    runner.model.decode_head.weight.fill_(float("nan"))

    runner.register_hook(Poison())
    with pytest.raises(TrainingError, match=r"iteration 3 .*decode\.loss_ce=nan.*iter_2\.pth"):
        runner.train()
    runner.close()
    ckpt = torch.load(tmp_path / "iter_2.pth", weights_only=False)
    assert all(
        torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point()
    )


def test_non_finite_loss_can_skip_the_update(tmp_path):
    cfg = toy_config(tmp_path, max_iters=3, val_interval=3)
    cfg["train_cfg"]["on_nonfinite_loss"] = "skip"
    runner = Runner.from_cfg(Config(cfg))
    calls = {"n": 0}
    original = runner.model.parse_losses

    def flaky(losses):
        calls["n"] += 1
        if calls["n"] == 2:
            losses = {k: v * float("inf") if "loss" in k else v for k, v in losses.items()}
        return original(losses)

    runner.model.parse_losses = flaky
    runner.train()
    runner.close()
    assert runner.train_loop.skipped_iters == [1]
    assert runner.iter == 3


def test_custom_hook_registered_by_config_runs_with_priority(tmp_path):
    calls: list[str] = []

    @HOOKS.register_module(name="RecordingHookForRunnerTest", force=True)
    class RecordingHook(Hook):
        def __init__(self, tag: str):
            self.tag = tag

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            calls.append(f"{self.tag}@{runner.iter}")

    cfg = toy_config(
        tmp_path,
        max_iters=2,
        val_interval=2,
        custom_hooks=[dict(type="RecordingHookForRunnerTest", tag="x", priority="HIGHEST")],
    )
    runner = Runner.from_cfg(Config(cfg))
    assert type(runner.hooks[0]).__name__ == "RecordingHook"
    runner.train()
    runner.close()
    assert calls == ["x@0", "x@1"]


def test_load_from_reports_mismatched_head(tmp_path, caplog):
    source = _run(tmp_path / "src", max_iters=2, val_interval=2)
    cfg = toy_config(
        tmp_path / "ft", max_iters=1, val_interval=1, load_from=str(tmp_path / "src" / "iter_2.pth")
    )
    cfg["model"]["num_classes"] = 3
    cfg["val_dataloader"] = None
    runner = Runner.from_cfg(Config(cfg))
    loaded = {}

    class Capture(Hook):
        def after_load_checkpoint(self, runner, checkpoint):
            loaded["weight"] = checkpoint["state_dict"]["backbone.0.weight"].clone()

    runner.register_hook(Capture())
    runner._build_optim_and_schedulers = lambda: None  # noqa: E731  (weights only: no training needed)
    runner.train_loop = runner._build_train_loop()
    runner._load_or_resume()
    runner.close()
    assert source.iter == 2
    torch.testing.assert_close(runner.model.backbone[0].weight, loaded["weight"])
    assert runner.model.decode_head.weight.shape[0] == 3


def test_two_data_workers_with_persistent_workers(tmp_path):
    cfg = toy_config(tmp_path, max_iters=3, val_interval=3)
    cfg["train_dataloader"].update(num_workers=2, persistent_workers=True)
    cfg["val_dataloader"].update(num_workers=2)
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    workers = list(runner.train_loop.dataloader._iterator._workers)
    assert workers and all(w.is_alive() for w in workers)  # persistent: alive after train()
    runner.close()
    assert runner.iter == 3 and (tmp_path / "iter_3.pth").is_file()
    # close() stops them now, not at garbage collection (where forks of later loaders would
    # inherit them and print 'can only test a child process')
    assert runner.train_loop.dataloader._iterator is None
    assert not any(w.is_alive() for w in workers)


def test_logged_lr_is_the_one_used_even_with_an_mmcv_policy(tmp_path):
    cfg = toy_config(tmp_path, max_iters=3, val_interval=3, param_scheduler=[])
    cfg["param_scheduler"] = [dict(type="MMCVExpLR", gamma=0.5, by_epoch=False)]
    runner = Runner.from_cfg(Config(cfg))
    used = []

    class Spy(Hook):
        priority = "NORMAL"  # after the iteration, before ParamSchedulerHook (LOW) steps

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            used.append(runner.optim_wrapper.get_lr()["lr"][0])

    runner.register_hook(Spy())
    runner.train()
    runner.close()
    assert used == pytest.approx([0.1, 0.05, 0.025])
    assert runner.log_store.scalars["lr"].values == pytest.approx(used)


def test_iteration_based_training_applies_norm_eval_from_the_first_iteration(tmp_path):
    """MMEngine calls model.train() before iterating, which is where norm_eval freezes BN."""
    bn = dict(type="BN", requires_grad=True)
    model = dict(
        type="EncoderDecoder",
        data_preprocessor=dict(type="SegDataPreProcessor", mean=[0.0] * 3, std=[1.0] * 3),
        backbone=dict(
            type="ResNet", depth=18, stem_channels=8, base_channels=4, norm_cfg=bn, norm_eval=True
        ),
        decode_head=dict(
            type="FCNHead", in_channels=32, in_index=3, channels=4, num_convs=1,
            concat_input=False, num_classes=2, norm_cfg=bn,
        ),
    )  # fmt: skip
    cfg = Config(toy_config(tmp_path, max_iters=2, val_interval=100, model=model))
    runner = Runner.from_cfg(cfg)
    before = {
        name: buf.clone()
        for name, buf in runner.model.backbone.named_buffers()
        if name.endswith("running_mean")
    }
    head_mean = runner.model.decode_head.convs[0].bn.running_mean.clone()
    runner.train()
    runner.close()
    after = dict(runner.model.backbone.named_buffers())
    assert before and all(torch.equal(after[name], value) for name, value in before.items())
    assert not any(
        m.training for m in runner.model.backbone.modules() if "Norm" in type(m).__name__
    )
    # norm_eval belongs to the backbone only: the head's statistics moved
    assert not torch.equal(runner.model.decode_head.convs[0].bn.running_mean, head_mean)
