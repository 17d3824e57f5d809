"""Closed-form values of every LR scheduler acting alone (SPEC §5.4)."""

from __future__ import annotations

import math

import pytest
import torch

from segwright.engine.optim.schedulers import (
    INF,
    ConstantLR,
    CosineAnnealingLR,
    CosineRestartLR,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    PolyLR,
    StepLR,
)
from segwright.utils.errors import ConfigError

BASE = 0.1


def make_sgd(*lrs: float) -> torch.optim.SGD:
    lrs = lrs or (BASE,)
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def trace(scheduler, optimizer, n: int, group: int = 0) -> list[float]:
    """The lr used at steps 0..n-1 (step 0 is written by the constructor)."""
    values = [optimizer.param_groups[group]["lr"]]
    for _ in range(n - 1):
        scheduler.step()
        values.append(optimizer.param_groups[group]["lr"])
    return values


def assert_close(actual: list[float], expected: list[float]) -> None:
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert a == pytest.approx(e, rel=1e-12, abs=1e-15), f"step {i}: {a} != {e}"


def test_linear_reaches_end_factor_at_end_minus_one():
    opt = make_sgd()
    f0, f1, end = 0.25, 1.0, 5
    values = trace(LinearLR(opt, start_factor=f0, end_factor=f1, end=end), opt, 9)
    t = end - 1
    expected = [BASE * (f0 + (f1 - f0) * min(s, t) / t) for s in range(9)]
    assert_close(values, expected)
    assert values[4] == pytest.approx(BASE * f1, rel=1e-12)


def test_linear_decreasing_with_begin():
    opt = make_sgd()
    values = trace(LinearLR(opt, start_factor=1.0, end_factor=0.5, begin=2, end=6), opt, 8)
    # Untouched before begin; steps 2..5 are s = 0..3 of the schedule.
    expected = [BASE, BASE] + [BASE * (1.0 - 0.5 * s / 3) for s in range(4)] + [BASE * 0.5] * 2
    assert_close(values, expected)


def test_constant_restores_at_last_step():
    opt = make_sgd()
    values = trace(ConstantLR(opt, factor=0.5, end=4), opt, 7)
    assert_close(values, [BASE * 0.5] * 3 + [BASE] * 4)


def test_constant_single_step_range_never_restores():
    opt = make_sgd()
    values = trace(ConstantLR(opt, factor=0.5, end=1), opt, 3)
    assert_close(values, [BASE * 0.5] * 3)


