"""MMCV momentum policies (``MMCV...Momentum`` schedulers): exact values (SPEC §5.2), warmup
divides, Adam betas."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from torch import nn

from segwright.config.legacy import translate_legacy_config
from segwright.engine.optim.constructor import build_optim_wrapper
from segwright.engine.optim.schedulers import (
    MMCVCosineAnnealingMomentum,
    MMCVCyclicLR,
    MMCVCyclicMomentum,
    MMCVLinearAnnealingMomentum,
    MMCVOneCycleMomentum,
    MMCVStepMomentum,
)
from segwright.registry import PARAM_SCHEDULERS
from segwright.utils.errors import ConfigError


def exact(value: float):
    return pytest.approx(value, rel=1e-12, abs=1e-15)


def _cos(start, end, f):
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * f))


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Linear(2, 2, bias=False)
        self.head = nn.Linear(2, 1, bias=False)


def make_runner(optimizer: dict, max_iters: int = 10, max_epochs: int = 1, two_groups=False):
    paramwise = dict(custom_keys={"head": dict(lr_mult=10.0)}) if two_groups else None
    wrapper = build_optim_wrapper(_Tiny(), dict(optimizer=optimizer, paramwise_cfg=paramwise))
    return SimpleNamespace(
        optim_wrapper=wrapper,
        train_loop=SimpleNamespace(dataloader=range(max_iters)),
        iter=0,
        epoch=0,
        max_iters=max_iters,
        max_epochs=max_epochs,
    )


def sgd(max_iters=10, **kw):
    return make_runner(dict(type="SGD", lr=0.1, momentum=0.9), max_iters=max_iters, **kw)


def momenta(runner) -> list[float]:
    out = []
    for group in runner.optim_wrapper.optimizer.param_groups:
        out.append(group["momentum"] if "momentum" in group else group["betas"][0])
    return out


class Policy:
    """An MMCV policy's arguments (``by_epoch`` as in ``momentum_config``), built on a runner."""

    def __init__(self, cls, **kwargs) -> None:
        self.cls = cls
        self.kwargs = kwargs

    def build(self, runner):
        args = dict(self.kwargs)
        per_iteration = self.cls in (MMCVCyclicLR, MMCVCyclicMomentum, MMCVOneCycleMomentum)
        args["progress"] = "epoch" if args.pop("by_epoch", not per_iteration) else "iter"
        return self.cls(
            runner.optim_wrapper,
            epoch_length=len(runner.train_loop.dataloader),
            max_iters=runner.max_iters,
            max_epochs=runner.max_epochs,
            **args,
        )


def run_iters(policies, runner) -> list[list[float]]:
    policies = policies if isinstance(policies, list) else [policies]
    schedulers = [policy.build(runner) for policy in policies]
    seen = []
    for i in range(runner.max_iters):
        runner.iter = i
        seen.append(momenta(runner))
        for scheduler in schedulers:
            scheduler.step()
    return seen


def test_step_momentum_list_and_min_momentum():
    hook = Policy(MMCVStepMomentum, step=[2, 4], min_momentum=0.3, by_epoch=False)
    assert hook.build(sgd()).gamma == 0.5  # MMCV's default for momentum
    seen = [s[0] for s in run_iters(hook, sgd(max_iters=6))]
    assert seen == [exact(v) for v in [0.9, 0.9, 0.45, 0.45, 0.3, 0.3]]  # 0.225 floored


def test_cosine_and_linear_annealing_momentum():
    seen = run_iters(
        Policy(MMCVCosineAnnealingMomentum, min_momentum=0.5, by_epoch=False), sgd(max_iters=8)
    )
    assert [s[0] for s in seen] == [exact(_cos(0.9, 0.5, t / 8)) for t in range(8)]
    seen = run_iters(
        Policy(MMCVLinearAnnealingMomentum, min_momentum_ratio=0.5, by_epoch=False),
        sgd(max_iters=8),
    )
    assert [s[0] for s in seen] == [exact(0.9 + (0.45 - 0.9) * t / 8) for t in range(8)]
    with pytest.raises(ConfigError, match="exactly one of min_momentum"):
        Policy(MMCVCosineAnnealingMomentum).build(sgd())


@pytest.mark.parametrize(
    "warmup, factor",
    [
        ("constant", lambda i, w, r: r),
        ("linear", lambda i, w, r: 1 - (1 - i / w) * (1 - r)),
        ("exp", lambda i, w, r: r ** (1 - i / w)),
    ],
)
def test_momentum_warmup_divides(warmup, factor):
    hook = Policy(
        MMCVCosineAnnealingMomentum, min_momentum=0.5, by_epoch=False, warmup=warmup, warmup_iters=4
    )
    assert hook.build(sgd()).warmup_ratio == 0.9
    seen = [s[0] for s in run_iters(hook, sgd(max_iters=8))]
    for t in range(8):
        regular = _cos(0.9, 0.5, t / 8)
        expected = regular / factor(t, 4, 0.9) if t < 4 else regular
        assert seen[t] == exact(expected)
    assert seen[0] > 0.9  # starts above the regular momentum


