"""Momentum schedulers: SGD ``momentum`` and Adam ``betas[0]`` (SPEC §5.4)."""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from segwright.engine.optim.schedulers import (
    CosineAnnealingMomentum,
    LinearMomentum,
    MultiStepMomentum,
    PolyLR,
    build_param_schedulers,
)
from segwright.registry import PARAM_SCHEDULERS
from segwright.utils.errors import ConfigError

GENERIC = [
    "Constant",
    "Linear",
    "Step",
    "MultiStep",
    "Exponential",
    "CosineAnnealing",
    "Poly",
    "OneCycle",
    "CosineRestart",
    "ReduceOnPlateau",
]


def test_every_mmengine_name_is_registered():
    names = set(PARAM_SCHEDULERS.names())
    for stem in GENERIC:
        assert f"{stem}ParamScheduler" in names
        assert f"{stem}LR" in names
        if stem != "OneCycle":
            assert f"{stem}Momentum" in names
    assert "OneCycleMomentum" not in names
    assert PARAM_SCHEDULERS.get("mmengine.PolyLR") is PolyLR


def test_variant_signature_has_no_param_name():
    params = inspect.signature(LinearMomentum).parameters
    assert "param_name" not in params and "start_factor" in params


def param(n: int = 2) -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(n))]


def trace_momentum(sched, opt, n: int, key=lambda g: g["momentum"]) -> list[float]:
    values = [key(opt.param_groups[0])]
    for _ in range(n - 1):
        sched.step()
        values.append(key(opt.param_groups[0]))
    return values


def test_linear_momentum_sgd():
    opt = torch.optim.SGD(param(), lr=0.1, momentum=0.9)
    values = trace_momentum(LinearMomentum(opt, start_factor=0.5, end=5), opt, 7)
    expected = [0.9 * (0.5 + 0.5 * min(s, 4) / 4) for s in range(7)]
    assert values == pytest.approx(expected, rel=1e-12)
    assert opt.param_groups[0]["initial_momentum"] == 0.9
    assert opt.param_groups[0]["lr"] == 0.1


def test_adam_betas_follow_momentum():
    opt = torch.optim.Adam(param(), lr=1e-3, betas=(0.9, 0.999))
    sched = CosineAnnealingMomentum(opt, eta_min=0.5, end=6)
    betas0 = trace_momentum(sched, opt, 6, key=lambda g: g["betas"][0])
    expected = [0.5 + 0.4 * (1 + math.cos(math.pi * s / 6)) / 2 for s in range(6)]
    assert betas0 == pytest.approx(expected, rel=1e-12)
    group = opt.param_groups[0]
    assert group["betas"][1] == 0.999
    assert group["momentum"] == group["betas"][0]
    assert isinstance(group["betas"], tuple)
    # The optimizer still steps with the scheduled betas.
    group["params"][0].grad = torch.ones(2)
    opt.step()


def test_momentum_chain_warmup_then_multistep_adamw():
    opt = torch.optim.AdamW(param(), lr=1e-3, betas=(0.8, 0.99))
    scheds = build_param_schedulers(
        [
            dict(type="LinearMomentum", start_factor=0.5, begin=0, end=3, by_epoch=False),
            dict(type="MultiStepMomentum", milestones=[2], gamma=0.5, begin=3, by_epoch=False),
        ],
        opt,
        max_iters=8,
    )
    values = [opt.param_groups[0]["betas"][0]]
    for _ in range(7):
        for s in scheds:
            s.step()
        values.append(opt.param_groups[0]["betas"][0])
    expected = [0.8 * 0.5, 0.8 * 0.75, 0.8, 0.8, 0.8, 0.4, 0.4, 0.4]
    assert values == pytest.approx(expected, rel=1e-12)


def test_momentum_scheduler_needs_momentum():
    opt = torch.optim.Adagrad(param(), lr=0.1)
    with pytest.raises(ConfigError, match="momentum"):
        MultiStepMomentum(opt, milestones=[1])


class DuckWrapper:
    """Just an ``.optimizer`` attribute, like an optimizer wrapper."""

    def __init__(self, optimizer):
        self.optimizer = optimizer


def test_accepts_object_with_optimizer_attribute():
    opt = torch.optim.Adam(param(), lr=0.1, betas=(0.9, 0.99))
    wrapper = DuckWrapper(opt)
    lr_sched = PolyLR(wrapper, end=3)
    m_sched = LinearMomentum(wrapper, start_factor=0.5, end=2)
    assert lr_sched.optimizer is wrapper
    lr_sched.step()
    m_sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    assert opt.param_groups[0]["betas"] == (pytest.approx(0.9), 0.99)


def test_segwright_optim_wrapper_base_group_is_scheduled():
    wrapper_mod = pytest.importorskip("segwright.engine.optim.wrapper")
    opt = torch.optim.SGD(
        [{"params": param(), "lr": 0.1}, {"params": param(), "lr": 0.01}], lr=0.1, momentum=0.9
    )
    wrapper = wrapper_mod.OptimWrapper(optimizer=opt)
    sched = PolyLR(wrapper, end=3)
    sched.step()
    lrs = [g["lr"] for g in wrapper.param_groups]
    assert lrs == pytest.approx([0.05, 0.005, 0.05][: len(lrs)])
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.05, 0.005])
