"""ReduceOnPlateau: stepped with validation metrics, counts epochs without them."""

from __future__ import annotations

import pytest
import torch

from segwright.engine.optim.schedulers import ReduceOnPlateauLR, ReduceOnPlateauMomentum
from segwright.utils.errors import ConfigError


def make_sgd(lr: float = 1.0) -> torch.optim.SGD:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)


def test_not_stepped_at_init_and_needs_val_args():
    opt = make_sgd()
    sched = ReduceOnPlateauLR(opt, monitor="mIoU", rule="greater", patience=1, factor=0.5)
    assert sched.need_val_args and sched._global_step == 0 and sched.last_step == -1
    assert opt.param_groups[0]["lr"] == 1.0


def test_reduces_after_patience_then_cooldown_and_floor():
    opt = make_sgd()
    sched = ReduceOnPlateauLR(
        opt, monitor="mIoU", rule="greater", patience=1, factor=0.5, cooldown=1, min_value=0.2
    )
    lrs = []
    for miou in [0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]:
        sched.step({"mIoU": miou})
        lrs.append(opt.param_groups[0]["lr"])
    # improve, improve, bad(1), bad(2 > patience: cut), cooldown, bad(1), bad(2: cut), ...
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]


def test_less_rule_with_relative_threshold():
    opt = make_sgd()
    sched = ReduceOnPlateauLR(opt, monitor="loss", patience=0, factor=0.1, threshold=0.1)
    sched.step({"loss": 1.0})
    sched.step({"loss": 0.95})  # not 10% better: cut
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    sched.step({"loss": 0.5})  # better: no cut
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)


def test_begin_counts_training_epochs():
    opt = make_sgd()
    sched = ReduceOnPlateauLR(opt, monitor="loss", patience=0, begin=2)
    sched.step({"loss": 1.0})
    sched.step({"loss": 2.0})  # before begin: ignored
    assert opt.param_groups[0]["lr"] == 1.0 and sched.last_step == -1
    sched.step()
    sched.step()  # two training epochs counted
    sched.step({"loss": 1.0})
    sched.step({"loss": 2.0})
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)


def test_missing_monitor_key():
    sched = ReduceOnPlateauLR(make_sgd(), monitor="mIoU")
    with pytest.raises(KeyError, match="mIoU"):
        sched.step({"aAcc": 1.0})


@pytest.mark.parametrize(
    "kwargs,key",
    [
        (dict(by_epoch=False), "by_epoch"),
        (dict(factor=1.0), "factor"),
        (dict(rule="max"), "rule"),
        (dict(threshold_rule="pct"), "threshold_rule"),
        (dict(min_value=[0.1, 0.2]), "min_value"),
    ],
)
def test_bad_args(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        ReduceOnPlateauLR(make_sgd(), **kwargs)


def test_momentum_variant_with_adam():
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.1, betas=(0.9, 0.99))
    sched = ReduceOnPlateauMomentum(opt, monitor="loss", patience=0, factor=0.5)
    sched.step({"loss": 1.0})
    sched.step({"loss": 1.0})
    assert opt.param_groups[0]["betas"] == (pytest.approx(0.45), 0.99)