def test_step():
    opt = make_sgd()
    values = trace(StepLR(opt, step_size=2, gamma=0.5), opt, 7)
    assert_close(values, [BASE * 0.5 ** (s // 2) for s in range(7)])


def test_multistep_counts_duplicate_milestones():
    opt = make_sgd()
    values = trace(MultiStepLR(opt, milestones=[2, 4, 4], gamma=0.1), opt, 7)
    assert_close(values, [BASE] * 2 + [BASE * 0.1] * 2 + [BASE * 0.1 * 0.01] * 3)


def test_multistep_milestones_count_from_begin():
    opt = make_sgd()
    values = trace(MultiStepLR(opt, milestones=[1], gamma=0.5, begin=3), opt, 6)
    assert_close(values, [BASE] * 4 + [BASE * 0.5] * 2)


def test_exponential():
    opt = make_sgd()
    values = trace(ExponentialLR(opt, gamma=0.9), opt, 6)
    assert_close(values, [BASE * 0.9**s for s in range(6)])


@pytest.mark.parametrize("power", [1.0, 0.9, 2.0])
def test_poly_reaches_eta_min_exactly_at_end_minus_one(power):
    opt = make_sgd()
    eta, end = 1e-3, 10
    values = trace(PolyLR(opt, eta_min=eta, power=power, end=end), opt, 12)
    t = end - 1
    expected = [eta + (BASE - eta) * (1 - s / t) ** power for s in range(end)] + [eta] * 2
    assert_close(values, expected)
    assert values[end - 1] == eta  # exact, not approximately


def test_poly_per_group_base_values():
    opt = make_sgd(0.1, 0.01)
    sched = PolyLR(opt, power=1.0, end=5)
    values = trace(sched, opt, 5, group=1)
    assert_close(values, [0.01 * (1 - s / 4) for s in range(5)])
    assert opt.param_groups[0]["lr"] == 0.0
    assert sched.base_values == [0.1, 0.01]


def test_cosine_default_t_max_does_not_reach_eta_min():
    opt = make_sgd()
    eta, end = 0.01, 8
    values = trace(CosineAnnealingLR(opt, eta_min=eta, end=end), opt, end)
    expected = [eta + (BASE - eta) * (1 + math.cos(math.pi * s / end)) / 2 for s in range(end)]
    assert_close(values, expected)
    assert values[-1] > eta * 1.01


def test_cosine_continues_past_t_max():
    opt = make_sgd()
    eta, t_max = 0.01, 4
    values = trace(CosineAnnealingLR(opt, T_max=t_max, eta_min=eta), opt, 3 * t_max + 2)
    expected = [
        eta + (BASE - eta) * (1 + math.cos(math.pi * s / t_max)) / 2 for s in range(3 * t_max + 2)
    ]
    assert_close(values, expected)


def test_cosine_eta_min_ratio_per_group():
    opt = make_sgd(0.1, 0.02)
    sched = CosineAnnealingLR(opt, eta_min_ratio=0.1, end=6)
    values = trace(sched, opt, 6, group=1)
    eta = 0.02 * 0.1
    assert_close(
        values, [eta + (0.02 - eta) * (1 + math.cos(math.pi * s / 6)) / 2 for s in range(6)]
    )


def test_cosine_eta_min_and_ratio_together_rejected():
    with pytest.raises(ConfigError, match="eta_min"):
        CosineAnnealingLR(make_sgd(), eta_min=0.0, eta_min_ratio=0.1, end=5)


def test_cosine_restart():
    opt = make_sgd()
    eta = 0.001
    periods, weights = [4, 6], [1.0, 0.5]
    values = trace(
        CosineRestartLR(opt, periods=periods, restart_weights=weights, eta_min=eta), opt, 12
    )
    expected = []
    for p, w in zip(periods, weights):
        for s in range(p):
            expected.append(eta + (BASE * w - eta) * (1 + math.cos(math.pi * s / p)) / 2)
    expected += [expected[-1]] * 2  # past the last period the value is left as is
    assert_close(values, expected)


def test_cosine_restart_needs_one_weight_per_period():
    with pytest.raises(ConfigError, match="restart_weights"):
        CosineRestartLR(make_sgd(), periods=[2, 2], restart_weights=[1.0], eta_min=0.0)
    with pytest.raises(ConfigError, match="eta_min"):
        CosineRestartLR(make_sgd(), periods=[2])


def cos_anneal(start, end, pct):
    return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)


def lin_anneal(start, end, pct):
    return start + (end - start) * pct


@pytest.mark.parametrize("strategy,anneal", [("cos", cos_anneal), ("linear", lin_anneal)])
def test_one_cycle_two_phase(strategy, anneal):
    opt = make_sgd()
    n = 10
    sched = OneCycleLR(
        opt, eta_max=1.0, total_steps=n, pct_start=0.3, anneal_strategy=strategy, end=INF
    )
    initial, low = 1.0 / 25, 1.0 / 25 / 1e4
    group = opt.param_groups[0]
    assert group["initial_lr"] == initial and group["max_lr"] == 1.0 and group["min_lr"] == low
    values = trace(sched, opt, n)
    p1 = 0.3 * n - 1  # 2.0
    expected = [
        anneal(initial, 1.0, s / p1) if s <= p1 else anneal(1.0, low, (s - p1) / (n - 1 - p1))
        for s in range(n)
    ]
    assert_close(values, expected)
    assert values[2] == pytest.approx(1.0) and values[-1] == pytest.approx(low)


def test_one_cycle_three_phase_boundaries():
    opt = make_sgd()
    n = 10
    sched = OneCycleLR(opt, eta_max=1.0, total_steps=n, pct_start=0.3, three_phase=True)
    initial, low = 0.04, 0.04 / 1e4
    values = trace(sched, opt, n)
    ends = [0.3 * n - 1, 2 * 0.3 * n - 2, n - 1]  # 2, 4, 9
    expected = []
    for s in range(n):
        if s <= ends[0]:
            expected.append(cos_anneal(initial, 1.0, s / ends[0]))
        elif s <= ends[1]:
            expected.append(cos_anneal(1.0, initial, (s - ends[0]) / (ends[1] - ends[0])))
        else:
            expected.append(cos_anneal(initial, low, (s - ends[1]) / (ends[2] - ends[1])))
    assert_close(values, expected)
    assert values[4] == pytest.approx(initial)


def test_one_cycle_total_steps_from_range_and_overrun():
    opt = make_sgd()
    sched = OneCycleLR(opt, eta_max=0.5, begin=0, end=5)
    assert sched.total_steps == 5
    opt2 = make_sgd()
    sched2 = OneCycleLR(opt2, eta_max=0.5, total_steps=4)
    for _ in range(4):  # last_step 4 == total_steps is still allowed
        sched2.step()
    with pytest.raises(ValueError, match="total_steps"):
        sched2.step()


def test_one_cycle_is_not_chainable_and_overwrites_initial_lr():
    opt = make_sgd()
    LinearLR(opt, start_factor=0.5, end=3)
    assert opt.param_groups[0]["initial_lr"] == BASE
    sched = OneCycleLR(opt, eta_max=[2.0], total_steps=10)
    assert opt.param_groups[0]["initial_lr"] == 2.0 / 25
    assert opt.param_groups[0]["lr"] == pytest.approx(2.0 / 25)  # the LinearLR factor is gone
    assert not sched.chainable


@pytest.mark.parametrize(
    "kwargs,key",
    [
        (dict(eta_max=1.0, pct_start=1), "pct_start"),
        (dict(eta_max=1.0, total_steps=0), "total_steps"),
        (dict(eta_max=1.0, anneal_strategy="cosine"), "anneal_strategy"),
        (dict(eta_max=[1.0, 2.0], total_steps=5), "eta_max"),
        (dict(eta_max=1.0, total_steps=10, pct_start=0.1), "pct_start"),
    ],
)
def test_one_cycle_bad_args(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        OneCycleLR(make_sgd(), **kwargs)


def test_end_not_after_begin_rejected():
    with pytest.raises(ConfigError, match="larger than begin"):
        PolyLR(make_sgd(), begin=5, end=5)


@pytest.mark.parametrize("factor_key", ["start_factor", "end_factor"])
def test_linear_factor_range(factor_key):
    with pytest.raises(ConfigError, match=factor_key):
        LinearLR(make_sgd(), **{factor_key: 1.5}, end=4)


def test_default_by_epoch_is_true_and_last_value():
    opt = make_sgd()
    sched = ExponentialLR(opt, gamma=0.5)
    assert sched.by_epoch is True
    sched.step()
    assert sched.get_last_value() == [pytest.approx(BASE * 0.5)]


def test_scheduler_outside_range_leaves_value():
    opt = make_sgd()
    sched = ExponentialLR(opt, gamma=0.5, begin=2, end=4)
    opt.param_groups[0]["lr"] = 0.3  # someone else changed it
    values = trace(sched, opt, 6)
    assert_close(values, [0.3, 0.3, 0.3, 0.15, 0.15, 0.15])
