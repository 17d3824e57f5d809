"""Data samplers, collate functions and building a DataLoader from a config dict (SPEC §6.2).

``DefaultSampler`` and ``InfiniteSampler`` shard the dataset across ranks; their order depends
only on ``seed`` and the epoch, so a run is reproducible and a resumed run can skip ahead.

Augmentation is seeded per sample, not per worker: the samplers yield :class:`SampleIndex`
(an index that knows its position in this rank's stream of samples over the whole run), and
:class:`PositionSeededDataset` runs each sample's pipeline with Python's, NumPy's and torch's
CPU generators seeded from ``(seed, rank, position)``. Which worker loads a sample, how many
workers there are, and where a run was resumed then change nothing.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping, Sequence, Sized
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, get_worker_info

from segwright.engine.prefetch import DevicePrefetchLoader
from segwright.engine.rng import sample_seed, seeded_rng
from segwright.registry import DATA_SAMPLERS, DATASETS, FUNCTIONS, build_if_dict
from segwright.utils.dist import get_rank, get_world_size
from segwright.utils.errors import ConfigError
from segwright.utils.suggest import did_you_mean


class SampleIndex(int):
    """A dataset index that also carries its position in this rank's sample stream.

    It is the int it stands for everywhere; :class:`PositionSeededDataset` reads ``position``
    to seed the sample's augmentation. Position ``p`` is the ``p``-th sample this rank's
    sampler yields in the whole run (epochs included), so a resumed run gives it again.
    """

    position: int

    def __new__(cls, index: int, position: int) -> SampleIndex:
        self = super().__new__(cls, index)
        self.position = position
        return self

    def __reduce__(self) -> tuple[Any, tuple[int, int]]:  # into worker processes
        return SampleIndex, (int(self), self.position)


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
        first = self.epoch * self.num_samples + start
        mine = indices[self.rank : self.total_size : self.world_size][start:]
        return map(SampleIndex, mine, itertools.count(first))

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

    #: Read by the loops (``loop_checks.sampler_is_endless``): an epoch never ends.
    infinite = True

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
        mine = itertools.islice(
            self._indices(), self.rank + start * self.world_size, None, self.world_size
        )
        return map(SampleIndex, mine, itertools.count(start))

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_start(self, num_samples: int) -> None:
        """Skip this rank's first ``num_samples`` indices (resuming without loading them)."""
        self._start = int(num_samples)


@DATA_SAMPLERS.register_module()
class AspectRatioBatchSampler(Sampler[list[int]]):
    """Batches of images that are all landscape (``width >= height``) or all portrait.

    MMDetection 3.3's batch sampler (``batch_sampler=dict(type='AspectRatioBatchSampler')`` in a
    dataloader config): indices from ``sampler`` go to one of two buckets by
    ``dataset.get_data_info(idx)``'s ``width`` and ``height``; a full bucket is yielded. At
    the end of a pass the leftovers (portrait ones first) are yielded in chunks of
    ``batch_size``, mixed; with ``drop_last`` the last chunk is dropped, even a full one
    (MMDetection's rule, so ``len()`` may then count one batch more than a pass yields).

    Args:
        sampler: The index sampler (its ``dataset`` must have ``get_data_info``).
        batch_size: Images per batch.
        drop_last: Drop the last chunk of leftovers.

    Raises:
        ConfigError: ``batch_size`` is not a positive int, or the sampler's dataset does not
            tell image sizes.
    """

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool = False) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ConfigError(
                f"AspectRatioBatchSampler: batch_size must be a positive int, got {batch_size!r}."
            )
        dataset = getattr(sampler, "dataset", None)
        if not hasattr(dataset, "get_data_info"):
            raise ConfigError(
                "AspectRatioBatchSampler needs a sampler with a .dataset that has "
                f"get_data_info(idx) (image width/height); {type(sampler).__name__} has none."
            )
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _bucket(self, idx: int) -> int:
        info = self.sampler.dataset.get_data_info(idx)
        try:
            return 0 if info["width"] < info["height"] else 1
        except KeyError:
            raise ConfigError(
                f"AspectRatioBatchSampler: sample {idx} of {type(self.sampler.dataset).__name__} "
                "has no 'width'/'height' (detection datasets such as CocoDataset have them); "
                "remove batch_sampler from the dataloader config."
            ) from None

    def __iter__(self) -> Iterator[list[int]]:
        buckets: list[list[int]] = [[], []]
        for idx in self.sampler:
            bucket = buckets[self._bucket(idx)]
            bucket.append(idx)
            if len(bucket) == self.batch_size:
                yield bucket[:]
                bucket.clear()
        left = buckets[0] + buckets[1]
        while len(left) > self.batch_size:
            yield left[: self.batch_size]
            left = left[self.batch_size :]
        if left and not self.drop_last:
            yield left

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


