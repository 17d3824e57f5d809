"""``BaseMetric``: MMEngine's metric interface, so users' custom metrics port unchanged.

A metric sees the model's outputs batch by batch in :meth:`BaseMetric.process`, keeps what
it needs in ``self.results``, and turns the results of the whole dataset into numbers in
:meth:`BaseMetric.compute_metrics`. :meth:`BaseMetric.evaluate` gathers the results of every
process (dataset order, padding samples dropped), computes on rank 0 and shares the answer.
"""

from __future__ import annotations

import copy
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from segwright.utils.dist import broadcast_object, collect_results, is_main_process, to_cpu
from segwright.utils.errors import ConfigError


class BaseMetric(ABC):
    """Base class of every metric (MMEngine's ``BaseMetric`` interface).

    Args:
        collect_device: ``'cpu'`` or ``'gpu'``: where MMEngine gathers results across
            processes. Accepted for compatibility; results always travel through
            ``torch.distributed``'s object collectives on the CPU.
        prefix: Put before every returned key as ``<prefix>/<key>``, to tell apart metrics
            with equal names. None uses the class's ``default_prefix``.
        collect_dir: MMEngine's temporary folder for CPU gathering; accepted and unused.

    Attributes:
        results: What :meth:`process` kept, one entry per sample usually.
        class_metrics: Extra scalars from the last :meth:`evaluate` that are not part of the
            returned summary (per-class values for loggers), prefixed like the summary.
    """

    default_prefix: str | None = None

    def __init__(
        self,
        collect_device: str = "cpu",
        prefix: str | None = None,
        collect_dir: str | None = None,
    ) -> None:
        if collect_device not in ("cpu", "gpu"):
            raise ConfigError(
                f"{type(self).__name__}: collect_device must be 'cpu' or 'gpu', got "
                f"{collect_device!r}."
            )
        self._dataset_meta: dict[str, Any] | None = None
        self.collect_device = collect_device
        self.collect_dir = collect_dir
        self.prefix = prefix or self.default_prefix
        self.results: list[Any] = []
        self.class_metrics: dict[str, float] = {}

    @property
    def dataset_meta(self) -> dict[str, Any] | None:
        """The dataset's metainfo (``classes``, ``palette``, ...), set by the evaluator."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict[str, Any] | None) -> None:
        self._dataset_meta = copy.deepcopy(dataset_meta)

    @abstractmethod
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Keep in ``self.results`` what one batch contributes.

        Args:
            data_batch: The batch from the dataloader (often unused).
            data_samples: The model's outputs, one data sample (object or dict) per image.
        """

    @abstractmethod
    def compute_metrics(self, results: list[Any]) -> dict[str, Any]:
        """Turn the results of the whole dataset into ``{name: value}``."""

    def add_prefix(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """``{'mIoU': v}`` -> ``{'<prefix>/mIoU': v}`` when a prefix is set."""
        if not self.prefix:
            return dict(metrics)
        return {f"{self.prefix}/{key}": value for key, value in metrics.items()}

    def evaluate(self, size: int) -> dict[str, Any]:
        """Gather ``self.results`` from every process, compute the metrics, then clear them.

        Args:
            size: Number of samples in the dataset; results beyond it (padding added by
                distributed samplers) are dropped.

        Returns:
            The metrics, keys prefixed, identical on every process.
        """
        if not self.results:
            warnings.warn(
                f"{type(self).__name__} got empty `self.results`. Please ensure that the "
                "processed results are properly added into `self.results` in `process`.",
                stacklevel=2,
            )
        results = collect_results(self.results, size)
        if is_main_process():
            self.class_metrics = {}
            metrics = self.add_prefix(self.compute_metrics(to_cpu(results)))
            shared = (metrics, self.add_prefix(self.class_metrics))
        else:
            shared = None
        metrics, self.class_metrics = broadcast_object(shared)
        self.results.clear()
        return metrics
