"""The schedule preview replays exactly the lr/momentum the real Runner applies."""

from __future__ import annotations

import pytest

from segwright.config import Config
from segwright.engine.hooks import Hook
from segwright.engine.runner import Runner
from segwright.engine.schedule_preview import preview_schedule
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError


class _Recorder(Hook):
    """Records what every param group uses during each training iteration."""

    priority = "NORMAL"

    def __init__(self) -> None:
        self.lr: list[list[float]] = []
        self.momentum: list[list[float]] = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lr.append(list(runner.optim_wrapper.get_lr()["lr"]))
        self.momentum.append(list(runner.optim_wrapper.get_momentum()["momentum"]))


def _cfg(tmp_path, max_iters: int, **overrides) -> dict:
    cfg = toy_config(tmp_path / "run", max_iters=max_iters)
    cfg.update(
        val_dataloader=None,
        val_cfg=None,
        val_evaluator=None,
        default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", interval=100)),
    )
    cfg.update(overrides)
    return cfg


def _trained(cfg: dict) -> dict[str, list[list[float]]]:
    """What the real runner applied, transposed to [group][iteration] like the preview."""
    recorder = _Recorder()
    runner = Runner.from_cfg(Config(cfg))
    runner.register_hook(recorder)
    runner.train()
    runner.close()
    return dict(
        lr=[list(col) for col in zip(*recorder.lr)],
        momentum=[list(col) for col in zip(*recorder.momentum)],
    )


def test_native_poly_matches_the_runner(tmp_path):
    cfg = _cfg(tmp_path, max_iters=6)
    preview = preview_schedule(cfg)
    assert preview == _trained(cfg)
    assert preview["lr"][0][0] == 0.1 and preview["lr"][0][-1] == pytest.approx(1e-4)
    assert preview["momentum"] == [[0.9] * 6]


def test_linear_warmup_then_poly_chain_matches_the_runner(tmp_path):
    schedulers = [
        dict(type="LinearLR", start_factor=0.1, begin=0, end=3, by_epoch=False),
        dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=3, end=8, by_epoch=False),
    ]
    cfg = _cfg(tmp_path, max_iters=8, param_scheduler=schedulers)
    preview = preview_schedule(cfg)
    assert preview == _trained(cfg)
    lr = preview["lr"][0]
    assert lr[0] == pytest.approx(0.01) and lr[3] == pytest.approx(0.1)
    assert lr[7] == pytest.approx(1e-4)


def test_mmcv_policies_with_lr_mult_match_the_runner(tmp_path):
    cfg = _cfg(
        tmp_path,
        max_iters=10,
        param_scheduler=[
            dict(
                type="MMCVPolyLR",
                power=0.9,
                min_lr=1e-4,
                by_epoch=False,
                warmup="linear",
                warmup_iters=3,
                warmup_ratio=1e-6,
            ),
            dict(type="MMCVCyclicMomentum", by_epoch=False),
        ],
    )
    cfg["optim_wrapper"]["paramwise_cfg"] = dict(custom_keys={"decode_head": dict(lr_mult=10.0)})
    preview = preview_schedule(cfg)
    assert preview == _trained(cfg)
    # At the end of the warmup (iteration 3) every group is on its own poly curve: ×1 or ×10.
    on_curve = {b: (b - 1e-4) * (1 - 3 / 10) ** 0.9 + 1e-4 for b in (0.1, 1.0)}
    found = {b for series in preview["lr"] for b, v in on_curve.items() if series[3] == v}
    assert found == {0.1, 1.0}


def test_epoch_based_loop_matches_the_runner(tmp_path):
    cfg = _cfg(
        tmp_path,
        max_iters=1,
        train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=3),
        param_scheduler=[
            dict(type="LinearLR", start_factor=0.5, begin=0, end=3, by_epoch=False),
            dict(type="MultiStepLR", milestones=[1, 2], gamma=0.5, by_epoch=True),
        ],
    )
    cfg["train_dataloader"]["sampler"] = dict(type="DefaultSampler", shuffle=False)
    preview = preview_schedule(cfg)
    assert len(preview["lr"][0]) == 12  # 8 samples / batch 2 = 4 per epoch
    assert preview == _trained(cfg)
    assert preview["lr"][0][4:8] == [pytest.approx(0.05)] * 4


def test_epoch_length_truncation_and_errors(tmp_path):
    cfg = _cfg(tmp_path, max_iters=1, train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=2))
    assert len(preview_schedule(cfg, epoch_length=7)["lr"][0]) == 14  # explicit length wins
    assert len(preview_schedule(cfg, num_iters=5)["lr"][0]) == 5
    cfg["train_dataloader"] = None
    with pytest.raises(ConfigError, match="--epoch-length"):
        preview_schedule(cfg)
    with pytest.raises(ConfigError, match="train_cfg"):
        preview_schedule(_cfg(tmp_path, max_iters=4, train_cfg=None))


def test_warmup_by_epoch_uses_the_dataloader_length(tmp_path):
    hook = dict(
        type="MMCVFixedLR",
        by_epoch=False,
        warmup="constant",
        warmup_iters=1,
        warmup_ratio=0.5,
        warmup_by_epoch=True,
    )
    cfg = _cfg(tmp_path, max_iters=6, param_scheduler=[hook])
    lr = preview_schedule(cfg)["lr"][0]
    assert lr == [0.05] * 4 + [0.1] * 2  # one epoch = 8 samples / batch 2
