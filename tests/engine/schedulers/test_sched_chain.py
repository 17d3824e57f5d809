"""Chaining: schedulers compound on the current value in list order (SPEC §5.3, §5.5)."""

from __future__ import annotations

import pytest
import torch

from segwright.engine.optim.schedulers import (
    ClosedFormParamScheduler,
    ExponentialLR,
    LinearLR,
    PolyLR,
    build_param_schedulers,
)

BASE = 0.01


def make_sgd(lr: float = BASE) -> torch.optim.SGD:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr, momentum=0.9)


def run(schedulers, optimizer, n: int) -> list[float]:
    values = [optimizer.param_groups[0]["lr"]]
    for _ in range(n - 1):
        for scheduler in schedulers:
            scheduler.step()
        values.append(optimizer.param_groups[0]["lr"])
    return values


def test_segformer_warmup_then_poly():
    """mmseg segformer recipe: LinearLR on [0, 5) then PolyLR on [5, 20), by iteration."""
    opt = make_sgd()
    f0 = 1e-6
    scheds = build_param_schedulers(
        [
            dict(type="LinearLR", start_factor=f0, by_epoch=False, begin=0, end=5),
            dict(type="PolyLR", power=1.0, eta_min=0.0, by_epoch=False, begin=5, end=20),
        ],
        opt,
        max_iters=20,
    )
    values = run(scheds, opt, 22)
    warm = [BASE * (f0 + (1 - f0) * s / 4) for s in range(5)]
    poly = [BASE * (1 - (i - 5) / 14) for i in range(5, 20)]
    expected = warm + poly + [0.0, 0.0]
    for i, (a, e) in enumerate(zip(values, expected)):
        assert a == pytest.approx(e, rel=1e-9, abs=1e-18), f"iter {i}"
    assert values[4] == pytest.approx(BASE)  # warmup ends at the full base lr
    assert values[5] == pytest.approx(BASE)  # poly starts from it
    assert values[19] == 0.0


def test_simultaneous_schedulers_compound():
    opt = make_sgd()
    linear = LinearLR(opt, start_factor=0.2, end=5)
    expo = ExponentialLR(opt, gamma=0.9)
    values = run([linear, expo], opt, 8)
    for s, v in enumerate(values):
        factor = 0.2 + 0.8 * min(s, 4) / 4
        assert v == pytest.approx(BASE * factor * 0.9**s, rel=1e-12)


def test_first_scheduler_fixes_initial_lr():
    opt = make_sgd()
    first = LinearLR(opt, start_factor=0.5, end=3)
    second = PolyLR(opt, end=10)
    assert opt.param_groups[0]["initial_lr"] == BASE
    assert first.base_values == second.base_values == [BASE]


class MMCVPoly(ClosedFormParamScheduler):
    """A closed-form policy as MMCV computes it: (b - min) (1 - t/T)^p + min."""

    def __init__(self, optimizer, max_iters, power=1.0, min_lr=0.0, **kwargs):
        self.max_iters, self.power, self.min_lr = max_iters, power, min_lr
        super().__init__(optimizer, "lr", **kwargs)

    def _value_at(self, base_value, step, group_index):
        return (base_value - self.min_lr) * (1 - step / self.max_iters) ** self.power + self.min_lr


def test_closed_form_subclass_ignores_current_value():
    opt = make_sgd()
    sched = MMCVPoly(opt, max_iters=10, power=0.9, min_lr=1e-4, by_epoch=False)
    assert not sched.chainable
    values = []
    for _ in range(10):
        opt.param_groups[0]["lr"] = 123.0  # overwritten at every step
        values.append(opt.param_groups[0]["lr"])
        sched.step()
        values[-1] = opt.param_groups[0]["lr"]
    expected = [(BASE - 1e-4) * (1 - t / 10) ** 0.9 + 1e-4 for t in range(1, 11)]
    for a, e in zip(values, expected):
        assert a == pytest.approx(e, rel=1e-12)
    assert values[-1] == pytest.approx(1e-4)