def index_sampler(loader: Any) -> Any:
    """The sampler that draws a loader's indices (inside its batch sampler when it has one)."""
    inner = getattr(getattr(loader, "batch_sampler", None), "sampler", None)
    return inner if inner is not None else getattr(loader, "sampler", None)


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


class PositionSeededDataset(Dataset):
    """Loads each sample with generators seeded from its position in the run.

    For a :class:`SampleIndex`, Python's ``random``, NumPy's global generator and torch's CPU
    generator are seeded from ``sample_seed(seed, rank, position)`` while ``dataset[index]``
    runs, so the sample's augmentation is the same in every worker, with any number of
    workers, and after a resume. In the training process itself (``num_workers=0``) their
    previous states are restored afterwards. A plain int goes straight through.

    Everything else (``len``, attributes, setting attributes) is the wrapped dataset's, which
    ``dataset`` holds (like MMEngine's dataset wrappers).

    Args:
        dataset: The map-style dataset to load from.
        seed: The run's seed.
        rank: This process's rank.
    """

    _OWN = frozenset({"dataset", "_seed", "_rank"})

    def __init__(self, dataset: Any, seed: int, rank: int) -> None:
        object.__setattr__(self, "dataset", dataset)
        object.__setattr__(self, "_seed", int(seed))
        object.__setattr__(self, "_rank", int(rank))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        position = getattr(index, "position", None)
        if position is None:
            return self.dataset[index]
        words = sample_seed(self._seed, self._rank, position)
        with seeded_rng(words, restore=get_worker_info() is None):
            return self.dataset[int(index)]

    def __getattr__(self, name: str) -> Any:
        # Dunders stay unforwarded: pickling and torch's ``__getitems__`` probe look them up.
        if name.startswith("__") or name in self._OWN:
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._OWN:
            object.__setattr__(self, name, value)
        else:  # e.g. a hook swapping ``runner.train_dataloader.dataset.pipeline``
            setattr(self.dataset, name, value)


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int) -> None:
    """Give every data-loading worker of every rank its own, reproducible seed (MMEngine's rule).

    Samples from the samplers here are reseeded by :class:`PositionSeededDataset` anyway; this
    seed serves whatever else a worker draws (a custom sampler's plain indices).
    """
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
    cfg: Mapping[str, Any] | DataLoader,
    seed: int | None = None,
    key: str = "train_dataloader",
    device: torch.device | str | None = None,
) -> DataLoader:
    """Build a DataLoader from ``dict(batch_size, num_workers, dataset, sampler, collate_fn, ...)``.

    ``device`` is the run's: on CUDA ``pin_memory`` defaults to True (:func:`default_pin_memory`)
    and ``prefetch_to_device=True`` (a segwright key, default False) copies the next batch
    there while the current step runs (:mod:`segwright.engine.prefetch`).
    """
    if isinstance(cfg, DataLoader):
        return cfg
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"{key} must be a dict or a DataLoader, got {type(cfg).__name__}.")
    cfg = dict(cfg)
    if cfg.get("dataset") is None:
        near = did_you_mean("dataset", [k for k in cfg if isinstance(k, str)])
        raise ConfigError(
            f"{key} has no 'dataset'.{near} Add dataset=dict(type=..., ...). Keys given: "
            f"{', '.join(map(str, cfg)) or '(none)'}."
        )
    _check_loader_values(cfg, key)
    dataset = build_if_dict(cfg.pop("dataset"), DATASETS, key=f"{key}.dataset")
    if hasattr(dataset, "full_init"):
        dataset.full_init()
    if not isinstance(dataset, Dataset) and not hasattr(dataset, "__getitem__"):
        raise ConfigError(
            f"{key}.dataset built a {type(dataset).__name__}, which is not a dataset."
        )
    sampler_cfg = cfg.pop("sampler", dict(type="DefaultSampler", shuffle=True))
    if sampler_cfg is None or isinstance(sampler_cfg, str):
        raise ConfigError(
            f"{key}.sampler must be a dict(type=...) or a sampler, got {sampler_cfg!r}. Use "
            "sampler=dict(type='InfiniteSampler', shuffle=True) for iteration-based training, "
            "dict(type='DefaultSampler', shuffle=True) for epochs, shuffle=False to evaluate."
        )
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
    batch_sampler = _build_batch_sampler(batch_sampler_cfg, sampler, batch_size, cfg, key)
    prefetch = cfg.pop("prefetch_to_device", False)
    cfg.setdefault("pin_memory", default_pin_memory(device))
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
            "persistent_workers, pin_memory, drop_last, sampler, batch_sampler, collate_fn, "
            "dataset, prefetch_factor, timeout, multiprocessing_context, prefetch_to_device."
        )
    if not isinstance(dataset, IterableDataset):
        dataset = PositionSeededDataset(dataset, seed=seed or 0, rank=get_rank())
    # Each new iterator (every epoch, or once with persistent workers) draws a seed for its
    # workers; from a generator of its own it leaves the training process's torch stream
    # (dropout, ...) the same whatever the worker settings and wherever a run resumed.
    generator = torch.Generator()
    generator.manual_seed((seed or 0) % 2**64)
    if batch_sampler is not None:
        # torch takes either a batch sampler or batch_size/sampler/drop_last.
        batching: dict[str, Any] = dict(batch_sampler=batch_sampler)
    else:
        batching = dict(batch_size=batch_size, sampler=sampler)
    if prefetch:
        cfg["device"] = device
    return (DevicePrefetchLoader if prefetch else DataLoader)(
        dataset,
        **batching,
        num_workers=num_workers,
        collate_fn=collate_fn,
        persistent_workers=persistent,
        worker_init_fn=init_fn if num_workers > 0 else None,
        generator=generator,
        **cfg,
    )


