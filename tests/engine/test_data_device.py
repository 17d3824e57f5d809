"""The run's device reaches the dataloaders: ``pin_memory`` defaults to True on CUDA only."""

from __future__ import annotations

import sys

import pytest
import torch

from segwright.config import Config
from segwright.engine.data import build_dataloader, default_pin_memory
from segwright.engine.model import cast_to_device, copies_non_blocking
from segwright.engine.runner import Runner
from segwright.testing import toy_config

_LOADER = dict(batch_size=2, dataset=dict(type="ToySegDataset", num_samples=4, size=(8, 8)))


@pytest.mark.parametrize(
    "device, expected",
    [
        (None, False),
        ("cpu", False),
        (torch.device("cpu"), False),
        ("cuda", True),
        ("cuda:1", True),
        (torch.device("cuda", 0), True),
        ("meta", False),
    ],
)
def test_default_pin_memory_follows_the_device_type(device, expected):
    assert default_pin_memory(device) is expected


@pytest.mark.parametrize(
    "device, given, expected",
    [
        ("cpu", None, False),
        ("cuda", None, True),
        ("cuda", False, False),  # an explicit value always wins
        ("cpu", True, True),
        (None, None, False),  # no device given (a hook's loader): torch's default
    ],
)
def test_build_dataloader_pins_memory_by_default_on_cuda(device, given, expected):
    cfg = dict(_LOADER) if given is None else dict(_LOADER, pin_memory=given)
    loader = build_dataloader(cfg, seed=0, device=device)  # building needs no CUDA
    assert loader.pin_memory is expected


def test_the_runner_gives_its_device_to_every_dataloader(tmp_path, monkeypatch):
    seen: list[tuple[str, object]] = []

    def recording(cfg, *args, **kwargs):
        seen.append((kwargs.get("key", ""), kwargs.get("device")))
        return build_dataloader(cfg, *args, **kwargs)

    # The Runner's files (runner.py and the ones split from it) that call build_dataloader.
    callers = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("segwright.engine.runner")
        and getattr(module, "build_dataloader", None) is build_dataloader
    ]
    assert callers
    for module in callers:
        monkeypatch.setattr(module, "build_dataloader", recording)
    cfg = toy_config(tmp_path, max_iters=1, val_interval=1)
    cfg["test_dataloader"] = cfg["val_dataloader"]
    cfg["test_evaluator"] = cfg["val_evaluator"]
    cfg["test_cfg"] = dict(type="TestLoop")
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    runner.test()
    runner.close()
    assert {key for key, _ in seen} == {"train_dataloader", "val_dataloader", "test_dataloader"}
    assert all(device == runner.device == torch.device("cpu") for _, device in seen)
    assert runner.train_loop.dataloader.pin_memory is False


def test_cast_to_device_copies_non_blocking_to_cuda_only_by_default(monkeypatch):
    calls: list[dict] = []
    original = torch.Tensor.to

    def recording(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", recording)
    data = dict(inputs=[torch.arange(3.0)], extra=(torch.ones(2),))
    moved = cast_to_device(data, "cpu")
    assert calls == [dict(non_blocking=False)] * 2
    calls.clear()
    again = cast_to_device(data, torch.device("cpu"), non_blocking=True)
    assert calls == [dict(non_blocking=True)] * 2
    for result in (moved, again):
        assert torch.equal(result["inputs"][0], data["inputs"][0])
        assert isinstance(result["extra"], tuple)
    assert copies_non_blocking("cuda") and copies_non_blocking(torch.device("cuda", 1))
    assert not copies_non_blocking("cpu")


class _Element:
    """A data sample whose ``.to`` records its arguments (custom ones may lack non_blocking)."""

    def __init__(self):
        self.calls: list[tuple[tuple, dict]] = []

    def to(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self


def test_cast_to_device_passes_non_blocking_to_objects_only_when_true():
    element = _Element()
    cast_to_device([element], "cpu")
    cast_to_device([element], "cpu", non_blocking=False)
    cast_to_device([element], "cpu", non_blocking=True)
    assert element.calls == [(("cpu",), {}), (("cpu",), {}), (("cpu",), dict(non_blocking=True))]
    assert cast_to_device(element, None) is element and not element.calls[3:]
