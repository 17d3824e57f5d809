"""Dataset wrappers: repeat a dataset, or concatenate several (MMEngine 1.x semantics)."""

from __future__ import annotations

import bisect
import copy
from collections.abc import Mapping, Sequence
from typing import Any

from torch.utils.data import Dataset

from segwright.registry import DATASETS, build_if_dict
from segwright.utils.errors import ConfigError, DatasetError


def _build(dataset: Any, key: str) -> Any:
    built = build_if_dict(dataset, DATASETS, key=key)
    if not hasattr(built, "__getitem__") or not hasattr(built, "__len__"):
        raise ConfigError(f"{key} built a {type(built).__name__}, which is not a dataset.")
    return built


def _full_init(dataset: Any) -> None:
    if hasattr(dataset, "full_init"):
        dataset.full_init()


@DATASETS.register_module()
class RepeatDataset(Dataset):
    """``times`` passes over ``dataset`` as one long dataset (short datasets, long schedules).

    Args:
        dataset: A dataset or its config dict.
        times: Number of repeats.
        lazy_init: Defer initialising the inner dataset.
    """

    def __init__(self, dataset: Any, times: int, lazy_init: bool = False) -> None:
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise ConfigError(f"RepeatDataset: times must be a positive int, got {times!r}.")
        self.dataset = _build(dataset, "dataset")
        self.times = times
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict[str, Any]:
        return copy.deepcopy(getattr(self.dataset, "metainfo", {}))

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        _full_init(self.dataset)
        self._ori_len = len(self.dataset)
        self._fully_initialized = True

    def __len__(self) -> int:
        self.full_init()
        return self.times * self._ori_len

    def get_data_info(self, idx: int) -> dict[str, Any]:
        self.full_init()
        return self.dataset.get_data_info(idx % self._ori_len)

    def __getitem__(self, idx: int) -> Any:
        self.full_init()
        if idx < 0:
            idx += len(self)
        return self.dataset[idx % self._ori_len]


@DATASETS.register_module()
class ConcatDataset(Dataset):
    """Several datasets as one; their ``metainfo`` must agree (except ``ignore_keys``).

    Args:
        datasets: Datasets or config dicts.
        lazy_init: Defer initialising the inner datasets.
        ignore_keys: Metainfo keys allowed to differ.
    """

    def __init__(
        self,
        datasets: Sequence[Any],
        lazy_init: bool = False,
        ignore_keys: str | Sequence[str] | None = None,
    ) -> None:
        if (
            isinstance(datasets, (str, Mapping))
            or not isinstance(datasets, Sequence)
            or not datasets
        ):
            raise ConfigError("ConcatDataset: datasets must be a non-empty list of datasets.")
        self.datasets = [_build(d, f"datasets[{i}]") for i, d in enumerate(datasets)]
        if ignore_keys is None:
            ignore_keys = []
        elif isinstance(ignore_keys, str):
            ignore_keys = [ignore_keys]
        self.ignore_keys = list(ignore_keys)
        self._metainfo = getattr(self.datasets[0], "metainfo", {}) or {}
        self._check_metainfo()
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    def _check_metainfo(self) -> None:
        first = self._metainfo
        for i, dataset in enumerate(self.datasets[1:], start=1):
            other = getattr(dataset, "metainfo", {}) or {}
            for key in sorted(set(first) | set(other)):
                if key in self.ignore_keys:
                    continue
                if first.get(key) != other.get(key):
                    raise DatasetError(
                        f"ConcatDataset: datasets[{i}] ({type(dataset).__name__}) has metainfo "
                        f"{key}={_short(other.get(key))}, but datasets[0] "
                        f"({type(self.datasets[0]).__name__}) has {_short(first.get(key))}. "
                        "Concatenated datasets must share classes and settings; add the key to "
                        "ignore_keys if the difference is intended."
                    )

    @property
    def metainfo(self) -> dict[str, Any]:
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        ends = []
        total = 0
        for dataset in self.datasets:
            _full_init(dataset)
            total += len(dataset)
            ends.append(total)
        self.cumulative_sizes = ends
        self._fully_initialized = True

    def __len__(self) -> int:
        self.full_init()
        return self.cumulative_sizes[-1]

    def _locate(self, idx: int) -> tuple[int, int]:
        self.full_init()
        if idx < 0:
            if -idx > len(self):
                raise IndexError(f"index {idx} out of range for length {len(self)}")
            idx += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        if which >= len(self.datasets):
            raise IndexError(f"index {idx} out of range for length {len(self)}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return which, idx - start

    def get_data_info(self, idx: int) -> dict[str, Any]:
        which, inner = self._locate(idx)
        return self.datasets[which].get_data_info(inner)

    def __getitem__(self, idx: int) -> Any:
        which, inner = self._locate(idx)
        return self.datasets[which][inner]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
