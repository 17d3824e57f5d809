"""MMCV lr policies (``MMCV...LR`` schedulers): exact values from the SPEC §5.1 formulas, timing
and validation."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from torch import nn

from segwright.config import Config
from segwright.config.legacy import translate_legacy_config
from segwright.engine.hooks import Hook
from segwright.engine.optim.constructor import build_optim_wrapper
from segwright.engine.optim.schedulers import (
    MMCVCosineAnnealingLR,
    MMCVCosineRestartLR,
    MMCVCyclicLR,
    MMCVExpLR,
    MMCVFixedLR,
    MMCVFlatCosineAnnealingLR,
    MMCVInvLR,
    MMCVLinearAnnealingLR,
    MMCVOneCycleLR,
    MMCVPolyLR,
    MMCVStepLR,
)
from segwright.engine.runner import Runner
from segwright.registry import PARAM_SCHEDULERS
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError

BASES = (0.1, 1.0)  # group 1 has lr_mult=10


def exact(value: float):
    return pytest.approx(value, rel=1e-12, abs=1e-15)


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Linear(2, 2, bias=False)
        self.head = nn.Linear(2, 1, bias=False)


def make_runner(max_iters: int = 10, max_epochs: int = 1, epoch_length: int = 10):
    """A stand-in runner over a two-group SGD (base lrs 0.1 and 1.0)."""
    optimizer = dict(type="SGD", lr=0.1, momentum=0.9)
    wrapper = build_optim_wrapper(
        _Tiny(),
        dict(
            optimizer=optimizer,
            paramwise_cfg=dict(custom_keys={"head": dict(lr_mult=10.0)}),
        ),
    )
    loop = SimpleNamespace(dataloader=range(epoch_length))
    return SimpleNamespace(
        optim_wrapper=wrapper,
        train_loop=loop,
        iter=0,
        epoch=0,
        max_iters=max_iters,
        max_epochs=max_epochs,
    )


def lrs(runner) -> list[float]:
    return [g["lr"] for g in runner.optim_wrapper.optimizer.param_groups]


class Policy:
    """An MMCV policy's arguments (``by_epoch`` as in ``lr_config``), built against a runner."""

    def __init__(self, cls, **kwargs) -> None:
        self.cls = cls
        self.kwargs = kwargs

    def build(self, runner):
        args = dict(self.kwargs)
        per_iteration = self.cls in (MMCVCyclicLR, MMCVOneCycleLR)
        args["progress"] = "epoch" if args.pop("by_epoch", not per_iteration) else "iter"
        return self.cls(
            runner.optim_wrapper,
            epoch_length=len(runner.train_loop.dataloader),
            max_iters=runner.max_iters,
            max_epochs=runner.max_epochs,
            **args,
        )


def run_iters(policy, runner, n: int | None = None) -> list[list[float]]:
    """Iteration-based run: the value in force at each iteration, stepped after it."""
    scheduler = policy.build(runner)
    seen = []
    for i in range(runner.max_iters if n is None else n):
        runner.iter = i
        seen.append(lrs(runner))
        scheduler.step()
    return seen


def run_epochs(policy, runner, epochs: int, epoch_length: int) -> list[list[float]]:
    scheduler = policy.build(runner)
    seen = []
    for epoch in range(epochs):
        runner.epoch = epoch
        for b in range(epoch_length):
            runner.iter = epoch * epoch_length + b
            seen.append(lrs(runner))
            scheduler.step()
    return seen


def test_groups_keep_their_multiplier_and_initial_lr_is_set_once():
    runner = make_runner()
    hook = Policy(MMCVPolyLR, power=1.0, by_epoch=False)
    seen = run_iters(hook, runner)
    assert hook.build(make_runner()).base_values[:2] == list(BASES)
    for t, (g0, g1) in enumerate(seen):
        assert g0 == exact(0.1 * (1 - t / 10)) and g1 == exact(1.0 * (1 - t / 10))
    groups = runner.optim_wrapper.param_groups
    assert [g["initial_lr"] for g in groups] == [0.1, 1.0, 0.1]  # + the base-settings group
    # A second scheduler (resume) keeps the recorded base, not the current (decayed) lr.
    assert hook.build(runner).base_values[:2] == list(BASES)


