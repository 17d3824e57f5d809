"""build_param_schedulers: default ``end``, ``convert_to_iter_based``, errors (SPEC §5.3, §5.5)."""

from __future__ import annotations

import math

import pytest
import torch

from segwright.engine.optim.schedulers import (
    INF,
    CosineAnnealingLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    PolyLR,
    build_param_schedulers,
    build_scheduler_from_cfg,
)
from segwright.registry import PARAM_SCHEDULERS
from segwright.utils.errors import ConfigError

BASE = 0.1


def make_sgd() -> torch.optim.SGD:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE, momentum=0.9)


def test_single_dict_and_missing_end_from_max_iters():
    opt = make_sgd()
    (sched,) = build_param_schedulers(
        dict(type="PolyLR", power=1.0, by_epoch=False), opt, max_epochs=3, max_iters=40
    )
    assert isinstance(sched, PolyLR)
    assert sched.end == 40 and sched.by_epoch is False and sched.total_iters == 39


def test_missing_end_from_max_epochs_for_default_by_epoch():
    (sched,) = build_param_schedulers([dict(type="PolyLR")], make_sgd(), max_epochs=3, max_iters=40)
    assert sched.by_epoch is True and sched.end == 3


def test_missing_end_without_loop_lengths_stays_inf():
    (sched,) = build_param_schedulers([dict(type="PolyLR", by_epoch=False)], make_sgd())
    assert sched.end == INF


def test_none_and_built_schedulers_pass_through():
    opt = make_sgd()
    built = PolyLR(opt, end=5)
    assert build_param_schedulers(None, opt) == []
    assert build_param_schedulers([built], opt) == [built]


def test_end_not_after_begin_names_the_entry():
    cfg = [dict(type="LinearLR", begin=0, end=5), dict(type="PolyLR", begin=5, end=5)]
    with pytest.raises(ConfigError, match=r"param_scheduler\[1\]\.end"):
        build_param_schedulers(cfg, make_sgd())


def test_filled_end_not_after_begin_is_rejected():
    cfg = [dict(type="PolyLR", begin=50, by_epoch=False)]
    with pytest.raises(ConfigError, match=r"param_scheduler\[0\]\.end"):
        build_param_schedulers(cfg, make_sgd(), max_iters=40)


def test_unknown_argument_names_entry_and_key():
    with pytest.raises(ConfigError, match=r"param_scheduler\[0\].*'gama'") as info:
        build_param_schedulers([dict(type="StepLR", step_size=2, gama=0.5)], make_sgd())
    assert "gamma" in str(info.value)  # did-you-mean


def test_class_check_names_entry_and_key():
    with pytest.raises(ConfigError, match=r"param_scheduler\[0\]\.start_factor"):
        build_param_schedulers([dict(type="LinearLR", start_factor=2.0, end=3)], make_sgd())


def test_bad_by_epoch_type():
    with pytest.raises(ConfigError, match=r"param_scheduler\[0\]\.by_epoch"):
        build_param_schedulers([dict(type="PolyLR", by_epoch="no", end=3)], make_sgd())


def test_entry_must_be_a_dict():
    with pytest.raises(ConfigError, match=r"param_scheduler\[0\]"):
        build_param_schedulers(["PolyLR"], make_sgd())


def test_convert_to_iter_based_multistep():
    opt = make_sgd()
    cfg = dict(
        type="MultiStepLR",
        milestones=[1, 2],
        gamma=0.5,
        begin=0,
        end=3,
        by_epoch=True,
        convert_to_iter_based=True,
    )
    (sched,) = build_param_schedulers(cfg, opt, epoch_length=4)
    assert isinstance(sched, MultiStepLR)
    assert sched.by_epoch is False and sched.end == 12
    assert sched.milestones == {4: 1, 8: 1}
    values = [opt.param_groups[0]["lr"]]
    for _ in range(13):
        sched.step()
        values.append(opt.param_groups[0]["lr"])
    expected = [BASE] * 4 + [BASE * 0.5] * 4 + [BASE * 0.25] * 6
    assert values == pytest.approx(expected, rel=1e-12)


