"""The Cityscapes instance-level AP, computed from per-image match statistics.

The benchmark's definition (Cordts et al., CVPR 2016, and the evaluation protocol of the
Cityscapes instance-level semantic labeling task), restated here so it runs without the
``cityscapesscripts`` package (whose release 2.3.0 calls ``np.in1d``, gone in NumPy 2.4):

* Ground truth is a ``*_gtFine_instanceIds.png``: a pixel holds ``class_id * 1000 + k`` inside
  an instance and the plain ``class_id`` elsewhere (for a thing class, a *group* region such as
  "cargroup"). Ids are Cityscapes label ids (person 24 ... bicycle 33), not train ids.
* The 8 evaluated classes are the labels that have instances and are not ignored in evaluation.
  Pixels whose value is the id of an ignored label (:data:`VOID_IDS`) form the void region.
* A prediction is a binary mask, a label id and a confidence. It is compared with the ground
  truth regions of its own class: IoU = overlap / (gt pixels + predicted pixels - overlap).
* For each IoU threshold ``t`` in ``0.50:0.05:0.95`` and each class: a ground truth instance
  (id >= 1000, at least 100 pixels) is matched by the predictions with IoU > t; the best scored
  one is a true positive, the others false positives; an unmatched one is a false negative.
  A prediction matching nothing is a false positive unless the share of its pixels on void,
  group or too-small ground truth exceeds ``t`` (then it is ignored).
* Precision/recall are taken at every distinct confidence, plus a closing point (recall 0,
  precision 1); AP is the step integral where each point weighs half the recall gap between
  its two neighbours. A class without ground truth has AP nan; with ground truth but without
  predictions, 0. The class AP is the mean over thresholds; the overall AP the nan-mean over
  classes and thresholds; AP50 the same at ``t = 0.5``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

#: The evaluated classes: Cityscapes label name -> label id.
INSTANCE_LABEL_IDS: dict[str, int] = {
    "person": 24, "rider": 25, "car": 26, "truck": 27, "bus": 28, "train": 31,
    "motorcycle": 32, "bicycle": 33,
}  # fmt: skip
#: Label ids ignored in evaluation (unlabeled, ego vehicle, ..., caravan, trailer).
VOID_IDS = (0, 1, 2, 3, 4, 5, 6, 9, 10, 14, 15, 16, 18, 29, 30)
#: IoU thresholds, built exactly as the benchmark builds them (the comparison is strict, so the
#: last bits of each value decide ties).
OVERLAPS = np.arange(0.5, 1.0, 0.05)
#: Ground truth instances smaller than this (pixels) only make predictions ignorable.
MIN_REGION_SIZE = 100

_NAME_BY_ID = {label_id: name for name, label_id in INSTANCE_LABEL_IDS.items()}


def match_image(
    gt_ids: np.ndarray,
    masks: Iterable[np.ndarray],
    label_ids: Sequence[int],
    scores: Sequence[float],
) -> dict[str, dict[str, list[Any]]]:
    """One image's match statistics: everything the AP needs, without the pixels.

    Args:
        gt_ids: The ``instanceIds`` image (``class_id * 1000 + k`` or ``class_id``).
        masks: Predicted masks (non-zero = inside), each the shape of ``gt_ids``.
        label_ids: Cityscapes label id of each prediction.
        scores: Confidence of each prediction.

    Returns:
        ``{class_name: {'gts': [[inst_id, pixels], ...],
        'preds': [[score, pixels, void_pixels, [[gt_index, overlap], ...]], ...]}}`` for the
        evaluated classes present (as ground truth or prediction). Empty masks and
        predictions of other classes are dropped, as the benchmark drops them.

    Shapes:
        gt_ids: ``(H, W)``; each mask ``(H, W)``.
    """
    gt_ids = np.asarray(gt_ids).astype(np.int64, copy=False)
    values, counts = np.unique(gt_ids, return_counts=True)
    classes: dict[str, dict[str, list[Any]]] = {}
    gt_index: dict[int, tuple[str, int]] = {}
    for value, count in zip(values.tolist(), counts.tolist()):
        name = _NAME_BY_ID.get(value // 1000 if value >= 1000 else value)
        if name is None:
            continue
        entry = classes.setdefault(name, {"gts": [], "preds": []})
        gt_index[value] = (name, len(entry["gts"]))
        entry["gts"].append([value, count])
    void = np.isin(gt_ids, VOID_IDS)
    for mask, label_id, score in zip(masks, label_ids, scores):
        name = _NAME_BY_ID.get(int(label_id))
        if name is None:
            continue
        inside = np.asarray(mask) != 0
        if inside.shape != gt_ids.shape:
            raise ValueError(
                f"a predicted mask is {inside.shape[0]}x{inside.shape[1]} but the ground truth "
                f"is {gt_ids.shape[0]}x{gt_ids.shape[1]}; masks must be at the original size."
            )
        pixels = int(np.count_nonzero(inside))
        if not pixels:
            continue
        overlaps = []
        covered, overlap = np.unique(gt_ids[inside], return_counts=True)
        for value, count in zip(covered.tolist(), overlap.tolist()):
            target = gt_index.get(value)
            if target is not None and target[0] == name:
                overlaps.append([target[1], count])
        void_pixels = int(np.count_nonzero(void & inside))
        entry = classes.setdefault(name, {"gts": [], "preds": []})
        entry["preds"].append([float(score), pixels, void_pixels, overlaps])
    return classes


def _image_votes(
    gts: Sequence[Sequence[int]], preds: Sequence[Sequence[Any]], threshold: float
) -> tuple[list[int], list[float], int, bool]:
    """One image, one class, one threshold -> (is_true, score, missed ground truth, has gt)."""
    usable = [
        i
        for i, (inst_id, pixels) in enumerate(gts)
        if inst_id >= 1000 and pixels >= MIN_REGION_SIZE
    ]
    best: dict[int, float] = {}
    truths: list[int] = []
    votes: list[float] = []
    for score, pixels, void_pixels, overlaps in preds:
        matched = False
        ignored = void_pixels
        for gi, overlap in overlaps:
            inst_id, gt_pixels = gts[gi]
            iou = overlap / (gt_pixels + pixels - overlap)
            if iou > threshold:
                matched = True
                if gi in best:  # a duplicate: the lower of the two scores is a false positive
                    truths.append(0)
                    votes.append(min(best[gi], score))
                    best[gi] = max(best[gi], score)
                elif inst_id >= 1000 and gt_pixels >= MIN_REGION_SIZE:
                    best[gi] = score
            else:
                if inst_id < 1000:
                    ignored += overlap
                if gt_pixels < MIN_REGION_SIZE:
                    ignored += overlap
        if not matched and ignored / pixels <= threshold:
            truths.append(0)
            votes.append(score)
    for gi in usable:
        if gi in best:
            truths.append(1)
            votes.append(best[gi])
    missed = sum(1 for gi in usable if gi not in best)
    return truths, votes, missed, bool(usable)


def average_precision(truths: Sequence[int], scores: Sequence[float], missed: int) -> float:
    """AP of scored detections (1 = true positive) with ``missed`` unmatched ground truth."""
    truths_arr = np.asarray(truths, dtype=np.float64)
    scores_arr = np.asarray(scores, dtype=np.float64)
    n_true = truths_arr.sum()
    precision, recall = [], []
    for threshold in np.unique(scores_arr):  # ascending, so recall falls along the list
        kept = scores_arr >= threshold
        tp = truths_arr[kept].sum()
        fp = kept.sum() - tp
        fn = n_true - tp + missed
        precision.append(tp / (tp + fp))
        recall.append(tp / (tp + fn))
    precision.append(1.0)
    recall.append(0.0)
    padded = np.concatenate([[recall[0]], recall, [0.0]])
    widths = (padded[:-2] - padded[2:]) / 2
    return float(np.dot(precision, widths))


def evaluate_matches(images: Iterable[Mapping[str, Mapping[str, list[Any]]]]) -> np.ndarray:
    """AP of every class at every threshold, from the per-image output of :func:`match_image`.

    Returns:
        ``(classes, thresholds)`` array in :data:`INSTANCE_LABEL_IDS` and :data:`OVERLAPS`
        order; nan where a class has no ground truth.
    """
    images = list(images)
    aps = np.full((len(INSTANCE_LABEL_IDS), len(OVERLAPS)), math.nan)
    for ci, name in enumerate(INSTANCE_LABEL_IDS):
        per_image = [image[name] for image in images if name in image]
        for ti, threshold in enumerate(OVERLAPS):
            truths: list[int] = []
            scores: list[float] = []
            missed, has_gt, has_pred = 0, False, False
            for entry in per_image:
                t, s, m, g = _image_votes(entry["gts"], entry["preds"], float(threshold))
                truths += t
                scores += s
                missed += m
                has_gt |= g
                has_pred |= bool(entry["preds"])
            if has_gt:
                aps[ci, ti] = average_precision(truths, scores, missed) if has_pred else 0.0
    return aps


def summarize(aps: np.ndarray) -> dict[str, Any]:
    """``{'AP': ..., 'AP50': ..., 'classes': {name: {'AP': ..., 'AP50': ...}}}`` from
    :func:`evaluate_matches` (nan where nothing was evaluated)."""
    at_50 = int(np.argmin(np.abs(OVERLAPS - 0.5)))

    def nanmean(values: np.ndarray) -> float:
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else math.nan

    return {
        "AP": nanmean(aps.ravel()),
        "AP50": nanmean(aps[:, at_50]),
        "classes": {
            name: {"AP": float(aps[ci].mean()), "AP50": float(aps[ci, at_50])}
            for ci, name in enumerate(INSTANCE_LABEL_IDS)
        },
    }
