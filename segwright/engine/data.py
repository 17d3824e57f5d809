"""Data samplers, collate functions and building a DataLoader from a config dict (SPEC §6.2).

``DefaultSampler`` and ``InfiniteSampler`` shard the dataset across ranks; their order depends
only on ``seed`` and the epoch, so a run is reproducible and a resumed run can skip ahead.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping, Sequence, Sized
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from segwright.registry import DATA_SAMPLERS, DATASETS, FUNCTIONS, build_if_dict
from segwright.utils.dist import get_rank, get_world_size
from segwright.utils.errors import ConfigError


@DATA_SAMPLERS.register_module()
class DefaultSampler(Sampler[int]):
    """Each rank gets every ``world_size``-th index of a (shuffled) epoch order.

    Args:
        dataset: The dataset to sample from.
        shuffle: Reshuffle every epoch (``set_epoch``).
        seed: Seed of the shuffle; the run's seed when None.
        round_up: Pad the index list so every rank gets the same number of samples.
    """

    def __init__(
        self, dataset: Sized, shuffle: bool = True, seed: int | None = None, round_up: bool = True
    ) -> None:
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = 0 if seed is None else int(seed)
        self.round_up = round_up
        self.rank = get_rank()
        self.world_size = get_world_size()
        self.epoch = 0
        self._start = 0
        total = len(dataset)
        if round_up:
            self.num_samples = -(-total // self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = max(0, -(-(total - self.rank) // self.world_size))
            self.total_size = total

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(len(self.dataset), generator=generator).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if self.round_up and indices:
            repeats = -(-self.total_size // len(indices))
            indices = (indices * repeats)[: self.total_size]
        start, self._start = self._start, 0
        return iter(indices[self.rank : self.total_size : self.world_size][start:])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_start(self, num_samples: int) -> None:
        """Skip this rank's first ``num_samples`` indices in the next pass (resuming mid-epoch)."""
        self._start = int(num_samples)


@DATA_SAMPLERS.register_module()
class InfiniteSampler(Sampler[int]):
    """An endless stream of indices (reshuffled after each pass), sharded across ranks."""

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: int | None = None) -> None:
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = 0 if seed is None else int(seed)
        self.rank = get_rank()
        self.world_size = get_world_size()
        self.epoch = 0
        self._start = 0

    def _indices(self) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        while True:
            if self.shuffle:
                yield from torch.randperm(len(self.dataset), generator=generator).tolist()
            else:
                yield from range(len(self.dataset))

    def __iter__(self) -> Iterator[int]:
        start, self._start = self._start, 0
        return itertools.islice(
            self._indices(), self.rank + start * self.world_size, None, self.world_size
        )

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_start(self, num_samples: int) -> None:
        """Skip this rank's first ``num_samples`` indices (resuming without loading them)."""
        self._start = int(num_samples)


@FUNCTIONS.register_module()
def pseudo_collate(batch: Sequence[Any]) -> Any:
    """Group a list of samples field by field without stacking (MMEngine's default).

    ``[dict(inputs=a, data_samples=s), ...]`` -> ``dict(inputs=[a, ...], data_samples=[s, ...])``;
    images of different sizes stay separate and the data preprocessor batches them.
    """
    first = batch[0]
    if isinstance(first, Mapping):
        return {key: pseudo_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, tuple) and not hasattr(first, "_fields"):
        return tuple(pseudo_collate(list(group)) for group in zip(*batch))
    return list(batch)


@FUNCTIONS.register_module()
def default_collate(batch: Sequence[Any]) -> Any:
    """Stack tensors and arrays (torch's default collate), keep other objects in lists."""
    first = batch[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(list(batch))
    if isinstance(first, np.ndarray):
        return torch.as_tensor(np.stack(batch))
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return torch.tensor(batch)
    if isinstance(first, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    return list(batch)


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int) -> None:
    """Give every data-loading worker of every rank its own, reproducible seed."""
    worker_seed = num_workers * rank + worker_id + seed
    try:  # OpenCV's own threads in every worker oversubscribe the CPU (MMEngine sets 0 too)
        import cv2

        cv2.setNumThreads(0)
    except ImportError:
        pass
    np.random.seed(worker_seed % 2**32)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)


