"""LogStore keeps tensor values on their device and reads all of them at the first read."""

from __future__ import annotations

import pytest
import torch
from torch.overrides import TorchFunctionMode

from segwright.engine.logging.store import DeviceValues, LogStore, to_float


class _Reads(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.Tensor.tolist, torch.Tensor.item, torch.Tensor.__float__):
            self.count += 1
        return func(*args, **(kwargs or {}))


def test_values_are_copied_now_and_read_together_later():
    store = LogStore()
    loss = torch.tensor(1.5)
    with _Reads() as reads:
        for step in range(3):
            store.update_scalars({"train/loss": loss, "train/acc": torch.tensor(90.0 + step)})
            store.update_scalar("lr", 0.1 / (step + 1))
            loss.add_(1.0)  # reused in place, as a replayed CUDA graph's output would be
        assert reads.count == 0
        assert store.scalars["train/loss"].values == [1.5, 2.5, 3.5]
        assert reads.count == 1  # every key, every update: one tolist()
        assert store.scalars["train/acc"].values == [90.0, 91.0, 92.0]
        assert store.scalars["train/loss"].mean(2) == 3.0
        assert store.scalars["lr"].current() == pytest.approx(0.1 / 3, rel=0)
        assert reads.count == 1


def test_each_dtype_reads_exactly_as_item_did():
    big = torch.tensor(2**24 + 1)  # float32 would round it
    values = {
        "int": big,
        "bf16": torch.tensor(1.0 / 3, dtype=torch.bfloat16),
        "flag": torch.tensor(True),
        "vector": torch.tensor([1.0, 2.0, 4.0]),  # several elements: their mean
        "one": torch.tensor([[2.5]]),
        "float": 7,
    }
    store = LogStore()
    store.update_scalars(values)
    expected = {
        "int": float(big.item()),
        "bf16": values["bf16"].item(),
        "flag": 1.0,
        "vector": torch.tensor([1.0, 2.0, 4.0]).mean().item(),
        "one": 2.5,
        "float": 7.0,
    }
    assert {k: store.scalars[k].current() for k in values} == expected
    assert {k: to_float(v) for k, v in values.items()} == expected
    assert DeviceValues({}).numbers() == []


def test_floats_and_tensors_keep_their_order_through_trimming():
    store = LogStore()
    store.MAX_HISTORY = 6
    for step in range(9):
        value = torch.tensor(float(step)) if step % 2 else step
        store.update_scalar("x", value, count=step + 1)
    history = store.scalars["x"]
    assert history.values == [4.0, 5.0, 6.0, 7.0, 8.0] and history.counts == [5, 6, 7, 8, 9]


def test_a_run_that_never_logs_reads_now_and_then():
    store = LogStore()
    store.MAX_UNREAD = 3
    with _Reads() as reads:
        for step in range(7):
            store.update_scalar("train/loss", torch.tensor(float(step)))
    assert reads.count == 2 and len(store._unread) == 1
    assert store.scalars["train/loss"].values == [float(s) for s in range(7)]
