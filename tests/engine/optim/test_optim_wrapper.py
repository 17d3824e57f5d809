"""OptimWrapper / AmpOptimWrapper: clipping, accumulation, AMP on CPU, state dicts."""

from __future__ import annotations

import contextlib
import copy
import logging

import pytest
import torch
from torch import nn

from segwright.engine.optim.wrapper import AmpOptimWrapper, OptimWrapper
from segwright.registry import OPTIM_WRAPPERS
from segwright.utils.errors import ConfigError


def linear(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(3, 2)


def mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (model(x) - y).pow(2).mean()


def data(n: int = 10):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, generator=g), torch.randn(n, 2, generator=g)


def total_norm(model: nn.Module) -> float:
    return float(
        torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in model.parameters()]))
    )


def test_clip_by_norm_records_the_pre_clip_total_norm():
    # float64: clipping and total_norm sum the squares in different orders; in float64 that
    # is ~1e-16 of the norm, far inside rel 1e-12.
    model = linear().double()
    x, y = (t.double() for t in data(4))
    reference = copy.deepcopy(model)
    mse(reference, x, y).mul(100).backward()
    expected = total_norm(reference)
    assert expected > 0.5

    wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.0), clip_grad=dict(max_norm=0.5)
    )
    wrapper.backward(mse(model, x, y).mul(100))
    wrapper.step()
    assert wrapper.last_grad_norm == pytest.approx(expected, rel=1e-12)
    assert wrapper.last_log_vars == {"grad_norm": pytest.approx(expected, rel=1e-12)}
    assert total_norm(model) == pytest.approx(0.5, rel=1e-4)  # clipped in place


def test_clip_by_value():
    model = linear()
    x, y = data(4)
    wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.0), clip_grad=dict(type="value", clip_value=0.01)
    )
    wrapper.backward(mse(model, x, y).mul(100))
    raw_max = max(float(p.grad.abs().max()) for p in model.parameters())
    assert raw_max > 0.01
    wrapper.step()
    assert max(float(p.grad.abs().max()) for p in model.parameters()) == pytest.approx(0.01)
    assert wrapper.last_log_vars == {} and wrapper.last_grad_norm is None


@pytest.mark.parametrize(
    "clip_grad, message",
    [
        ({}, "non-empty dict"),
        (dict(type="norm"), "besides 'type'"),
        (dict(type="l2", max_norm=1.0), "'norm' or 'value'"),
        (dict(max_nrom=1.0), "max_nrom"),
        ([1.0], "non-empty dict"),
    ],
)
def test_bad_clip_grad_is_a_config_error(clip_grad, message):
    optimizer = torch.optim.SGD(linear().parameters(), lr=0.1)
    with pytest.raises(ConfigError, match=message):
        OptimWrapper(optimizer, clip_grad=clip_grad)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="accumulative_counts"):
        OptimWrapper(torch.optim.SGD(linear().parameters(), lr=0.1), accumulative_counts=0)
    with pytest.raises(ConfigError, match="torch.optim.Optimizer"):
        OptimWrapper(dict(type="SGD", lr=0.1))


def test_accumulation_3_over_10_iterations():
    # float64: three 1-image backward passes and one 3-image pass sum in different orders;
    # in float64 that is ~1e-16 of the O(1) gradients and weights, far inside 1e-12.
    x, y = (t.double() for t in data(10))
    model = linear().double()
    reference = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    wrapper = OptimWrapper(optimizer, accumulative_counts=3)
    wrapper.initialize_count_status(model, 0, 10)

    step_grads = []
    optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: step_grads.append([p.grad.clone() for p in model.parameters()])
    )
    factors, syncs, updates = [], [], []
    for i in range(10):
        factors.append(round(1 / float(wrapper.scale_loss(torch.tensor(1.0)))))
        syncs.append(wrapper.should_sync())
        wrapper.update_params(mse(model, x[i : i + 1], y[i : i + 1]))
        updates.append(len(step_grads))
    assert factors == [3, 3, 3, 3, 3, 3, 3, 3, 3, 1]
    assert wrapper.last_grad_norm is None  # no clip_grad
    assert syncs == [False, False, True] * 3 + [True]
    assert updates == [0, 0, 1, 1, 1, 2, 2, 2, 3, 4]
    assert wrapper.inner_count == 10

    # Same as SGD on the big batches [0:3], [3:6], [6:9], [9:10] with a mean loss.
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    for k, (start, stop) in enumerate([(0, 3), (3, 6), (6, 9), (9, 10)]):
        ref_opt.zero_grad()
        mse(reference, x[start:stop], y[start:stop]).backward()
        for got, ref in zip(step_grads[k], reference.parameters()):
            tol = 1e-12 * float(ref.grad.abs().max())
            torch.testing.assert_close(got, ref.grad, rtol=1e-12, atol=tol)
        ref_opt.step()
    for got, ref in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(
            got, ref, rtol=1e-12, atol=1e-12 * float(ref.detach().abs().max())
        )


