"""``Evaluator``: runs several metrics over the same predictions (MMEngine's interface).

The loops call :meth:`Evaluator.process` once per batch and :meth:`Evaluator.evaluate` once
per dataset. Data samples reach the metrics as MMEngine-style dicts, so metrics written for
MMSegmentation (``data_sample['pred_sem_seg']['data']``) work unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segwright.evaluation.metrics.base_metric import BaseMetric
from segwright.evaluation.samples import sample_to_dict
from segwright.registry import EVALUATORS, METRICS, build_if_dict
from segwright.utils.errors import ConfigError


@EVALUATORS.register_module()
class Evaluator:
    """Holds a list of metrics and feeds them the model's outputs.

    Args:
        metrics: A metric, a metric config dict, or a list of them.
    """

    def __init__(self, metrics: Any) -> None:
        if isinstance(metrics, (Mapping, BaseMetric)) or not isinstance(metrics, Sequence):
            metrics = [metrics]
        self.metrics: list[Any] = []
        for index, metric in enumerate(metrics):
            built = build_if_dict(metric, METRICS, key=f"metrics[{index}]")
            if not (
                callable(getattr(built, "process", None))
                and callable(getattr(built, "evaluate", None))
            ):
                raise ConfigError(
                    f"Evaluator metrics[{index}] must be a metric (with process() and "
                    f"evaluate()) or a config dict, got {type(built).__name__}: {built!r}."
                )
            self.metrics.append(built)
        self._dataset_meta: dict[str, Any] | None = None

    @property
    def dataset_meta(self) -> dict[str, Any] | None:
        """The dataset's metainfo; setting it sets it on every metric."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict[str, Any] | None) -> None:
        self._dataset_meta = dataset_meta
        for metric in self.metrics:
            metric.dataset_meta = dataset_meta

    def process(self, data_samples: Sequence[Any], data_batch: Any = None) -> None:
        """Hand one batch of outputs to every metric (samples converted to dicts)."""
        samples = [sample_to_dict(sample) for sample in data_samples]
        for metric in self.metrics:
            metric.process(data_batch, samples)

    def evaluate(self, size: int) -> dict[str, Any]:
        """Every metric's results in one dict.

        Raises:
            ValueError: Two metrics return the same key; give them different ``prefix``.
        """
        results: dict[str, Any] = {}
        for metric in self.metrics:
            for key, value in metric.evaluate(size).items():
                if key in results:
                    raise ValueError(
                        f"Two metrics returned the key {key!r}. Give each metric its own "
                        "prefix=... in the evaluator config."
                    )
                results[key] = value
        return results

    @property
    def class_metrics(self) -> dict[str, float]:
        """Per-class scalars of the last :meth:`evaluate`, merged over metrics (for loggers)."""
        merged: dict[str, float] = {}
        for metric in self.metrics:
            merged.update(getattr(metric, "class_metrics", {}) or {})
        return merged

    def offline_evaluate(
        self, data_samples: Sequence[Any], data: Sequence[Any] | None = None, chunk_size: int = 1
    ) -> dict[str, Any]:
        """Evaluate saved predictions without a model, ``chunk_size`` samples at a time."""
        if data is not None and len(data) != len(data_samples):
            raise ValueError(
                f"offline_evaluate got {len(data_samples)} data samples but {len(data)} data "
                "items; they must pair up."
            )
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}.")
        for start in range(0, len(data_samples), chunk_size):
            chunk = data_samples[start : start + chunk_size]
            batch = None if data is None else list(data[start : start + chunk_size])
            self.process(chunk, batch)
        return self.evaluate(len(data_samples))
