"""Class weights for a loss's ``class_weight`` from the label pixels of a dataset.

Rare classes get little gradient under a plain cross-entropy; weighting each class by how
rare it is evens that out. Two classic recipes:

* median-frequency balancing (Eigen & Fergus, 2015): ``freq_c`` = pixels of class c divided
  by the labelled pixels of the images in which c appears; ``w_c = median(freq) / freq_c``.
* inverse log frequency (ENet, Paszke et al. 2016): ``p_c`` = share of class c among all
  labelled pixels; ``w_c = 1 / ln(1.02 + p_c)``.

Label maps are read the way the dataset decodes them (annotation backend,
``reduce_zero_label``, the label map of a class subset). Pixels equal to ``ignore_index``
count for nothing; a class that never appears gets weight 0 and a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segwright.datasets.checks import (
    _annotation_settings,
    _leaf_datasets,
    _sample_indices,
    classes_setting,
)
from segwright.datasets.imageio import read_label_map
from segwright.datasets.labels import label_histogram, remap_labels, to_label_array
from segwright.utils.errors import ConfigError, DatasetError

#: ``method`` values of :func:`compute_class_weights`.
METHODS = ("median", "log")
#: ENet's constant: weights stay below 1 / ln(1.02) ~ 50.5 however rare a class is.
ENET_C = 1.02


@dataclass
class ClassPixelStats:
    """Pixel statistics of the label maps read from a dataset.

    Attributes:
        classes: Class names (index = label value).
        pixels: Labelled pixels of each class, ``int64[K]``.
        image_pixels: Labelled pixels of the maps in which each class appears, ``int64[K]``.
        maps_with_class: How many maps each class appears in, ``int64[K]``.
        num_maps: Label maps read.
        ignored_pixels: Pixels equal to ``ignore_index`` (left out).
        invalid_pixels: Pixels with other values outside ``0..K-1`` (left out).
        ignore_index: The dataset's ``ignore_index``.
    """

    classes: tuple[str, ...]
    ignore_index: int = 255
    pixels: np.ndarray = field(init=False)
    image_pixels: np.ndarray = field(init=False)
    maps_with_class: np.ndarray = field(init=False)
    num_maps: int = field(default=0, init=False)
    ignored_pixels: int = field(default=0, init=False)
    invalid_pixels: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.classes = tuple(str(c) for c in self.classes)
        self.pixels = np.zeros(len(self.classes), dtype=np.int64)
        self.image_pixels = np.zeros(len(self.classes), dtype=np.int64)
        self.maps_with_class = np.zeros(len(self.classes), dtype=np.int64)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def labelled_pixels(self) -> int:
        """Pixels of any class (ignored and invalid ones not included)."""
        return int(self.pixels.sum())

    @property
    def missing(self) -> list[int]:
        """Classes that never appear in the maps read."""
        return [int(c) for c in np.flatnonzero(self.pixels == 0)]

    def add(self, labels: np.ndarray, ignore_index: int | None = None) -> None:
        """Count one label map (values already remapped as the dataset loads them).

        Args:
            ignore_index: This map's ignore value (default: :attr:`ignore_index`).
        """
        ignore = self.ignore_index if ignore_index is None else int(ignore_index)
        counts, ignored, invalid = class_histogram(labels, self.num_classes, ignore)
        present = counts > 0
        self.pixels += counts
        self.image_pixels[present] += int(counts.sum())
        self.maps_with_class[present] += 1
        self.ignored_pixels += ignored
        self.invalid_pixels += invalid
        self.num_maps += 1


def class_histogram(
    labels: np.ndarray, num_classes: int, ignore_index: int = 255
) -> tuple[np.ndarray, int, int]:
    """Pixels per class of one label map, and how many were ignored or out of range.

    Returns:
        ``(counts int64[num_classes], ignored, invalid)``. Pixels equal to ``ignore_index``
        are never counted as a class, even when ``ignore_index < num_classes``.
    """
    size = int(labels.size)
    if labels.dtype == np.uint8 and num_classes <= 256:
        hist = label_histogram(labels)
        ignored = int(hist[ignore_index]) if 0 <= ignore_index < 256 else 0
        if 0 <= ignore_index < 256:
            hist[ignore_index] = 0
        counts = hist[:num_classes].astype(np.int64)
    else:
        flat = labels.reshape(-1).astype(np.int64)
        is_ignored = flat == ignore_index
        ignored = int(np.count_nonzero(is_ignored))
        valid = flat[(flat >= 0) & (flat < num_classes) & ~is_ignored]
        counts = np.bincount(valid, minlength=num_classes).astype(np.int64)
    invalid = size - ignored - int(counts.sum())
    return counts, ignored, invalid


def _label_maps(leaf: Any, indices: Sequence[int]) -> Iterator[np.ndarray]:
    """The (remapped) label maps of ``leaf`` at ``indices``; maps the dataset lacks are skipped."""
    if hasattr(leaf, "get_data_info"):
        backend, reduce_override = _annotation_settings(leaf)
        for index in indices:
            info = leaf.get_data_info(index)
            path = info.get("seg_map_path")
            if not path:
                continue
            raw = to_label_array(read_label_map(path, backend), path)
            reduce = info.get("reduce_zero_label", False)
            if reduce_override is not None:
                reduce = reduce_override
            yield remap_labels(raw, bool(reduce), info.get("label_map"))
        return
    for index in indices:  # datasets without files: the packed gt_sem_seg of each sample
        sample = leaf[index]
        data_sample = sample.get("data_samples") if isinstance(sample, Mapping) else None
        gt = getattr(data_sample, "gt_sem_seg", None)
        if gt is None:
            continue
        data = gt.data.cpu().numpy() if hasattr(gt.data, "cpu") else np.asarray(gt.data)
        yield data.reshape(data.shape[-2:])


def _leaf_classes(leaf: Any) -> tuple[str, ...]:
    classes = (getattr(leaf, "metainfo", None) or {}).get("classes")
    if not classes:
        raise DatasetError(
            f"{type(leaf).__name__} has no classes in its metainfo, so the number of classes "
            f"is unknown. Set {classes_setting(leaf)} on the dataset."
        )
    return tuple(str(c) for c in classes)


def count_class_pixels(dataset: Any, num_samples: int | None = None) -> ClassPixelStats:
    """Read the label maps of a built dataset and count pixels per class.

    Args:
        dataset: A built dataset (Concat/Repeat wrappers are read per inner dataset, once).
        num_samples: Read this many maps spread evenly over the dataset; None reads all.

    Raises:
        DatasetError: The dataset is empty, has no classes, its parts disagree on the
            classes, or no label map could be read.
    """
    if num_samples is not None and (isinstance(num_samples, bool) or int(num_samples) < 1):
        raise ConfigError(f"num_samples must be a positive number of maps, got {num_samples!r}.")
    leaves = list(_leaf_datasets(dataset))
    for leaf in leaves:
        if hasattr(leaf, "full_init"):
            leaf.full_init()
    classes = _leaf_classes(leaves[0])
    for leaf in leaves[1:]:
        if len(_leaf_classes(leaf)) != len(classes):
            raise DatasetError(
                f"The datasets inside {type(dataset).__name__} have different numbers of "
                f"classes ({len(classes)} and {len(_leaf_classes(leaf))}); class weights need "
                "one class list."
            )
    lengths = [len(leaf) for leaf in leaves]
    total = sum(lengths)
    if total == 0:
        raise DatasetError(f"{type(dataset).__name__} is empty: there are no label maps to read.")
    chosen = range(total) if num_samples is None else _sample_indices(total, int(num_samples))
    # Global indices -> per-leaf indices, keeping the even spread over the whole dataset.
    per_leaf: list[list[int]] = [[] for _ in leaves]
    starts = np.cumsum([0, *lengths])
    for index in chosen:
        leaf_id = int(np.searchsorted(starts, index, side="right")) - 1
        per_leaf[leaf_id].append(int(index - starts[leaf_id]))
    stats = ClassPixelStats(
        classes=classes, ignore_index=int(getattr(leaves[0], "ignore_index", 255))
    )
    for leaf, indices in zip(leaves, per_leaf):
        ignore_index = int(getattr(leaf, "ignore_index", 255))
        for labels in _label_maps(leaf, indices):
            stats.add(labels, ignore_index)
    if stats.num_maps == 0:
        raise DatasetError(
            f"{type(dataset).__name__} has no label maps to read (no seg_map_path in its "
            "samples). Check data_prefix.seg_map_path and seg_map_suffix."
        )
    return stats


def median_frequency_weights(pixels: np.ndarray, image_pixels: np.ndarray) -> np.ndarray:
    """Eigen & Fergus: ``w_c = median(freq) / freq_c``, ``freq_c = pixels_c / image_pixels_c``.

    The median is over the classes that appear; a class with no pixels gets 0.
    """
    pixels = np.asarray(pixels, dtype=np.float64)
    image_pixels = np.asarray(image_pixels, dtype=np.float64)
    present = pixels > 0
    weights = np.zeros_like(pixels)
    if not present.any():
        return weights
    freq = pixels[present] / image_pixels[present]
    weights[present] = np.median(freq) / freq
    return weights


def inverse_log_frequency_weights(pixels: np.ndarray, c: float = ENET_C) -> np.ndarray:
    """ENet: ``w_c = 1 / ln(c + p_c)`` with ``p_c = pixels_c / sum(pixels)``; absent classes get 0."""
    pixels = np.asarray(pixels, dtype=np.float64)
    weights = np.zeros_like(pixels)
    total = pixels.sum()
    if total <= 0:
        return weights
    present = pixels > 0
    weights[present] = 1.0 / np.log(c + pixels[present] / total)
    return weights


def class_frequencies(stats: ClassPixelStats, method: str = "median") -> np.ndarray:
    """The per-class frequency each method weighs: ``freq_c`` (median) or ``p_c`` (log)."""
    check_method(method)
    pixels = stats.pixels.astype(np.float64)
    if method == "median":
        denominator = np.maximum(stats.image_pixels, 1)
    else:
        denominator = max(stats.labelled_pixels, 1)
    return pixels / denominator


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ConfigError(
            f"Unknown class weight method {method!r}; use 'median' (median-frequency "
            "balancing) or 'log' (ENet's inverse log frequency)."
        )
    return method


def compute_class_weights(stats: ClassPixelStats, method: str = "median") -> np.ndarray:
    """Per-class weights from :func:`count_class_pixels` statistics.

    Warns (``UserWarning``) once per class that never appears: its weight is 0.

    Raises:
        DatasetError: No labelled pixel at all.
    """
    check_method(method)
    if stats.labelled_pixels == 0:
        raise DatasetError(
            f"The {stats.num_maps} label map(s) read hold no labelled pixel (all are "
            f"ignore_index={stats.ignore_index} or out of range): no class weights to compute."
        )
    for index in stats.missing:
        warnings.warn(
            f"class {index} ({stats.classes[index]!r}) never appears in the {stats.num_maps} "
            "label map(s) read, so its weight is 0 (the loss will not learn it). Read more "
            "maps, or check the class list and reduce_zero_label.",
            UserWarning,
            stacklevel=2,
        )
    if method == "median":
        return median_frequency_weights(stats.pixels, stats.image_pixels)
    return inverse_log_frequency_weights(stats.pixels)


def format_class_weight(weights: Sequence[float] | np.ndarray, decimals: int = 4) -> str:
    """``class_weight=[0.1234, 1.0, ...]``, ready to paste into ``loss_decode``."""
    values = ", ".join(f"{float(w):.{decimals}f}" for w in weights)
    return f"class_weight=[{values}]"
