"""Resuming is exact with data workers: augmentation is seeded by sample position, not worker.

A real pipeline (random crop, flip, photometric distortion) on a tiny on-disk dataset and a
model with dropout. The interrupted run is simulated by a run that stops at iteration ``k``
(with the schedule of the whole run) and a new Runner that resumes from its checkpoint.
"""

from __future__ import annotations

import pickle
import random
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from segwright.config import Config
from segwright.engine.data import (
    DefaultSampler,
    InfiniteSampler,
    PositionSeededDataset,
    SampleIndex,
    build_dataloader,
)
from segwright.engine.hooks import Hook
from segwright.engine.runner import Runner

SAMPLES, BATCH = 6, 2
PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="RandomCrop", crop_size=(12, 12), cat_max_ratio=0.75),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PhotoMetricDistortion"),
    dict(type="PackSegInputs"),
]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_seg")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(SAMPLES):
        image = rng.integers(0, 120, size=(20, 24, 3), dtype=np.uint8)
        mask = np.zeros((20, 24), dtype=np.uint8)
        top, left = rng.integers(0, 8, size=2)
        mask[top : top + 10, left : left + 12] = 1
        image[mask == 1] += 100
        assert cv2.imwrite(str(root / "images" / f"{i}.png"), image)
        assert cv2.imwrite(str(root / "masks" / f"{i}.png"), mask)
    return root


def _config(data_root, work_dir, by_epoch, workers=2, persistent=False):
    total = 9  # 3 epochs of 3 batches
    loop = (
        dict(type="EpochBasedTrainLoop", max_epochs=3, val_interval=10)
        if by_epoch
        else dict(type="IterBasedTrainLoop", max_iters=total, val_interval=100)
    )
    sampler = "DefaultSampler" if by_epoch else "InfiniteSampler"
    return Config(
        dict(
            model=dict(type="ToySegModel", channels=4, num_classes=2, dropout=0.3),
            train_dataloader=dict(
                batch_size=BATCH,
                num_workers=workers,
                persistent_workers=persistent,
                sampler=dict(type=sampler, shuffle=True),
                dataset=dict(
                    type="FolderSegDataset",
                    data_root=str(data_root),
                    classes=("background", "square"),
                    palette=[[0, 0, 0], [255, 255, 255]],
                    pipeline=PIPELINE,
                ),
            ),
            train_cfg=loop,
            optim_wrapper=dict(
                type="OptimWrapper", optimizer=dict(type="SGD", lr=0.1, momentum=0.9)
            ),
            param_scheduler=[
                dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=total, by_epoch=False)
            ],
            default_hooks=dict(
                logger=dict(type="LoggerHook", interval=100),
                checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=1),
            ),
            randomness=dict(seed=3),
            work_dir=str(work_dir),
            device="cpu",
        )
    )


class _Killed(Exception):
    pass


class _KillAt(Hook):
    """Ends a run after ``iters`` iterations, once their checkpoint is written (a kill)."""

    priority = "LOWEST"

    def __init__(self, iters):
        self.iters = iters

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 >= self.iters:  # the loop counts this iteration after the hooks
            raise _Killed


def _train(cfg, kill_at=None) -> Runner:
    runner = Runner.from_cfg(cfg)
    if kill_at is not None:
        runner.register_hook(_KillAt(kill_at))
    try:
        runner.train()
    except _Killed:
        pass
    finally:
        runner.close()
    return runner


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def _assert_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize(
    ("by_epoch", "kills", "workers", "persistent"),
    [
        (False, (3, 5), 2, False),  # InfiniteSampler; 3 = inside the first pass over the data
        (True, (4, 6), 2, False),  # DefaultSampler; 4 = mid-epoch, 6 = an epoch boundary
        (True, (5, 6), 1, True),  # persistent workers: one iterator for all epochs
    ],
    ids=["iter-2workers", "epoch-2workers", "epoch-1persistent"],
)
def test_killed_and_resumed_run_ends_with_the_uninterrupted_weights(
    data_root, tmp_path, by_epoch, kills, workers, persistent
):
    torch.set_num_threads(1)
    full = tmp_path / "full"
    _train(_config(data_root, full, by_epoch, workers=workers, persistent=persistent))
    expected = _weights(full / "iter_9.pth")
    for kill in kills:
        work = tmp_path / f"killed_at_{kill}"
        _train(_config(data_root, work, by_epoch, workers=workers, persistent=persistent), kill)
        assert (work / "last_checkpoint").read_text().endswith(f"iter_{kill}.pth")
        resumed = _config(data_root, work, by_epoch, workers=workers, persistent=persistent)
        resumed["resume"] = True
        runner = _train(resumed)
        assert runner.iter == 9
        _assert_equal(_weights(work / "iter_9.pth"), expected)
    # The sample seeds do not depend on the workers: loading in the training process is equal.
    in_process = tmp_path / "no_workers"
    _train(_config(data_root, in_process, by_epoch, workers=0))
    _assert_equal(_weights(in_process / "iter_9.pth"), expected)