def test_cyclic_momentum_mirrors_cyclic_lr():
    runner = sgd(max_iters=20, two_groups=True)
    lr_hook = Policy(MMCVCyclicLR, target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4)
    m_hook = Policy(MMCVCyclicMomentum, target_ratio=(0.85 / 0.95, 1), step_ratio_up=0.4)
    seen = run_iters([lr_hook, m_hook], runner)
    r0 = 0.85 / 0.95
    for t in (0, 4, 8, 13, 19):
        expected = _cos(0.9, 0.9 * r0, t / 8) if t < 8 else _cos(0.9 * r0, 0.9, (t - 8) / 12)
        assert seen[t] == [exact(expected)] * 2
    assert min(s[0] for s in seen) == exact(0.9 * r0)
    with pytest.raises(ConfigError, match="target_ratio"):
        Policy(MMCVCyclicMomentum, target_ratio=[0.8, 1.0]).build(sgd())
    with pytest.raises(ConfigError, match="by_epoch"):
        Policy(MMCVCyclicMomentum, by_epoch=True).build(sgd())


def test_one_cycle_momentum_two_and_three_phases():
    runner = sgd(max_iters=10)
    hook = Policy(MMCVOneCycleMomentum)
    hook.build(runner)
    group = runner.optim_wrapper.optimizer.param_groups[0]
    assert (group["momentum"], group["base_momentum"], group["max_momentum"]) == (
        0.95,
        0.85,
        0.95,
    )
    seen = [s[0] for s in run_iters(hook, sgd(max_iters=10))]
    e1 = 0.3 * 10 - 1
    assert seen[0] == exact(0.95)
    assert seen[1] == exact(_cos(0.95, 0.85, 1 / e1))
    assert seen[2] == exact(0.85)
    assert seen[6] == exact(_cos(0.85, 0.95, (6 - e1) / (9 - e1)))
    assert seen[9] == exact(0.95)

    seen = [s[0] for s in run_iters(Policy(MMCVOneCycleMomentum, three_phase=True), sgd())]
    e2 = 2 * 0.3 * 10 - 2
    assert seen[2] == exact(0.85)
    assert seen[3] == exact(_cos(0.85, 0.95, (3 - e1) / (e2 - e1)))
    assert seen[4:] == [exact(0.95)] * 6  # the third phase holds max_momentum
    with pytest.raises(ConfigError, match="base_momentum"):
        Policy(MMCVOneCycleMomentum, base_momentum="low").build(sgd())
    with pytest.raises(ConfigError, match="pct_start"):
        Policy(MMCVOneCycleMomentum, pct_start=2.0).build(sgd())


def test_adam_family_uses_betas0():
    runner = make_runner(dict(type="AdamW", lr=1e-3, betas=(0.9, 0.999)), max_iters=4)
    hook = Policy(MMCVStepMomentum, step=2, gamma=0.5, by_epoch=False)
    seen = run_iters(hook, runner)
    group = runner.optim_wrapper.optimizer.param_groups[0]
    assert group["initial_momentum"] == 0.9 and "momentum" not in group
    assert group["betas"] == (0.45, 0.999)
    assert [s[0] for s in seen] == [0.9, 0.9, 0.45, 0.45]


def test_optimizer_without_momentum_is_rejected():
    runner = make_runner(dict(type="Adagrad", lr=0.1), max_iters=4)
    with pytest.raises(ConfigError, match="neither 'momentum' nor 'betas'"):
        Policy(MMCVStepMomentum, step=2).build(runner)


def test_by_epoch_momentum_is_computed_per_epoch():
    runner = sgd(max_iters=6, max_epochs=3)
    runner.train_loop.dataloader = range(2)  # 2 iterations per epoch
    scheduler = Policy(MMCVStepMomentum, step=1, gamma=0.5).build(runner)
    seen = []
    for epoch in range(3):
        runner.epoch = epoch
        for b in range(2):
            runner.iter = epoch * 2 + b
            seen.append(momenta(runner)[0])
            scheduler.step()
    assert seen == [exact(v) for v in [0.9, 0.9, 0.45, 0.45, 0.225, 0.225]]


def _translated(momentum_config):
    cfg = dict(
        model=dict(type="ToySegModel"),
        runner=dict(type="IterBasedRunner", max_iters=10),
        momentum_config=momentum_config,
    )
    return translate_legacy_config(cfg)[0]["param_scheduler"]


def test_momentum_config_translation():
    cfg = _translated(dict(policy="cyclic", target_ratio=(0.85 / 0.95, 1)))
    assert cfg == [dict(type="MMCVCyclicMomentum", by_epoch=False, target_ratio=(0.85 / 0.95, 1))]
    assert PARAM_SCHEDULERS.get("MMCVCyclicMomentum") is MMCVCyclicMomentum
    assert _translated(dict(policy="OneCycle"))[0]["type"] == "MMCVOneCycleMomentum"
    with pytest.raises(
        ConfigError, match="momentum_config.policy.*unknown policy 'poly'.*Known policies"
    ):
        _translated(dict(policy="poly"))
    with pytest.raises(ConfigError, match="'momentum_config.step'"):
        _translated(dict(policy="step", step=-1))
