"""``IoUMetric``: aAcc, mIoU, mAcc, mDice, mFscore as MMSegmentation 1.x reports them.

Each image is reduced to four per-class pixel counts on the prediction's device; at the end
the counts are summed, across processes with one ``all_reduce`` (never by gathering
per-image results), and turned into percentages rounded to 2 decimals.

Returned dict: the summary only (``aAcc``, ``mIoU``, ``mAcc``, ...), as 1.x returns it, so
``save_best='auto'`` and log lines stay as users know them. Per-class values for loggers are
in the separate dict :attr:`IoUMetric.class_metrics` (``IoU/<class>``, ``Acc/<class>``, ...),
and the table in :meth:`IoUMetric.class_table`.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch

from segwright.evaluation.functional import (
    check_metric_names,
    intersect_and_union,
    per_class,
    summarize,
    total_area_to_metrics,
)
from segwright.evaluation.metrics.base_metric import BaseMetric
from segwright.evaluation.samples import get_field, pixel_tensor
from segwright.evaluation.table import format_class_table
from segwright.registry import METRICS
from segwright.utils.dist import all_reduce_sum, get_rank, get_world_size, is_main_process
from segwright.utils.errors import ConfigError

logger = logging.getLogger(__name__)


@METRICS.register_module()
class IoUMetric(BaseMetric):
    """Intersection-over-union family of semantic segmentation metrics.

    Args:
        ignore_index: Ground-truth value of pixels that do not count.
        iou_metrics: Any of ``'mIoU'``, ``'mDice'``, ``'mFscore'``.
        nan_to_num: Replace NaN per-class values (classes absent from the ground truth)
            before averaging, or None to leave them out of the averages.
        beta: Weight of recall in the F-score.
        collect_device: See :class:`BaseMetric`.
        output_dir: When set, each prediction is written there as ``<image stem>.png`` (class
            ids, +1 for ``reduce_zero_label`` datasets) for submission to test servers.
        format_only: Only write predictions (needs ``output_dir``); compute nothing.
        prefix: See :class:`BaseMetric`.

    ``dataset_meta['classes']`` gives the class names and their number.
    """

    def __init__(
        self,
        ignore_index: int = 255,
        iou_metrics: str | Sequence[str] = ("mIoU",),
        nan_to_num: float | None = None,
        beta: float = 1,
        collect_device: str = "cpu",
        output_dir: str | None = None,
        format_only: bool = False,
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index
        self.metrics = check_metric_names(iou_metrics)
        self.nan_to_num = nan_to_num
        self.beta = beta
        self.output_dir = output_dir
        self.format_only = format_only
        if format_only and output_dir is None:
            raise ConfigError(
                "IoUMetric(format_only=True) only writes predictions, so it needs "
                "output_dir='<folder>'. Set output_dir, or drop format_only to compute metrics."
            )
        if output_dir is not None and is_main_process():
            os.makedirs(output_dir, exist_ok=True)
        self._class_table: dict[str, list[Any]] = {}

    # -- per batch -------------------------------------------------------------------------

    def _class_names(self) -> list[str]:
        meta = self.dataset_meta
        if not meta or not meta.get("classes"):
            raise ConfigError(
                f"{type(self).__name__} needs dataset_meta['classes'] (the class names) to "
                "know the number of classes. The runner copies it from the dataset's metainfo; "
                "when using the metric by hand, set metric.dataset_meta = {'classes': (...)}."
            )
        return [str(name) for name in meta["classes"]]

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Reduce each sample's ``pred_sem_seg`` against its ``gt_sem_seg`` to pixel counts.

        Samples may be ``SegDataSample`` objects or the dicts MMEngine's evaluator passes
        (``{'pred_sem_seg': {'data': t}, 'gt_sem_seg': {'data': t}, 'img_path': ...}``).
        """
        num_classes = len(self._class_names())
        for sample in data_samples:
            try:
                pred = pixel_tensor(get_field(sample, "pred_sem_seg")).squeeze()
            except KeyError:
                raise ConfigError(
                    "IoUMetric got a data sample without 'pred_sem_seg'. The model's predict "
                    "mode must return data samples with pred_sem_seg set."
                ) from None
            if not self.format_only:
                try:
                    label = pixel_tensor(get_field(sample, "gt_sem_seg")).squeeze()
                except KeyError:
                    raise ConfigError(
                        "IoUMetric got a data sample without 'gt_sem_seg'. Load annotations in "
                        "the val/test pipeline (LoadAnnotations), or use format_only=True with "
                        "output_dir to only write predictions."
                    ) from None
                self.results.append(
                    intersect_and_union(pred, label.to(pred.device), num_classes, self.ignore_index)
                )
            if self.output_dir is not None:
                self._write_prediction(sample, pred)

    def _write_prediction(self, sample: Any, pred: torch.Tensor) -> None:
        img_path = get_field(sample, "img_path", None)
        if img_path is None:
            raise ConfigError(
                "IoUMetric(output_dir=...) names each PNG after the image file, but a data "
                "sample has no 'img_path' metainfo."
            )
        stem = os.path.splitext(os.path.basename(str(img_path)))[0]
        mask = pred.detach().cpu().numpy()
        if get_field(sample, "reduce_zero_label", False):
            mask = mask + 1
        os.makedirs(self.output_dir, exist_ok=True)
        path = os.path.abspath(os.path.join(self.output_dir, f"{stem}.png"))
        if not cv2.imwrite(path, mask.astype(np.uint8)):
            raise OSError(f"Could not write the prediction PNG {path}.")

    # -- at the end ------------------------------------------------------------------------

    def _local_totals(self, size: int | None, num_classes: int) -> torch.Tensor:
        """Sum this process's counts into a ``(4, C)`` tensor, dropping padding samples."""
        rank, world_size = get_rank(), get_world_size()
        kept = [
            result
            for index, result in enumerate(self.results)
            if size is None or index * world_size + rank < size  # round-robin sharding
        ]
        if not kept:
            return torch.zeros(4, num_classes, dtype=torch.long)
        return torch.stack([torch.stack([area.long() for area in r]) for r in kept]).sum(0)

    def evaluate(self, size: int) -> dict[str, Any]:
        """Sum the counts over samples and processes, then compute the metrics.

        Args:
            size: Number of samples in the dataset. Each process holds samples ``rank``,
                ``rank + world_size``, ... (MMEngine's ``DefaultSampler``); those at or past
                ``size`` are padding and are dropped.

        Returns:
            The summary, identical on every process (keys prefixed when ``prefix`` is set).
        """
        self.class_metrics = {}
        if self.format_only:
            metrics = self.compute_metrics([])
        else:
            if not self.results:
                warnings.warn(
                    f"{type(self).__name__} got empty `self.results`: no sample was processed.",
                    stacklevel=2,
                )
            totals = all_reduce_sum(self._local_totals(size, len(self._class_names())))
            metrics = self.compute_metrics([tuple(totals)])
        self.class_metrics = self.add_prefix(self.class_metrics)
        self.results.clear()
        return self.add_prefix(metrics)

    def compute_metrics(self, results: list[Any]) -> dict[str, float]:
        """Metrics from a list of ``(intersect, union, pred_label, label)`` count tuples.

        Also fills :attr:`class_metrics` and the table of :meth:`class_table`, and logs the
        table on the main process.
        """
        if self.format_only:
            if is_main_process():
                logger.info("Predictions are saved to %s", self.output_dir)
            self.class_metrics, self._class_table = {}, {}
            return {}
        class_names = self._class_names()
        num_classes = len(class_names)
        if results:
            totals = [torch.stack([r[i].detach().cpu() for r in results]).sum(0) for i in range(4)]
        else:
            totals = [torch.zeros(num_classes, dtype=torch.long) for _ in range(4)]
        ret_metrics = total_area_to_metrics(
            *totals, metrics=self.metrics, nan_to_num=self.nan_to_num, beta=self.beta
        )
        classes = per_class(ret_metrics)
        self._class_table = {"Class": class_names, **classes}
        self.class_metrics = {
            f"{name}/{class_name}": value
            for name, values in classes.items()
            for class_name, value in zip(class_names, values)
        }
        if is_main_process():
            logger.info("per class results:\n%s", format_class_table(self._class_table))
        return summarize(ret_metrics)

    def class_table(self) -> dict[str, list[Any]]:
        """The last evaluation's per-class table: ``{'Class': names, 'IoU': [...], ...}``.

        Values are percentages rounded to 2 decimals (NaN for classes absent from the ground
        truth); render it with :func:`segwright.evaluation.format_class_table`.
        """
        return {name: list(column) for name, column in self._class_table.items()}