def _check_loader_values(cfg: Mapping[str, Any], key: str) -> None:
    """``batch_size``, ``num_workers``: whole numbers in range (torch would round 2.5 or raise)."""
    for name, low in (("batch_size", 1), ("num_workers", 0), ("prefetch_factor", 1)):
        if name not in cfg or (name == "prefetch_factor" and cfg[name] is None):
            continue
        value = cfg[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(
                f"{key}.{name} must be a whole number >= {low}, got {value!r}"
                f"{f' ({type(value).__name__})' if not isinstance(value, int) else ''}."
            )
    for name in ("drop_last", "pin_memory", "persistent_workers", "prefetch_to_device"):
        if name in cfg and not isinstance(cfg[name], bool):
            raise ConfigError(f"{key}.{name} must be True or False, got {cfg[name]!r}.")


def default_pin_memory(device: torch.device | str | None) -> bool:
    """``pin_memory`` when the config leaves it out: True for a CUDA run, else False.

    Pinned batches copy to the GPU asynchronously (``non_blocking``); a CPU run has nothing to
    copy to, so pinning would only cost time there.
    """
    return device is not None and torch.device(device).type == "cuda"


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


def _build_batch_sampler(
    cfg: Any, sampler: Any, batch_size: int, loader_cfg: Mapping[str, Any], key: str
) -> Any:
    """The batch sampler of ``batch_sampler=dict(type=...)`` (or a built one), or None."""
    if cfg is None:
        return None
    if "drop_last" in loader_cfg:
        raise ConfigError(
            f"{key} sets both batch_sampler and drop_last; move drop_last into "
            f"{key}.batch_sampler (e.g. dict(type='AspectRatioBatchSampler', drop_last=True))."
        )
    if isinstance(cfg, Mapping):
        return DATA_SAMPLERS.build(
            dict(cfg),
            default_args=dict(sampler=sampler, batch_size=batch_size),
            key=f"{key}.batch_sampler",
        )
    return cfg


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