def test_accumulation_without_count_status_always_divides_by_n():
    model = linear()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=4)
    assert float(wrapper.scale_loss(torch.tensor(8.0))) == 2.0
    assert wrapper.should_sync() is False


def test_optim_context_uses_no_sync_on_non_update_iterations():
    class FakeDDP(nn.Linear):
        entered: list[bool] = []

        @contextlib.contextmanager
        def no_sync(self):
            self.entered.append(True)
            yield

    model = FakeDDP(3, 2)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    wrapper.initialize_count_status(model, 0, 5)
    x, y = data(5)
    seen = []
    for i in range(5):
        before = len(model.entered)
        with wrapper.optim_context(model):
            loss = mse(model, x[i : i + 1], y[i : i + 1])
        seen.append(len(model.entered) > before)
        wrapper.update_params(loss)
    assert seen == [True, False, True, False, False]


def test_count_status_warnings(caplog):
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=3)
    with caplog.at_level(logging.WARNING):
        wrapper.initialize_count_status(model, 4, 10)
    assert "not a multiple of accumulative_counts=3" in caplog.text
    assert "BatchNorm" in caplog.text
    assert wrapper.inner_count == 4


def test_lr_momentum_and_state_dict_round_trip():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 1))
    groups = [
        {"params": model[0].parameters()},
        {"params": model[1].parameters(), "lr": 0.01, "momentum": 0.5},
    ]
    wrapper = OptimWrapper(torch.optim.SGD(groups, lr=0.1, momentum=0.9))
    assert wrapper.get_lr() == {"base_lr": [0.1], "lr": [0.1, 0.01]}
    assert wrapper.get_momentum() == {"momentum": [0.9, 0.5]}
    assert len(wrapper.param_groups) == 3  # base settings ride along for the schedulers
    assert wrapper.defaults["lr"] == 0.1
    wrapper.update_params(model(torch.randn(4, 3)).sum())

    state = wrapper.state_dict()
    assert "base_param_settings" in state
    clone = copy.deepcopy(model)
    other = OptimWrapper(
        torch.optim.SGD(
            [{"params": clone[0].parameters()}, {"params": clone[1].parameters()}], lr=1.0
        )
    )
    other.load_state_dict(state)
    assert "base_param_settings" in state  # the caller's dict is not consumed
    assert other.get_lr() == wrapper.get_lr()
    for a, b in zip(wrapper.optimizer.state.values(), other.optimizer.state.values()):
        torch.testing.assert_close(a["momentum_buffer"], b["momentum_buffer"])


def test_momentum_of_adam_and_optimizers_without_momentum():
    params = list(linear().parameters())
    adam = OptimWrapper(torch.optim.Adam(params, lr=0.1, betas=(0.8, 0.99)))
    assert adam.get_momentum() == {"momentum": [0.8]}
    assert adam.get_lr() == {"lr": [0.1]} and adam.state_dict().keys() == {"state", "param_groups"}
    assert OptimWrapper(torch.optim.Adagrad(params)).get_momentum() == {"momentum": [0]}


def test_registered_and_buildable():
    optimizer = torch.optim.SGD(linear().parameters(), lr=0.1)
    wrapper = OPTIM_WRAPPERS.build(
        dict(type="mmengine.OptimWrapper", clip_grad=dict(max_norm=1.0)),
        default_args=dict(optimizer=optimizer),
    )
    assert isinstance(wrapper, OptimWrapper) and "SGD" in repr(wrapper)