def test_poly_with_min_lr_never_reaches_it():
    runner = make_runner(max_iters=10)
    seen = run_iters(Policy(MMCVPolyLR, power=0.9, min_lr=1e-4, by_epoch=False), runner)
    for t in (0, 3, 9):
        for b, value in zip(BASES, seen[t]):
            assert value == exact((b - 1e-4) * (1 - t / 10) ** 0.9 + 1e-4)
    assert seen[9][0] > 1e-4 * 1.5


@pytest.mark.parametrize(
    "warmup, factor",
    [
        ("constant", lambda i, w, r: r),
        ("linear", lambda i, w, r: 1 - (1 - i / w) * (1 - r)),
        ("exp", lambda i, w, r: r ** (1 - i / w)),
    ],
)
def test_warmup_multiplies_the_decaying_schedule(warmup, factor):
    runner = make_runner(max_iters=20)
    hook = Policy(
        MMCVPolyLR, power=1.0, by_epoch=False, warmup=warmup, warmup_iters=5, warmup_ratio=0.01
    )
    seen = run_iters(hook, runner)
    for t in range(20):
        for b, value in zip(BASES, seen[t]):
            regular = b * (1 - t / 20)
            expected = regular * factor(t, 5, 0.01) if t < 5 else regular
            assert value == exact(expected)
    # Linear warmup starts at ratio × base and is 1 at warmup_iters (the superimposed decay).
    if warmup == "linear":
        assert seen[0][0] == exact(0.1 * 0.01)


def test_segformer_style_poly_warmup_superimposed():
    runner = make_runner(max_iters=160000)
    (entry,) = translate_legacy_config(
        dict(
            model=dict(type="ToySegModel"),
            runner=dict(type="IterBasedRunner", max_iters=160000),
            lr_config=dict(
                policy="poly",
                warmup="linear",
                warmup_iters=1500,
                warmup_ratio=1e-6,
                power=1.0,
                min_lr=0.0,
            ),
        )
    )[0]["param_scheduler"]
    entry = {k: v for k, v in entry.items() if k not in ("type", "by_epoch")}
    hook = MMCVPolyLR(runner.optim_wrapper, max_iters=160000, **entry)
    for t in (0, 750, 1499, 1500, 159999):
        runner.iter = t
        hook.last_step = t - 1
        hook.step()
        regular = 0.1 * (1 - t / 160000)
        k = (1 - t / 1500) * (1 - 1e-6)
        expected = regular * (1 - k) if t < 1500 else regular
        assert lrs(runner)[0] == exact(expected)


