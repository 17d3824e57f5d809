"""Speed options: ``channels_last``, ``compile`` (torch.compile), the CLI flags that set them,
and the warning for 0.x keys a 1.x config carries without effect."""

from __future__ import annotations

import shutil

import pytest
import torch

from segwright.cli.main import build_parser, main
from segwright.cli.train import prepare_config
from segwright.config import Config
from segwright.config.legacy import ignored_legacy_keys
from segwright.engine.runner import Runner
from segwright.engine.speed import apply_speed_options, compile_kwargs, to_channels_last
from segwright.testing import TOY_CONFIG_PATH, ToySegModel, toy_config
from segwright.utils.errors import ConfigError


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def train(tmp_path, name, **over):
    cfg = toy_config(tmp_path / name, max_iters=3, val_interval=100, **over)
    cfg["default_hooks"]["checkpoint"] = None
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    runner.close()
    return runner


def test_compile_values():
    assert compile_kwargs(None) is None and compile_kwargs(False) is None
    assert compile_kwargs(True) == {}
    assert compile_kwargs(dict(backend="eager", dynamic=False)) == dict(
        backend="eager", dynamic=False
    )
    with pytest.raises(ConfigError, match=r"unknown torch.compile arguments \['backnd'\]"):
        compile_kwargs(dict(backnd="eager"))
    with pytest.raises(ConfigError, match="compile must be True, False or a dict"):
        compile_kwargs("inductor")


def test_channels_last_converts_weights_and_inputs():
    model = to_channels_last(ToySegModel(channels=4))
    conv = model.backbone[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    seen = []
    model.backbone.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    model(torch.randn(2, 3, 8, 8), mode="tensor")
    model(inputs=torch.randn(2, 3, 8, 8), mode="tensor")
    assert len(seen) == 2
    assert all(t.is_contiguous(memory_format=torch.channels_last) for t in seen)


def test_channels_last_training_matches_the_default_layout(tmp_path):
    plain = train(tmp_path, "plain")
    nhwc = train(tmp_path, "nhwc", channels_last=True)
    log = (nhwc.log_dir / f"{nhwc.timestamp}.log").read_text()
    assert "Speed option channels_last" in log
    # NHWC runs other conv kernels, so gradients differ in summation order: a few eps32 of the
    # weights per step (observed <= 2 ulps of the largest after 3 steps); allow 1e-5 of it.
    for key, value in plain.model.state_dict().items():
        scale = float(value.abs().max())
        torch.testing.assert_close(
            nhwc.model.state_dict()[key], value, rtol=1e-5, atol=1e-5 * scale
        )


def test_compile_trains_to_the_same_weights_and_keys(tmp_path):
    plain = train(tmp_path, "plain")
    # the eager backend runs dynamo's capture without code generation: exact and quick
    compiled = train(tmp_path, "compiled", compile=dict(backend="eager"))
    assert set(compiled.model.state_dict()) == set(plain.model.state_dict())
    for key, value in plain.model.state_dict().items():
        assert torch.equal(compiled.model.state_dict()[key], value), key
    log = (compiled.log_dir / f"{compiled.timestamp}.log").read_text()
    assert "Speed option compile: torch.compile of the model's forward (backend='eager')" in log


def test_inductor_on_cpu_without_a_compiler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="needs a C\\+\\+ compiler"):
        apply_speed_options(ToySegModel(), torch.device("cpu"), compile=True)
    apply_speed_options(ToySegModel(), torch.device("cpu"), compile=dict(backend="aot_eager"))


def test_train_flags_set_the_config_keys():
    parser = build_parser()
    args = parser.parse_args(
        ["train", str(TOY_CONFIG_PATH), "--channels-last", "--compile", "--cudnn-benchmark"]
        + ["--amp", "--amp-dtype", "bfloat16"]
    )
    cfg = prepare_config(args)
    assert cfg.channels_last is True and cfg.compile is True
    assert cfg.env_cfg["cudnn_benchmark"] is True
    assert cfg.optim_wrapper.type == "AmpOptimWrapper" and cfg.optim_wrapper.dtype == "bfloat16"
    args = parser.parse_args(["train", str(TOY_CONFIG_PATH), "--amp-dtype", "float16"])
    with pytest.raises(ConfigError, match="--amp-dtype goes with --amp"):
        prepare_config(args)


def test_benchmark_measures_the_options(capsys):
    argv = ["benchmark", str(TOY_CONFIG_PATH), "--shape", "16", "--iters", "2", "--warmup", "1"]
    assert main([*argv, "--channels-last", "--amp", "bfloat16"]) == 0
    out = capsys.readouterr().out
    assert "speed option channels_last" in out and "speed option amp: torch.autocast" in out
    assert out.strip().splitlines()[-1].endswith("img/s")


def test_legacy_keys_in_a_native_config_are_reported(tmp_path):
    cfg = toy_config(tmp_path / "mixed", max_iters=1, val_interval=100)
    assert ignored_legacy_keys(cfg) == []
    cfg["optimizer"] = dict(type="SGD", lr=0.5)  # MMSeg 1.x's helper variable: fine
    assert ignored_legacy_keys(cfg) == []
    cfg.update(lr_config=dict(policy="step", step=[1]), evaluation=dict(interval=1))
    assert ignored_legacy_keys(cfg) == ["evaluation", "lr_config"]
    cfg["default_hooks"]["checkpoint"] = None
    runner = Runner.from_cfg(Config(cfg))
    runner.close()
    log = (runner.log_dir / f"{runner.timestamp}.log").read_text()
    assert "these MMSeg 0.x keys have no effect: evaluation, lr_config" in log
