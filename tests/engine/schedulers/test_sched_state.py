"""state_dict / load_state_dict: resuming mid-schedule reproduces the uninterrupted values."""

from __future__ import annotations

import io

import pytest
import torch

from segwright.engine.optim.schedulers import (
    OneCycleLR,
    PolyLR,
    build_param_schedulers,
)

CFG = [
    dict(type="LinearLR", start_factor=0.1, begin=0, end=4, by_epoch=False),
    dict(type="PolyLR", power=0.9, eta_min=1e-4, begin=4, end=16, by_epoch=False),
    dict(type="MultiStepLR", milestones=[6, 6], gamma=0.5, by_epoch=False),
    dict(type="LinearMomentum", start_factor=0.5, end=5, by_epoch=False),
]


def make_adamw() -> torch.optim.AdamW:
    torch.manual_seed(0)
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(3))], lr=0.01, betas=(0.9, 0.99))


def record(opt) -> tuple[float, float]:
    group = opt.param_groups[0]
    return group["lr"], group["betas"][0]


def advance(schedulers, opt, n: int, out: list) -> None:
    for _ in range(n):
        for s in schedulers:
            s.step()
        out.append(record(opt))


def roundtrip(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_resume_mid_schedule_matches_uninterrupted():
    opt = make_adamw()
    scheds = build_param_schedulers(CFG, opt, max_iters=20)
    reference = [record(opt)]
    advance(scheds, opt, 19, reference)

    opt1 = make_adamw()
    scheds1 = build_param_schedulers(CFG, opt1, max_iters=20)
    first = [record(opt1)]
    advance(scheds1, opt1, 6, first)
    saved_opt = roundtrip(opt1.state_dict())
    saved_scheds = roundtrip([s.state_dict() for s in scheds1])
    assert all("optimizer" not in s for s in saved_scheds)

    opt2 = make_adamw()
    scheds2 = build_param_schedulers(CFG, opt2, max_iters=20)
    opt2.load_state_dict(saved_opt)
    for s, state in zip(scheds2, saved_scheds):
        s.load_state_dict(state)
    resumed = list(first)
    advance(scheds2, opt2, 13, resumed)
    assert resumed == reference  # bit-identical
    assert scheds2[1].optimizer is opt2


def test_state_dict_has_the_counters():
    opt = make_adamw()
    sched = PolyLR(opt, end=10, by_epoch=False)
    sched.step()
    sched.step()
    state = sched.state_dict()
    assert state["last_step"] == 2 and state["_global_step"] == 2
    assert state["base_values"] == [0.01] and state["_last_value"] == [sched.get_last_value()[0]]


def test_one_cycle_state_roundtrip():
    opt = make_adamw()
    sched = OneCycleLR(opt, eta_max=0.1, total_steps=10, by_epoch=False)
    for _ in range(3):
        sched.step()
    state = roundtrip(sched.state_dict())
    expected = []
    for _ in range(4):
        sched.step()
        expected.append(opt.param_groups[0]["lr"])

    opt2 = make_adamw()
    sched2 = OneCycleLR(opt2, eta_max=0.1, total_steps=10, by_epoch=False)
    sched2.load_state_dict(state)
    got = []
    for _ in range(4):
        sched2.step()
        got.append(opt2.param_groups[0]["lr"])
    assert got == expected


def test_load_state_dict_copies():
    opt = make_adamw()
    sched = PolyLR(opt, end=10)
    state = sched.state_dict()
    other = PolyLR(make_adamw(), end=10)
    other.load_state_dict(state)
    other.base_values.append(1.0)
    assert sched.base_values == [0.01]


def test_last_step_without_initial_value_raises():
    with pytest.raises(KeyError, match="initial_lr"):
        PolyLR(make_adamw(), end=10, last_step=3)


def test_last_step_resume_with_initial_value():
    opt = make_adamw()
    opt.param_groups[0]["initial_lr"] = 0.02
    sched = PolyLR(opt, end=11, last_step=4)
    assert sched.last_step == 5 and sched.base_values == [0.02]
