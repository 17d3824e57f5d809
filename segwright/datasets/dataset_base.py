"""``BaseDataset``: what every file-list dataset shares (MMEngine's ``BaseDataset`` contract).

A subclass reads its annotation files in :meth:`BaseDataset.load_data_list` (one dict per
sample); this class does the rest the same way for segmentation and detection: ``metainfo``
merged over the class's ``METAINFO``, paths joined to ``data_root``, ``filter_data``,
``indices``, serialisation into one byte buffer, ``lazy_init``, ``sample_idx``, and the
refetch of another sample when the pipeline returns None.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from segwright.datasets.serialize import PackedList
from segwright.datasets.transforms.compose import Compose
from segwright.utils.errors import ConfigError, DatasetError


def read_lines(path: str) -> list[str]:
    """Stripped, non-empty lines of a text file."""
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


class BaseDataset(Dataset):
    """The sample list of a dataset and how samples go through the pipeline.

    Subclasses call :meth:`_init_base` in their ``__init__`` (after their own attributes are
    set, since a non-lazy dataset reads its files there) and implement
    :meth:`load_data_list`; they may override :meth:`_check_data_list` (after loading) and
    :meth:`filter_data` (reads ``self.data_list``, returns the kept dicts; MMEngine's hook).
    """

    METAINFO: dict = dict()

    def _init_base(
        self,
        data_root: str | None,
        indices: int | Sequence[int] | None,
        serialize_data: bool,
        pipeline: Sequence[Any],
        test_mode: bool,
        lazy_init: bool,
        max_refetch: int,
    ) -> None:
        """Set the shared attributes, build the pipeline and, unless lazy, load the list."""
        self._indices = indices
        self.serialize_data = serialize_data
        self.test_mode = test_mode
        self.max_refetch = int(max_refetch)
        self.pipeline = Compose(pipeline)
        self.data_list: list[dict[str, Any]] = []
        self._data_list: list[dict] | PackedList = []
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    # -- paths and metainfo --------------------------------------------------------------------

    def _join(self, path: str) -> str:
        """``path`` joined to ``data_root`` unless it is absolute (or empty without a root)."""
        path = os.path.expanduser(path)
        if path and os.path.isabs(path):
            return path
        if getattr(self, "data_root", ""):
            return os.path.join(self.data_root, path)
        return path

    @classmethod
    def _load_metainfo(cls, metainfo: Mapping[str, Any] | None) -> dict[str, Any]:
        """``METAINFO`` updated with ``metainfo``; ``classes`` may name a text file."""
        merged = copy.deepcopy(dict(cls.METAINFO))
        if metainfo is None:
            return merged
        if not isinstance(metainfo, Mapping):
            raise ConfigError(
                f"{cls.__name__}: metainfo must be a dict such as dict(classes=(...), "
                f"palette=[...]), got {type(metainfo).__name__}."
            )
        for key, value in copy.deepcopy(dict(metainfo)).items():
            if key == "classes" and isinstance(value, str):
                if not os.path.isfile(value):
                    raise ConfigError(
                        f"{cls.__name__}: metainfo.classes={value!r} is neither a list of names "
                        "nor an existing text file (one class name per line)."
                    )
                value = tuple(read_lines(value))
            merged[key] = value
        if "classes" in merged and merged["classes"] is not None:
            merged["classes"] = tuple(merged["classes"])
            if not merged["classes"]:
                raise ConfigError(
                    f"{cls.__name__}: metainfo.classes is empty. Name the classes, e.g. "
                    "metainfo=dict(classes=('background', 'road')), or leave classes out."
                )
        return merged

    @property
    def metainfo(self) -> dict[str, Any]:
        """The dataset's meta information (a copy)."""
        return copy.deepcopy(self._metainfo)

    # -- the sample list -----------------------------------------------------------------------

    def load_data_list(self) -> list[dict[str, Any]]:
        """Read the annotation files; one dict per sample."""
        raise NotImplementedError(f"{type(self).__name__} must implement load_data_list().")

    def _check_data_list(self, data: list[dict[str, Any]]) -> None:
        """Raise a :class:`DatasetError` when the loaded list cannot be used (default: no check)."""

    def filter_data(self) -> list[dict[str, Any]]:
        """The samples of ``self.data_list`` to keep (default: all of them)."""
        return self.data_list

    def _select(self, data: list[dict[str, Any]]) -> list[dict[str, Any]]:
        indices = self._indices
        if indices is None:
            return data
        if isinstance(indices, int):
            return data[:indices]
        try:
            return [data[int(i)] for i in indices]
        except IndexError as exc:
            raise ConfigError(
                f"{type(self).__name__}: indices {list(indices)} go beyond the {len(data)} samples."
            ) from exc

    def full_init(self) -> None:
        """Build the sample list (once): load, check, filter, subset, serialise."""
        if self._fully_initialized:
            return
        data = self.load_data_list()
        self._check_data_list(data)
        self.data_list = data
        data = self._select(self.filter_data())
        self.data_list = []
        self._data_list = PackedList(data) if self.serialize_data else data
        self._fully_initialized = True

    # -- access --------------------------------------------------------------------------------

    def __len__(self) -> int:
        self.full_init()
        return len(self._data_list)

    def get_data_info(self, idx: int) -> dict[str, Any]:
        """The sample dict before the pipeline (a fresh copy) with its ``sample_idx``."""
        self.full_init()
        if idx < 0:
            idx += len(self)
        data = self._data_list[idx]
        info = data if self.serialize_data else copy.deepcopy(data)
        info["sample_idx"] = idx
        return info

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on sample ``idx``."""
        return self.pipeline(self.get_data_info(idx))

    def __getitem__(self, idx: int) -> Any:
        self.full_init()
        if self.test_mode:
            data = self.prepare_data(idx)
            if data is None:
                raise DatasetError(
                    f"{type(self).__name__}: the test pipeline returned None for sample {idx} "
                    f"({self.get_data_info(idx).get('img_path')}); test pipelines must not skip."
                )
            return data
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is not None:
                return data
            idx = int(np.random.randint(0, len(self)))
        raise DatasetError(
            f"{type(self).__name__}: the pipeline returned None for {self.max_refetch + 1} "
            "samples in a row. Check the images (e.g. unreadable files skipped by "
            "LoadImageFromFile(ignore_empty=True)) and the pipeline."
        )

    def __repr__(self) -> str:
        size = len(self) if self._fully_initialized else "not loaded"
        return (
            f"{type(self).__name__}(samples={size}, classes={len(self._metainfo.get('classes') or [])}, "
            f"data_root={self.data_root!r})"
        )