# -- AMP ---------------------------------------------------------------------------------------


def test_amp_bf16_on_cpu_step_and_state_dict_round_trip():
    model = linear()
    before = [p.detach().clone() for p in model.parameters()]
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), dtype="bfloat16"
    )
    assert wrapper.device_type == "cpu" and wrapper.cast_dtype is torch.bfloat16
    x, y = data(4)
    with wrapper.optim_context(model):
        out = model(x)
    assert out.dtype == torch.bfloat16
    wrapper.update_params((out.float() - y).pow(2).mean())
    assert wrapper.inner_count == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))

    state = wrapper.state_dict()
    assert state["loss_scaler"]["scale"] == 65536.0
    clone = copy.deepcopy(model)
    other = AmpOptimWrapper(optimizer=torch.optim.SGD(clone.parameters(), lr=0.1, momentum=0.9))
    other.load_state_dict(state)
    assert other.loss_scaler.state_dict() == wrapper.loss_scaler.state_dict()
    assert "loss_scaler" in state
    for a, b in zip(wrapper.optimizer.state.values(), other.optimizer.state.values()):
        torch.testing.assert_close(a["momentum_buffer"], b["momentum_buffer"])


def test_amp_default_dtype_on_cpu_is_bfloat16():
    model = linear()
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        assert model(torch.randn(2, 3)).dtype == torch.bfloat16


def test_amp_static_and_dict_loss_scale():
    model = linear()
    x, y = data(4)
    static = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), loss_scale=512.0
    )
    static.update_params(mse(model, x, y))
    assert static.loss_scaler.get_scale() == 512.0
    custom = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        loss_scale=dict(init_scale=1024.0, growth_interval=1),
    )
    custom.update_params(mse(model, x, y))
    assert custom.loss_scaler.get_scale() == 2048.0  # dynamic: grows after 1 good step


def test_amp_clip_sees_unscaled_gradients():
    model = linear()
    x, y = data(4)
    reference = copy.deepcopy(model)
    mse(reference, x, y).backward()
    expected = total_norm(reference)
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        loss_scale=1024.0,
        clip_grad=dict(max_norm=100.0),
    )
    wrapper.update_params(mse(model, x, y))  # forward outside autocast: exact fp32 grads
    # Same grads (x1024 then /1024 is exact); only the norm's order of 8 squares differs:
    # <= ~6 eps32 (3.6e-7) each side, so rel 1e-6 holds on any CPU.
    assert wrapper.last_grad_norm == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(loss_scale="static"), "'dynamic', a float or a dict"),
        (dict(loss_scale=dict(init_scal=2.0)), "init_scal"),
        (dict(dtype="fp16"), "bfloat16"),
        (dict(dtype=3), "torch dtype"),
    ],
)
def test_amp_bad_arguments(kwargs, message):
    optimizer = torch.optim.SGD(linear().parameters(), lr=0.1)
    with pytest.raises(ConfigError, match=message):
        AmpOptimWrapper(optimizer=optimizer, **kwargs)


def test_amp_accepts_an_int_loss_scale_as_static():
    # MMEngine and MMCV reject loss_scale=512 (SPEC trap 25); we treat it as 512.0.
    optimizer = torch.optim.SGD(linear().parameters(), lr=0.1)
    wrapper = AmpOptimWrapper(optimizer=optimizer, loss_scale=512)
    assert wrapper.loss_scaler.get_scale() == 512.0


def test_amp_with_accumulation_reports_grad_norm_only_on_steps():
    model = linear()
    x, y = data(4)
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        accumulative_counts=2,
        clip_grad=dict(max_norm=100.0),
    )
    wrapper.initialize_count_status(model, 0, 4)
    steps, norms = [], []
    wrapper.optimizer.register_step_post_hook(lambda *a: steps.append(wrapper.inner_count))
    for i in range(4):
        with wrapper.optim_context(model):
            loss = mse(model, x[i : i + 1], y[i : i + 1])
        wrapper.update_params(loss)
        norms.append(wrapper.last_grad_norm is not None)
    assert steps == [2, 4]
    assert norms == [False, True, False, True]