def build_dataloader(
    cfg: Mapping[str, Any] | DataLoader, seed: int | None = None, key: str = "train_dataloader"
) -> DataLoader:
    """Build a DataLoader from ``dict(batch_size, num_workers, dataset, sampler, collate_fn, ...)``."""
    if isinstance(cfg, DataLoader):
        return cfg
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"{key} must be a dict or a DataLoader, got {type(cfg).__name__}.")
    cfg = dict(cfg)
    if "dataset" not in cfg:
        raise ConfigError(f"{key} has no 'dataset'. Add dataset=dict(type=..., ...).")
    dataset = build_if_dict(cfg.pop("dataset"), DATASETS, key=f"{key}.dataset")
    if hasattr(dataset, "full_init"):
        dataset.full_init()
    if not isinstance(dataset, Dataset) and not hasattr(dataset, "__getitem__"):
        raise ConfigError(
            f"{key}.dataset built a {type(dataset).__name__}, which is not a dataset."
        )
    sampler_cfg = cfg.pop("sampler", dict(type="DefaultSampler", shuffle=True))
    if isinstance(sampler_cfg, Mapping):
        sampler_cfg = dict(sampler_cfg)
        sampler_cfg.setdefault("seed", seed)
        sampler = DATA_SAMPLERS.build(
            sampler_cfg, default_args=dict(dataset=dataset), key=f"{key}.sampler"
        )
    else:
        sampler = sampler_cfg
    batch_sampler_cfg = cfg.pop("batch_sampler", None)
    collate_cfg = cfg.pop("collate_fn", dict(type="pseudo_collate"))
    collate_fn = _build_collate(collate_cfg, key)
    num_workers = int(cfg.pop("num_workers", 0))
    persistent = bool(cfg.pop("persistent_workers", False)) and num_workers > 0
    init_fn = partial(worker_init_fn, num_workers=num_workers, rank=get_rank(), seed=seed or 0)
    batch_size = int(cfg.pop("batch_size", 1))
    if batch_sampler_cfg is not None:
        raise ConfigError(f"{key}.batch_sampler is not supported yet; remove it.")
    unknown = set(cfg) - {
        "pin_memory",
        "drop_last",
        "prefetch_factor",
        "timeout",
        "multiprocessing_context",
    }
    if unknown:
        raise ConfigError(
            f"{key} has unknown key(s) {sorted(unknown)}. Accepted: batch_size, num_workers, "
            "persistent_workers, pin_memory, drop_last, sampler, collate_fn, dataset."
        )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_fn,
        persistent_workers=persistent,
        worker_init_fn=init_fn if num_workers > 0 else None,
        **cfg,
    )


def shutdown_workers(loader: Any) -> None:
    """Stop a DataLoader's persistent worker processes now instead of at garbage collection.

    Workers left alive are copied into the workers of the next DataLoader forked in the same
    process (several runs in a notebook, a benchmark, a test session); when those exit, torch
    prints 'can only test a child process' tracebacks. The loader starts new workers on its
    next pass.
    """
    iterator = getattr(loader, "_iterator", None)  # torch keeps persistent workers' iterator here
    if iterator is not None:
        shutdown = getattr(iterator, "_shutdown_workers", None)
        if callable(shutdown):
            shutdown()
        loader._iterator = None


def _build_collate(collate_cfg: Any, key: str) -> Any:
    if callable(collate_cfg):
        return collate_cfg
    if isinstance(collate_cfg, Mapping):
        collate_cfg = dict(collate_cfg)
        name = collate_cfg.pop("type", "pseudo_collate")
        function = FUNCTIONS.get(name) if isinstance(name, str) else name
        if function is None:
            raise ConfigError(
                f"{key}.collate_fn type {name!r} is unknown; registered: {', '.join(FUNCTIONS.names())}."
            )
        return partial(function, **collate_cfg) if collate_cfg else function
    raise ConfigError(f"{key}.collate_fn must be a dict(type=...) or a function.")