def test_resume_from_the_checkpoints_of_a_run_with_workers_at_every_iteration(data_root, tmp_path):
    torch.set_num_threads(1)
    full = tmp_path / "full"
    _train(_config(data_root, full, by_epoch=False))
    expected = _weights(full / "iter_9.pth")
    for k in (1, 2, 4, 6, 7, 8):
        work = tmp_path / f"from_{k}"
        work.mkdir()
        shutil.copy(full / f"iter_{k}.pth", work / f"iter_{k}.pth")
        (work / "last_checkpoint").write_text(str(work / f"iter_{k}.pth"))
        cfg = _config(data_root, work, by_epoch=False, workers=2)
        cfg["resume"] = True
        _train(cfg)
        _assert_equal(_weights(work / "iter_9.pth"), expected)


class _Draws(torch.utils.data.Dataset):
    """Each sample is one draw from each global generator (what an augmentation does)."""

    metainfo = dict(classes=("a",))

    def __len__(self):
        return 5

    def __getitem__(self, index):
        return (index, random.random(), float(np.random.rand()), float(torch.rand(())))


def _loader(workers, persistent=False, sampler="InfiniteSampler", seed=7):
    return build_dataloader(
        dict(
            batch_size=2,
            num_workers=workers,
            persistent_workers=persistent,
            sampler=dict(type=sampler, shuffle=True),
            dataset=_Draws(),
            collate_fn=dict(type="default_collate"),
        ),
        seed=seed,
    )


def _rows(batch):
    return torch.tensor(batch, dtype=torch.float64)  # (index, random, numpy, torch) per sample


def _take(loader, batches):
    iterator = iter(loader)
    return [_rows(next(iterator)) for _ in range(batches)]


def test_samples_are_the_same_with_any_worker_count_and_resume_point():
    reference = _take(_loader(0), 8)
    for workers in (1, 2):
        assert all(torch.equal(a, b) for a, b in zip(_take(_loader(workers), 8), reference))
    # Resuming at batch 3: the sampler skips six samples, positions go on from there.
    loader = _loader(2)
    loader.sampler.set_start(3 * 2)
    assert all(torch.equal(a, b) for a, b in zip(_take(loader, 5), reference[3:]))
    # Another seed, other augmentation; the data order is the sampler's, so the same.
    other = _take(_loader(0, seed=8), 8)
    assert not torch.equal(other[0][:, 1:], reference[0][:, 1:])


def test_epochs_give_new_draws_and_persistent_workers_the_same():
    def epochs(loader):
        out = []
        for epoch in range(3):
            loader.sampler.set_epoch(epoch)
            out.extend(_rows(batch) for batch in loader)
        return torch.cat(out)

    reference = epochs(_loader(0, sampler="DefaultSampler"))
    assert reference.shape == (15, 4)
    assert torch.equal(epochs(_loader(2, persistent=True, sampler="DefaultSampler")), reference)
    by_index = [
        reference[e * 5 : e * 5 + 5][reference[e * 5 : e * 5 + 5, 0].argsort()] for e in (0, 1)
    ]
    assert not torch.isin(by_index[1][:, 1:], by_index[0][:, 1:]).any()  # new draws every epoch


def test_loading_in_the_training_process_leaves_its_generators_alone():
    def seed_all():
        torch.manual_seed(0)
        np.random.seed(0)
        random.seed(0)

    seed_all()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    iterator = iter(_loader(0))  # torch draws the iterator's base seed here, not per sample
    seed_all()
    for _ in range(3):
        next(iterator)
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(got[0], expected[0])
    assert np.array_equal(got[1], expected[1]) and got[2] == expected[2]


def test_sample_index_is_an_int_that_survives_pickling():
    index = SampleIndex(4, 123)
    assert index == 4 and [10, 11, 12, 13, 14][index] == 14
    copy = pickle.loads(pickle.dumps(index))
    assert type(copy) is SampleIndex and copy == 4 and copy.position == 123
    sampler = DefaultSampler(range(4), shuffle=False)
    sampler.set_epoch(2)
    sampler.set_start(1)
    assert [(int(i), i.position) for i in sampler] == [(1, 9), (2, 10), (3, 11)]
    infinite = InfiniteSampler(range(3), shuffle=False)
    infinite.set_start(2)
    stream = iter(infinite)
    firsts = [next(stream) for _ in range(2)]
    assert [(int(i), i.position) for i in firsts] == [(2, 2), (0, 3)]


def test_the_wrapper_is_transparent_for_reading_and_setting_attributes():
    inner = _Draws()
    loader = _loader(0)
    wrapped = loader.dataset
    assert isinstance(wrapped, PositionSeededDataset) and isinstance(loader, DataLoader)
    assert wrapped.metainfo == dict(classes=("a",)) and len(wrapped) == 5
    wrapped.pipeline = "swapped"  # what a pipeline-switching hook does
    assert wrapped.dataset.pipeline == "swapped" and "pipeline" not in vars(wrapped)
    assert wrapped[2][0] == 2  # a plain int goes straight through
    seeded = PositionSeededDataset(inner, seed=1, rank=0)
    again = pickle.loads(pickle.dumps(seeded))  # spawn-started workers get a pickled copy
    assert again[SampleIndex(1, 5)] == seeded[SampleIndex(1, 5)]
    with pytest.raises(AttributeError):
        _ = wrapped.no_such_attribute
