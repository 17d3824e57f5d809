"""Segmentation metrics as plain functions (SPEC §10.1-10.2).

Two steps, as in MMSegmentation 0.x and 1.x: :func:`intersect_and_union` reduces one
prediction to four per-class pixel counts; :func:`total_area_to_metrics` turns the counts
summed over a dataset into per-class ratios. :func:`summarize` and :func:`per_class` give
1.x's rounded percentages, :func:`legacy_eval_results` 0.x's fractions with per-class keys.

Counts are exact integers (``torch.bincount``). Ratios are computed in float32 by default,
the precision MMSegmentation uses, so rounded results agree with it digit for digit.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from segwright.utils.errors import ConfigError

#: The names ``iou_metrics`` accepts, with the per-class values each one adds.
METRIC_NAMES = ("mIoU", "mDice", "mFscore")

AreaTuple = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class UnknownMetricError(ConfigError, KeyError):
    """An ``iou_metrics`` name is not one of :data:`METRIC_NAMES` (a KeyError, as in MMSeg)."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


def check_metric_names(metrics: str | Sequence[str]) -> list[str]:
    """Normalise ``metrics`` to a list and reject unknown names."""
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [name for name in names if name not in METRIC_NAMES]
    if unknown:
        raise UnknownMetricError(
            f"Unknown segmentation metric(s) {unknown} in iou_metrics={names}. "
            f"Choose from {list(METRIC_NAMES)}."
        )
    return names


def _as_tensor(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    raise TypeError(f"{what} must be a torch.Tensor or numpy array, got {type(value).__name__}.")


def _count(values: torch.Tensor, num_classes: int) -> torch.Tensor:
    # histc(bins=C, min=0, max=C-1) drops values outside [0, C-1]; bincount needs them gone.
    values = values[(values >= 0) & (values < num_classes)]
    return torch.bincount(values, minlength=num_classes)


def intersect_and_union(
    pred: torch.Tensor | np.ndarray,
    label: torch.Tensor | np.ndarray,
    num_classes: int,
    ignore_index: int = 255,
    label_map: Mapping[int, int] | None = None,
    reduce_zero_label: bool = False,
) -> AreaTuple:
    """Per-class pixel counts of one prediction against its ground truth.

    ``label_map`` (old id -> new id, applied to a copy so mappings never chain) and then
    ``reduce_zero_label`` (0 -> 255, others -1) rewrite the ground truth first, as
    MMSegmentation 0.x does; 1.x applies both when loading annotations and passes neither.
    Pixels whose ground truth is ``ignore_index`` are left out; class ids outside
    ``[0, num_classes - 1]`` are not counted (MMSeg's ``histc`` drops them too).

    Args:
        pred: Predicted class ids.
        label: Ground-truth class ids, same shape as ``pred``; moved to ``pred``'s device.
        num_classes: Number of classes ``C``.
        ignore_index: Ground-truth value that marks pixels to skip.
        label_map: Ground-truth id remapping, or None.
        reduce_zero_label: Treat ground-truth 0 as ignored and shift the other ids down by one.

    Returns:
        ``(area_intersect, area_union, area_pred_label, area_label)``, int64 on ``pred``'s
        device.

    Shapes:
        pred, label: any shape, equal (``(H, W)`` usually); each output: ``(C,)``.
    """
    pred = _as_tensor(pred, "pred")
    label = _as_tensor(label, "label").to(pred.device)
    if pred.shape != label.shape:
        raise ValueError(
            f"Prediction shape {tuple(pred.shape)} differs from ground-truth shape "
            f"{tuple(label.shape)}. Metrics compare pixels one to one: predict at the "
            "ground truth's resolution (in 1.x test pipelines, LoadAnnotations comes after Resize)."
        )
    pred = pred.long()
    label = label.to(torch.long, copy=bool(label_map) or reduce_zero_label)
    if label_map:
        original = label.clone()
        for old_id, new_id in label_map.items():
            label[original == old_id] = new_id
    if reduce_zero_label:
        label[label == 0] = 255
        label = label - 1
        label[label == 254] = 255

    valid = label != ignore_index
    pred = pred[valid]
    label = label[valid]
    area_intersect = _count(pred[pred == label], num_classes)
    area_pred_label = _count(pred, num_classes)
    area_label = _count(label, num_classes)
    area_union = area_pred_label + area_label - area_intersect
    return area_intersect, area_union, area_pred_label, area_label


def _to_float(value: Any, dtype: torch.dtype | None) -> torch.Tensor:
    tensor = _as_tensor(value, "area").detach().cpu()
    if dtype is not None:
        return tensor.to(dtype)
    return tensor if tensor.is_floating_point() else tensor.to(torch.float32)


def total_area_to_metrics(
    total_area_intersect: torch.Tensor | np.ndarray,
    total_area_union: torch.Tensor | np.ndarray,
    total_area_pred_label: torch.Tensor | np.ndarray,
    total_area_label: torch.Tensor | np.ndarray,
    metrics: str | Sequence[str] = ("mIoU",),
    nan_to_num: float | None = None,
    beta: float = 1,
    dtype: torch.dtype | None = None,
) -> dict[str, np.ndarray]:
    """Ratios from per-class pixel counts summed over a dataset (same math in 0.x and 1.x).

    ``aAcc = ΣI/ΣL`` always; ``'mIoU'`` adds ``IoU = I/U`` and ``Acc = I/L``; ``'mDice'`` adds
    ``Dice = 2I/(P+L)`` and ``Acc``; ``'mFscore'`` adds ``Fscore``, ``Precision = I/P`` and
    ``Recall = I/L``. A division by zero gives NaN (a class absent from the ground truth has
    NaN accuracy); ``nan_to_num`` replaces NaNs so that averages count them.

    Args:
        total_area_intersect: Summed ``I`` per class.
        total_area_union: Summed ``U`` per class.
        total_area_pred_label: Summed ``P`` per class.
        total_area_label: Summed ``L`` per class.
        metrics: Names from :data:`METRIC_NAMES`.
        nan_to_num: Value that replaces NaN, or None to keep NaN.
        beta: Weight of recall in the F-score.
        dtype: Float type of the arithmetic. None keeps float inputs' type and computes
            integer counts in float32 (1.x and 0.x ``pre_eval``); 0.x's full-map evaluation
            used float64.

    Returns:
        Ordered dict ``{'aAcc': 0-d array, 'IoU': (C,) array, 'Acc': ..., ...}``.

    Raises:
        UnknownMetricError: A name in ``metrics`` is not supported.
    """
    names = check_metric_names(metrics)
    intersect = _to_float(total_area_intersect, dtype)
    union = _to_float(total_area_union, intersect.dtype)
    pred_label = _to_float(total_area_pred_label, intersect.dtype)
    label = _to_float(total_area_label, intersect.dtype)

    ret: dict[str, torch.Tensor] = {"aAcc": intersect.sum() / label.sum()}
    for name in names:
        if name == "mIoU":
            ret["IoU"] = intersect / union
            ret["Acc"] = intersect / label
        elif name == "mDice":
            ret["Dice"] = 2 * intersect / (pred_label + label)
            ret["Acc"] = intersect / label
        else:  # mFscore
            precision = intersect / pred_label
            recall = intersect / label
            ret["Fscore"] = (1 + beta**2) * (precision * recall) / (beta**2 * precision + recall)
            ret["Precision"] = precision
            ret["Recall"] = recall

    arrays = {name: value.numpy() for name, value in ret.items()}
    if nan_to_num is not None:
        arrays = {name: np.nan_to_num(value, nan=nan_to_num) for name, value in arrays.items()}
    return arrays


def _nanmean(values: np.ndarray) -> Any:
    with warnings.catch_warnings():  # all-NaN -> NaN, without numpy's "Mean of empty slice"
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values)