def test_step_int_list_and_min_lr():
    runner = make_runner(max_iters=9)
    seen = run_iters(Policy(MMCVStepLR, step=3, gamma=0.5, by_epoch=False), runner)
    assert [s[0] for s in seen] == [exact(0.1 * 0.5 ** (t // 3)) for t in range(9)]

    runner = make_runner(max_iters=9)
    hook = Policy(MMCVStepLR, step=[3, 6], gamma=0.1, min_lr=0.002, by_epoch=False)
    seen = run_iters(hook, runner)
    g0 = [0.1] * 3 + [0.1 * 0.1] * 3 + [0.002] * 3  # 0.1·0.01 = 0.001 is floored at min_lr
    g1 = [1.0] * 3 + [1.0 * 0.1] * 3 + [1.0 * 0.1**2] * 3
    assert [s[0] for s in seen] == [exact(v) for v in g0]
    assert [s[1] for s in seen] == [exact(v) for v in g1]


def test_exp_inv_fixed():
    seen = run_iters(Policy(MMCVExpLR, gamma=0.9, by_epoch=False), make_runner(max_iters=5))
    assert [s[1] for s in seen] == [exact(0.9**t) for t in range(5)]
    seen = run_iters(
        Policy(MMCVInvLR, gamma=0.1, power=0.75, by_epoch=False), make_runner(max_iters=5)
    )
    assert [s[0] for s in seen] == [exact(0.1 * (1 + 0.1 * t) ** -0.75) for t in range(5)]
    hook = Policy(MMCVFixedLR, by_epoch=False, warmup="constant", warmup_iters=2, warmup_ratio=0.5)
    seen = run_iters(hook, make_runner(max_iters=4))
    assert [s[0] for s in seen] == [exact(0.05), exact(0.05), 0.1, 0.1]


def _cos(start, end, f, w=1.0):
    return end + 0.5 * w * (start - end) * (1 + math.cos(math.pi * f))


def test_cosine_linear_annealing_min_lr_and_ratio():
    seen = run_iters(
        Policy(MMCVCosineAnnealingLR, min_lr=1e-3, by_epoch=False), make_runner(max_iters=8)
    )
    for t in (0, 3, 7):
        assert seen[t] == [exact(_cos(b, 1e-3, t / 8)) for b in BASES]
    seen = run_iters(
        Policy(MMCVCosineAnnealingLR, min_lr_ratio=0.01, by_epoch=False), make_runner(max_iters=8)
    )
    assert seen[5] == [exact(_cos(b, b * 0.01, 5 / 8)) for b in BASES]
    seen = run_iters(
        Policy(MMCVLinearAnnealingLR, min_lr_ratio=0.1, by_epoch=False), make_runner(max_iters=8)
    )
    assert seen[6] == [exact(b + (b * 0.1 - b) * 6 / 8) for b in BASES]
    for hook in (MMCVCosineAnnealingLR, MMCVLinearAnnealingLR):
        with pytest.raises(ConfigError, match="exactly one of min_lr"):
            Policy(hook).build(make_runner())
        with pytest.raises(ConfigError, match="exactly one of min_lr"):
            Policy(hook, min_lr=0.0, min_lr_ratio=0.1).build(make_runner())


def test_flat_cosine():
    runner = make_runner(max_iters=10)
    seen = run_iters(
        Policy(MMCVFlatCosineAnnealingLR, start_percent=0.75, min_lr=0.0, by_epoch=False), runner
    )
    start = round(10 * 0.75)  # 8 (banker's rounding of 7.5)
    assert start == 8
    assert [s[0] for s in seen[:8]] == [0.1] * 8
    assert seen[9][0] == exact(_cos(0.1, 0.0, (9 - 8) / (10 - 8)))
    for bad in (1, 1.5, -0.1):
        with pytest.raises(ConfigError, match="start_percent"):
            Policy(MMCVFlatCosineAnnealingLR, start_percent=bad, min_lr=0.0).build(make_runner())


def test_cosine_restart_periods_and_beyond():
    hook = Policy(
        MMCVCosineRestartLR, periods=[4, 6], restart_weights=[1, 0.5], min_lr=0.01, by_epoch=False
    )
    seen = run_iters(hook, make_runner(max_iters=10))
    assert seen[0][0] == exact(0.1)
    assert seen[3][0] == exact(_cos(0.1, 0.01, 3 / 4))
    assert seen[4][0] == exact(_cos(0.1, 0.01, 0.0, 0.5))  # restart with half the amplitude
    assert seen[9][1] == exact(_cos(1.0, 0.01, 5 / 6, 0.5))
    scheduler = hook.build(make_runner(max_iters=10))
    scheduler.last_step = 10
    with pytest.raises(ValueError, match="beyond"):
        scheduler.regular(0.1, 0)
    with pytest.raises(ConfigError, match="periods"):
        hook.build(make_runner(max_iters=12))  # caught before iteration 0
    with pytest.raises(ConfigError, match="restart_weights"):
        Policy(MMCVCosineRestartLR, periods=[4, 6], min_lr=0.0).build(make_runner())


def _cyclic(b, t, max_iters, times, up_ratio, r, gamma=1.0):
    per = max_iters // times
    up = int(up_ratio * per)
    c, s = t % per, gamma ** (t // per)
    if c < up:
        return _cos(b, b * (1 - s + r[0] * s), c / up)
    return _cos(b * (1 - s + r[0] * s), b * r[1], (c - up) / (per - up))


@pytest.mark.parametrize("target", [10.0, (10.0,), (10.0, 1e-4)])
def test_cyclic_target_ratio_forms(target):
    hook = Policy(MMCVCyclicLR, target_ratio=target, cyclic_times=1, step_ratio_up=0.4)
    assert hook.build(make_runner(max_iters=20)).target_ratio == (10.0, 1e-4)
    seen = run_iters(hook, make_runner(max_iters=20))
    for t in (0, 3, 8, 12, 19):
        assert seen[t] == [exact(_cyclic(b, t, 20, 1, 0.4, (10.0, 1e-4))) for b in BASES]


def test_cyclic_gamma_shrinks_later_cycles_and_validation():
    hook = Policy(MMCVCyclicLR, target_ratio=(5, 0.1), cyclic_times=2, gamma=0.5)
    seen = run_iters(hook, make_runner(max_iters=20))
    for t in range(20):
        assert seen[t][0] == exact(_cyclic(0.1, t, 20, 2, 0.4, (5, 0.1), 0.5))
    assert seen[14][0] < seen[4][0]  # second cycle peaks lower
    with pytest.raises(ConfigError, match="target_ratio.*tuple"):
        Policy(MMCVCyclicLR, target_ratio=[10, 1e-4]).build(make_runner())
    with pytest.raises(ConfigError, match="target_ratio"):
        Policy(MMCVCyclicLR, target_ratio=(1, 2, 3)).build(make_runner())
    with pytest.raises(ConfigError, match="by_epoch"):
        Policy(MMCVCyclicLR, by_epoch=True).build(make_runner())
    with pytest.raises(ConfigError, match="step_ratio_up"):
        Policy(MMCVCyclicLR, step_ratio_up=1.0).build(make_runner())
    with pytest.raises(ConfigError, match="gamma"):
        Policy(MMCVCyclicLR, gamma=0).build(make_runner())
    with pytest.raises(ConfigError, match="anneal_strategy"):
        Policy(MMCVCyclicLR, anneal_strategy="step").build(make_runner())
    with pytest.raises(ConfigError, match="cyclic_times"):
        Policy(MMCVCyclicLR, cyclic_times=30).build(make_runner(max_iters=20))


def test_cyclic_linear_anneal():
    hook = Policy(MMCVCyclicLR, target_ratio=(10.0, 1.0), anneal_strategy="linear")
    seen = run_iters(hook, make_runner(max_iters=10))
    # up phase 0..3 (4 iters) from b to 10b, then down 4..9 back to b.
    assert [s[0] for s in seen[:5]] == [exact(0.1 + (1.0 - 0.1) * t / 4) for t in range(5)]
    assert seen[7][0] == exact(1.0 + (0.1 - 1.0) * 3 / 6)


def test_one_cycle_two_and_three_phases():
    runner = make_runner(max_iters=10)
    runner.optim_wrapper.optimizer.param_groups[1]["initial_lr"] = 1.0  # e.g. from a scheduler
    hook = Policy(MMCVOneCycleLR, max_lr=1.0, pct_start=0.3)
    seen = run_iters(hook, runner)
    base = 1.0 / 25
    e1 = 0.3 * 10 - 1  # 2.0
    assert seen[0] == [exact(base)] * 2
    assert seen[1][0] == exact(_cos(base, base * 25, 1 / e1))
    assert seen[2][0] == exact(1.0)
    assert seen[5][0] == exact(_cos(base * 25, base / 1e4, (5 - e1) / (9 - e1)))
    assert seen[9][0] == exact(base / 1e4)
    # initial_lr is only a default (setdefault); the base is max_lr / div_factor anyway.
    groups = runner.optim_wrapper.optimizer.param_groups
    assert groups[0]["initial_lr"] == base and groups[1]["initial_lr"] == 1.0

    runner = make_runner(max_iters=10)
    hook = Policy(MMCVOneCycleLR, max_lr=[1.0, 2.0], pct_start=0.3, three_phase=True)
    seen = run_iters(hook, runner)
    e1, e2 = 0.3 * 10 - 1, 2 * 0.3 * 10 - 2  # 2.0, 4.0
    assert seen[2] == [exact(1.0), exact(2.0)]
    assert seen[3][1] == exact(_cos(2.0, 2.0 / 25, (3 - e1) / (e2 - e1)))
    assert seen[4][1] == exact(2.0 / 25)
    assert seen[7][0] == exact(_cos(1 / 25, 1 / 25 / 1e4, (7 - e2) / (9 - e2)))

    # total_steps longer than the run: the schedule is stretched over total_steps.
    seen = run_iters(Policy(MMCVOneCycleLR, max_lr=1.0, total_steps=20), make_runner(max_iters=10))
    assert seen[5][0] == exact(1.0)  # peak at 0.3·20 − 1 = 5


def test_one_cycle_validation():
    with pytest.raises(ConfigError, match="total_steps"):
        Policy(MMCVOneCycleLR, max_lr=1.0, total_steps=5).build(make_runner(max_iters=10))
    with pytest.raises(ConfigError, match="pct_start"):
        Policy(MMCVOneCycleLR, max_lr=1.0, pct_start=1).build(make_runner())
    with pytest.raises(ConfigError, match="by_epoch"):
        Policy(MMCVOneCycleLR, max_lr=1.0, by_epoch=True).build(make_runner())
    with pytest.raises(ConfigError, match="max_lr"):
        Policy(MMCVOneCycleLR, max_lr="high").build(make_runner())
    with pytest.raises(ConfigError, match="max_lr.*3 values"):
        Policy(MMCVOneCycleLR, max_lr=[1.0, 2.0, 3.0]).build(make_runner())
    hook = Policy(MMCVOneCycleLR, max_lr={"SGD": 0.5}).build(make_runner())
    assert hook.base_values[:2] == [0.5 / 25] * 2


def test_warmup_validation():
    with pytest.raises(ConfigError, match="warmup'.*'linear'"):
        Policy(MMCVPolyLR, warmup="cosine", warmup_iters=10).build(make_runner())
    with pytest.raises(ConfigError, match="warmup_iters.*positive"):
        Policy(MMCVPolyLR, warmup="linear", warmup_iters=0).build(make_runner())
    with pytest.raises(ConfigError, match="warmup_ratio"):
        Policy(MMCVPolyLR, warmup="linear", warmup_iters=10, warmup_ratio=0).build(make_runner())
    with pytest.raises(ConfigError, match="warmup_ratio"):
        Policy(MMCVPolyLR, warmup="linear", warmup_iters=10, warmup_ratio=1.5).build(make_runner())
    with pytest.raises(ConfigError, match="step"):
        Policy(MMCVStepLR, step=[2, 0]).build(make_runner())
    with pytest.raises(ConfigError, match="step"):
        Policy(MMCVStepLR, step=2.5).build(make_runner())


def test_by_epoch_regular_lr_per_epoch_warmup_per_iteration():
    runner = make_runner(max_epochs=3, max_iters=12, epoch_length=4)
    hook = Policy(MMCVStepLR, step=[1, 2], warmup="linear", warmup_iters=6, warmup_ratio=0.1)
    seen = [s[0] for s in run_epochs(hook, runner, epochs=3, epoch_length=4)]
    regular = [0.1] * 4 + [0.01] * 4 + [0.001] * 4
    expected = [r * (1 - (1 - i / 6) * 0.9) if i < 6 else r for i, r in enumerate(regular)]
    assert seen == [exact(v) for v in expected]

    # warmup_by_epoch: warmup_iters counts epochs, converted with the epoch length.
    runner = make_runner(max_epochs=2, max_iters=8, epoch_length=4)
    hook = Policy(MMCVPolyLR, power=1.0, warmup="constant", warmup_iters=1, warmup_by_epoch=True)
    seen = [s[0] for s in run_epochs(hook, runner, epochs=2, epoch_length=4)]
    assert hook.build(make_runner(max_epochs=2, max_iters=8, epoch_length=4)).warmup_iters == 4
    assert seen == [exact(0.01)] * 4 + [exact(0.05)] * 4


class _Recorder(Hook):
    priority = "NORMAL"

    def __init__(self) -> None:
        self.lrs: list[list[float]] = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(list(runner.optim_wrapper.get_lr()["lr"]))


def _epoch_toy(tmp_path, schedulers, max_epochs=3):
    cfg = toy_config(tmp_path)
    cfg.update(
        train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=max_epochs),
        param_scheduler=schedulers,
        val_dataloader=None,
        val_cfg=None,
        val_evaluator=None,
        default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", interval=100)),
    )
    cfg["train_dataloader"]["sampler"] = dict(type="DefaultSampler", shuffle=False)
    return cfg


def test_in_a_real_epoch_based_run(tmp_path):
    recorder = _Recorder()
    schedulers = _translated(
        dict(policy="step", step=[1, 2], warmup="linear", warmup_iters=2, warmup_ratio=0.1),
        runner=dict(type="EpochBasedRunner", max_epochs=3),
    )
    assert schedulers == [
        dict(
            type="MMCVStepLR",
            by_epoch=False,
            progress="epoch",
            step=[1, 2],
            warmup="linear",
            warmup_iters=2,
            warmup_ratio=0.1,
        )
    ]
    runner = Runner.from_cfg(Config(_epoch_toy(tmp_path, schedulers)))
    runner.register_hook(recorder)
    runner.train()
    runner.close()
    # 8 samples / batch 2 = 4 iterations per epoch, 3 epochs; SGD lr 0.1.
    regular = [0.1] * 4 + [0.01] * 4 + [0.001] * 4
    expected = [r * (1 - (1 - i / 2) * 0.9) if i < 2 else r for i, r in enumerate(regular)]
    assert [v[0] for v in recorder.lrs] == [exact(v) for v in expected]


def _translated(lr_config, runner=None):
    """``param_scheduler`` of a 0.x config with this ``lr_config`` (IterBasedRunner default)."""
    runner = runner or dict(type="IterBasedRunner", max_iters=10)
    cfg = dict(model=dict(type="ToySegModel"), runner=runner, lr_config=lr_config)
    return translate_legacy_config(cfg)[0].get("param_scheduler")


def test_lr_config_policy_mapping_and_errors():
    epochs = dict(type="EpochBasedRunner", max_epochs=2)
    assert _translated(dict(policy="poly", power=0.9), epochs) == [
        dict(type="MMCVPolyLR", by_epoch=False, progress="epoch", power=0.9)
    ]
    assert _translated(dict(policy="poly", by_epoch=True))[0]["progress"] == "frozen"
    assert _translated(dict(policy="step", step=[2])) == [
        dict(type="MMCVStepLR", by_epoch=False, step=[2])
    ]
    assert _translated(dict(policy="CosineAnnealing", min_lr=0.0))[0]["type"] == (
        "MMCVCosineAnnealingLR"
    )
    assert _translated(dict(policy="cyclic"), epochs)[0] == dict(
        type="MMCVCyclicLR", by_epoch=False
    )
    assert _translated(None) is None
    assert PARAM_SCHEDULERS.get("MMCVPolyLR") is MMCVPolyLR
    with pytest.raises(ConfigError, match="lr_config.policy.*rite policy='CosineAnnealing'"):
        _translated(dict(policy="cosineannealing", min_lr=0.0))
    with pytest.raises(ConfigError, match="'lr_config.power'"):
        _translated(dict(policy="poly", power="fast"))
    with pytest.raises(ConfigError, match="'lr_config.warmup_iters'"):
        _translated(dict(policy="poly", warmup="linear", warmup_iters=0))
    with pytest.raises(ConfigError, match="lr_config.*'powr'.*Did you mean 'power'"):
        _translated(dict(policy="poly", powr=0.9))
    with pytest.raises(ConfigError, match="no 'policy'"):
        _translated(dict(type="PolyLrUpdaterHook"))
    with pytest.raises(ConfigError, match="lr_config.target_ratio"):
        _translated(dict(policy="cyclic", target_ratio=[10, 1e-4]))
