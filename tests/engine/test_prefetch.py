"""``prefetch_to_device=True``: the loader stays a DataLoader; numbers and resume do not change.

Without CUDA the loader's iterator is the DataLoader's own. To exercise the one-batch
look-ahead anyway, some runs force :class:`DevicePrefetcher` onto the CPU (casting to the CPU
changes nothing, so only the look-ahead itself could change a number). The CUDA stream path is
tested where CUDA exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from segwright.config import Config
from segwright.engine.data import build_dataloader, index_sampler, shutdown_workers
from segwright.engine.hooks import Hook
from segwright.engine.prefetch import DevicePrefetcher, DevicePrefetchLoader
from segwright.engine.runner import Runner
from segwright.structures import PixelData, SegDataSample
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError

_TOY = dict(type="ToySegDataset", num_samples=6, size=(8, 8))


def _loader_cfg(**extra) -> dict:
    return dict(batch_size=2, dataset=dict(_TOY), **extra)


# -- the loader ------------------------------------------------------------------------------


def test_the_prefetch_loader_keeps_the_dataloader_surface():
    plain = build_dataloader(_loader_cfg(), seed=1, device="cpu")
    loader = build_dataloader(_loader_cfg(prefetch_to_device=True), seed=1, device="cpu")
    assert type(plain) is DataLoader
    assert isinstance(loader, DevicePrefetchLoader) and isinstance(loader, DataLoader)
    assert len(loader) == len(plain) == 3
    assert loader.batch_size == 2
    assert type(index_sampler(loader)).__name__ == "DefaultSampler"
    index_sampler(loader).set_epoch(1)
    index_sampler(plain).set_epoch(1)
    assert loader.dataset.dataset.__class__ is plain.dataset.dataset.__class__
    # On the CPU iterating is the DataLoader's own iterator: a pass-through.
    iterator = iter(loader)
    assert type(iterator) is type(iter(plain))
    for a, b in zip(iterator, plain, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a["inputs"], b["inputs"], strict=True))


def test_prefetch_to_device_is_a_bool_and_accepted_by_val_and_test_loaders():
    with pytest.raises(ConfigError, match=r"train_dataloader\.prefetch_to_device must be True"):
        build_dataloader(_loader_cfg(prefetch_to_device="yes"), device="cpu")
    for key in ("val_dataloader", "test_dataloader"):
        loader = build_dataloader(_loader_cfg(prefetch_to_device=True), key=key, device="cuda")
        assert isinstance(loader, DevicePrefetchLoader) and loader.device.type == "cuda"
    without = build_dataloader(_loader_cfg(prefetch_to_device=False), device="cuda")
    assert type(without) is DataLoader


def test_persistent_workers_of_a_prefetch_loader_shut_down():
    cfg = _loader_cfg(prefetch_to_device=True, num_workers=1, persistent_workers=True)
    loader = build_dataloader(cfg, seed=0, device="cpu")
    assert len(list(loader)) == 3
    assert loader._iterator is not None
    shutdown_workers(loader)
    assert loader._iterator is None
    assert len(list(loader)) == 3  # new workers on the next pass
    shutdown_workers(loader)


# -- the look-ahead ----------------------------------------------------------------------------


class _Counting:
    def __init__(self, items):
        self.items, self.taken = list(items), 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.taken == len(self.items):
            raise StopIteration
        self.taken += 1
        return self.items[self.taken - 1]

    def __len__(self):
        return len(self.items)


def test_the_prefetcher_loads_exactly_one_batch_ahead_and_stops():
    source = _Counting([dict(inputs=[torch.full((1,), float(i))]) for i in range(3)])
    prefetcher = DevicePrefetcher(source, "cpu")
    assert len(prefetcher) == 3
    assert source.taken == 0  # iter() alone loads nothing
    seen = []
    for batch in prefetcher:
        seen.append(float(batch["inputs"][0]))
        assert source.taken == min(len(seen) + 1, 3)
    assert seen == [0.0, 1.0, 2.0]
    with pytest.raises(StopIteration):
        next(prefetcher)


# -- whole runs -----------------------------------------------------------------------------------


def _force_lookahead(monkeypatch):
    """Make the CPU run go through DevicePrefetcher (as it would on CUDA)."""

    def lookahead(self):
        return DevicePrefetcher(DataLoader.__iter__(self), "cpu")

    monkeypatch.setattr(DevicePrefetchLoader, "__iter__", lookahead)


def _cfg(work_dir: Path, by_epoch: bool, prefetch: bool, workers: int = 0) -> dict:
    cfg = toy_config(work_dir, max_iters=6, val_interval=100)
    cfg["model"]["dropout"] = 0.3  # the training process's own generator is used too
    loader = cfg["train_dataloader"]
    loader.update(num_workers=workers, prefetch_to_device=prefetch)
    loader["dataset"] = dict(_TOY)
    if by_epoch:
        loader["sampler"] = dict(type="DefaultSampler", shuffle=True)
        cfg["train_cfg"] = dict(type="EpochBasedTrainLoop", max_epochs=2, val_interval=100)
    cfg["val_dataloader"] = dict(cfg["val_dataloader"], prefetch_to_device=prefetch)
    cfg["param_scheduler"] = []
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", by_epoch=False, interval=1)
    cfg["default_hooks"]["logger"]["interval"] = 2
    return cfg


class _Killed(Exception):
    pass


class _KillAt(Hook):
    priority = "LOWEST"

    def __init__(self, iters):
        self.iters = iters

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 >= self.iters:
            raise _Killed


def _train(cfg: dict, kill_at: int | None = None) -> dict[str, torch.Tensor]:
    runner = Runner.from_cfg(Config(cfg))
    if kill_at is not None:
        runner.register_hook(_KillAt(kill_at))
    try:
        runner.train()
    except _Killed:
        pass
    finally:
        runner.close()
    path = Path(cfg["work_dir"]) / f"iter_{kill_at or 6}.pth"
    return torch.load(path, weights_only=True)["state_dict"]


def _assert_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("by_epoch", [False, True], ids=["iter", "epoch"])
@pytest.mark.parametrize("lookahead", [False, True], ids=["passthrough", "lookahead"])
def test_prefetching_changes_no_weight_and_resume_stays_exact(
    tmp_path, monkeypatch, by_epoch, lookahead
):
    torch.set_num_threads(1)
    expected = _train(_cfg(tmp_path / "plain", by_epoch, prefetch=False))
    if lookahead:
        _force_lookahead(monkeypatch)
    _assert_equal(_train(_cfg(tmp_path / "prefetch", by_epoch, prefetch=True)), expected)
    # Killed mid-pass (iteration 4 of 3 per epoch), then resumed.
    work = tmp_path / "resumed"
    _train(_cfg(work, by_epoch, prefetch=True), kill_at=4)
    resumed = _cfg(work, by_epoch, prefetch=True)
    resumed["resume"] = True
    _assert_equal(_train(resumed), expected)


def test_prefetching_with_a_worker_changes_no_weight(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    expected = _train(_cfg(tmp_path / "plain", by_epoch=True, prefetch=False, workers=1))
    _force_lookahead(monkeypatch)
    got = _train(_cfg(tmp_path / "prefetch", by_epoch=True, prefetch=True, workers=1))
    _assert_equal(got, expected)


# -- CUDA --------------------------------------------------------------------------------------


def _sample(i: int) -> SegDataSample:
    labels = torch.full((1, 4, 4), i % 2, dtype=torch.long)
    return SegDataSample(gt_sem_seg=PixelData(labels), metainfo=dict(index=i))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_batches_arrive_on_the_device_equal_and_in_order():
    batches = [
        dict(inputs=[torch.randn(3, 4, 4).pin_memory()], data_samples=[_sample(i)])
        for i in range(4)
    ]
    loader = build_dataloader(
        dict(batch_size=1, dataset=dict(_TOY), prefetch_to_device=True), device="cuda"
    )
    assert loader.pin_memory
    prefetcher = DevicePrefetcher(iter(batches), torch.device("cuda"))
    side = prefetcher._stream
    assert side is not None and side != torch.cuda.current_stream()
    for i, batch in enumerate(prefetcher):
        image = batch["inputs"][0]
        labels = batch["data_samples"][0].gt_sem_seg.data
        assert image.is_cuda and labels.is_cuda
        # Computed on the current stream right away: the copy must have been waited for.
        assert torch.equal((image * 1).cpu(), batches[i]["inputs"][0])
        assert torch.equal(labels.cpu(), batches[i]["data_samples"][0].gt_sem_seg.data)
        assert batch["data_samples"][0].metainfo == dict(index=i)
    cuda_iter = iter(loader)
    assert isinstance(cuda_iter, DevicePrefetcher)
    first = next(cuda_iter)
    assert first["inputs"][0].is_cuda