def _to_python(value: Any) -> float:
    # The value is already rounded to 2 decimals in the ratios' float type; re-rounding the
    # float64 copy gives the plain decimal (75.12, not 75.12000274658203).
    return round(float(value), 2)


def summarize(ret_metrics: Mapping[str, np.ndarray]) -> dict[str, float]:
    """1.x summary: each ratio averaged over classes (NaN excluded), ×100, rounded to 2 decimals.

    Keys: ``aAcc`` and ``m`` + each per-class name (``mIoU``, ``mAcc``, ``mDice``, ...).
    """
    summary: dict[str, float] = {}
    for name, value in ret_metrics.items():
        key = name if name == "aAcc" else "m" + name
        summary[key] = _to_python(np.round(_nanmean(value) * 100, 2))
    return summary


def per_class(ret_metrics: Mapping[str, np.ndarray]) -> dict[str, list[float]]:
    """Per-class percentages rounded to 2 decimals (``aAcc`` left out); NaN stays NaN."""
    return {
        name: [_to_python(v) for v in np.round(value * 100, 2)]
        for name, value in ret_metrics.items()
        if name != "aAcc"
    }


def legacy_eval_results(
    ret_metrics: Mapping[str, np.ndarray], class_names: Sequence[str]
) -> dict[str, float]:
    """0.x ``dataset.evaluate`` results: fractions, summary keys then ``<metric>.<class>`` keys.

    Each value is the rounded percentage divided by 100 (``mIoU: 0.7512``), as MMSeg 0.30
    returns them to the log buffer and to ``save_best``.
    """
    results = {key: round(value / 100, 4) for key, value in summarize(ret_metrics).items()}
    for name, values in per_class(ret_metrics).items():
        for class_name, value in zip(class_names, values):
            results[f"{name}.{class_name}"] = round(value / 100, 4)
    return results