def test_convert_fills_end_from_max_epochs_then_scales():
    cfg = [
        dict(type="LinearLR", start_factor=0.1, end=1, convert_to_iter_based=True),
        dict(type="CosineAnnealingLR", T_max=2, begin=1, convert_to_iter_based=True),
    ]
    linear, cosine = build_param_schedulers(cfg, make_sgd(), epoch_length=5, max_epochs=3)
    assert (linear.begin, linear.end, linear.by_epoch) == (0, 5, False)
    assert (cosine.begin, cosine.end, cosine.T_max) == (5, 15, 10)


def test_convert_truncates_fractional_begin_end_and_scales_total_steps():
    cfg = dict(
        type="OneCycleLR",
        eta_max=1.0,
        total_steps=2,
        begin=0.5,
        end=2.5,
        convert_to_iter_based=True,
    )
    (sched,) = build_param_schedulers(cfg, make_sgd(), epoch_length=3)
    assert isinstance(sched, OneCycleLR)
    assert (sched.begin, sched.end, sched.total_steps) == (1, 7, 6)


def test_convert_keeps_infinite_end():
    cfg = dict(type="ExponentialLR", gamma=0.9, convert_to_iter_based=True)
    (sched,) = build_param_schedulers(cfg, make_sgd(), epoch_length=3)
    assert sched.end == INF and sched.by_epoch is False


def test_convert_rejects_iteration_based_entry():
    cfg = dict(type="PolyLR", by_epoch=False, end=10, convert_to_iter_based=True)
    with pytest.raises(ConfigError, match=r"param_scheduler\[0\]\.convert_to_iter_based"):
        build_param_schedulers(cfg, make_sgd(), epoch_length=3)


def test_convert_needs_epoch_length():
    cfg = dict(type="PolyLR", end=10, convert_to_iter_based=True)
    with pytest.raises(ConfigError, match=r"param_scheduler\[0\]\.epoch_length"):
        build_param_schedulers(cfg, make_sgd())


def test_convert_rejects_reduce_on_plateau():
    cfg = dict(type="ReduceOnPlateauLR", convert_to_iter_based=True)
    with pytest.raises(ConfigError, match="convert_to_iter_based"):
        build_param_schedulers(cfg, make_sgd(), epoch_length=3)


def test_epoch_length_is_dropped_without_conversion():
    (sched,) = build_param_schedulers(
        dict(type="PolyLR", end=4, epoch_length=7), make_sgd(), epoch_length=3
    )
    assert sched.end == 4


def test_build_scheduler_from_cfg_and_build_iter_from_epoch():
    opt = make_sgd()
    sched = build_scheduler_from_cfg(
        dict(type="StepLR", step_size=1, end=2, convert_to_iter_based=True),
        PARAM_SCHEDULERS,
        dict(optimizer=opt, epoch_length=10),
    )
    assert (sched.step_size, sched.end) == (10, 20)
    cos = CosineAnnealingLR.build_iter_from_epoch(make_sgd(), end=2, epoch_length=4)
    assert (cos.end, cos.T_max, cos.by_epoch) == (8, 8, False)
    assert cos.optimizer.param_groups[0]["lr"] == BASE
    cos.step()
    assert cos.optimizer.param_groups[0]["lr"] == pytest.approx(
        BASE * (1 + math.cos(math.pi / 8)) / 2
    )


class TwoOptimizers(dict):
    """Stands in for a multi-optimizer wrapper: name -> optimizer."""


def test_multi_optimizer_dict():
    opts = TwoOptimizers(gen=make_sgd(), disc=make_sgd())
    built = build_param_schedulers(
        dict(gen=[dict(type="LinearLR", end=2)], disc=dict(type="PolyLR", by_epoch=False)),
        opts,
        max_epochs=2,
        max_iters=9,
    )
    assert isinstance(built["gen"][0], LinearLR) and built["gen"][0].end == 2
    assert isinstance(built["disc"][0], PolyLR) and built["disc"][0].end == 9
    with pytest.raises(ConfigError, match=r"param_scheduler\.other"):
        build_param_schedulers(dict(other=dict(type="PolyLR")), opts)
