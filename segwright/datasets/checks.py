"""Label checks: catch masks whose values do not fit the dataset's classes before they cost a run.

Two entry points:

* :func:`check_label_map` runs in ``LoadAnnotations`` on every mask (the dataset's
  ``label_check='raise'|'warn'|'off'``). Its fast path costs about a millisecond per megapixel.
* :func:`check_dataset_labels` reads ``num_samples`` masks before training and also spots
  dataset-wide mistakes a single mask cannot show (0/255 binary masks, a wrong
  ``reduce_zero_label`` that leaves a single class, or one that ignores a large share of the
  pixels: a warning in the report).

Every error names the file, the values found and the setting that would fix it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from segwright.datasets.imageio import read_label_map
from segwright.datasets.labels import label_histogram, remap_labels, to_label_array
from segwright.utils.errors import ConfigError, DatasetError

LABEL_CHECK_MODES = ("raise", "warn", "off")
#: How most datasets take their class names (FolderSegDataset takes ``classes=``).
#: Above this share of sampled label pixels turned into ignore_index by reduce_zero_label, the
#: pre-flight warns: 0 is then more likely a real class than a thin 'unlabelled' margin.
REDUCE_ZERO_LABEL_WARN_SHARE = 0.25
DEFAULT_CLASSES_SETTING = "metainfo=dict(classes=(...))"
_SKIP_HINT = "Set label_check='warn' or 'off' on the dataset to skip this check."


def validate_mode(mode: Any, owner: str = "dataset") -> str:
    """Return ``mode`` if it is one of ``raise``/``warn``/``off``, else a :class:`ConfigError`."""
    if mode not in LABEL_CHECK_MODES:
        raise ConfigError(
            f"{owner}: label_check={mode!r} is not supported; use 'raise', 'warn' or 'off'."
        )
    return mode


def format_values(values: Sequence[int], limit: int = 12) -> str:
    """``{0, 1, 255}``; long lists are cut with a count."""
    values = [int(v) for v in values]
    if len(values) <= limit:
        return "{" + ", ".join(map(str, values)) + "}"
    head = ", ".join(map(str, values[:limit]))
    return f"{{{head}, ...}} ({len(values)} distinct values, {values[0]}..{values[-1]})"


def classes_setting(dataset: Any) -> str:
    """How ``dataset``'s config names its classes: its ``CLASSES_SETTING``, e.g. ``classes=(...)``."""
    setting = getattr(dataset, "CLASSES_SETTING", None)
    return setting if isinstance(setting, str) and setting else DEFAULT_CLASSES_SETTING


def _class_preview(classes: Sequence[str] | None) -> str:
    if not classes:
        return ""
    names = [str(c) for c in classes]
    shown = ", ".join(repr(n) for n in names[:5])
    return f": {shown}{', ...' if len(names) > 5 else ''}"


def count_invalid(labels: np.ndarray, num_classes: int, ignore_index: int) -> int:
    """How many pixels are outside ``[0, num_classes) ∪ {ignore_index}`` (uint8 fast path)."""
    if labels.size == 0:
        return 0
    if labels.dtype != np.uint8 or labels.ndim != 2:
        values = labels.astype(np.int64)
        bad = (values < 0) | ((values >= num_classes) & (values != ignore_index))
        return int(np.count_nonzero(bad))
    if num_classes >= 256 or int(labels.max()) < num_classes:
        return 0
    if num_classes <= ignore_index <= 255:
        ranges = [(num_classes, ignore_index - 1), (ignore_index + 1, 255)]
    else:
        ranges = [(num_classes, 255)]
    return sum(cv2.countNonZero(cv2.inRange(labels, lo, hi)) for lo, hi in ranges if lo <= hi)


def distinct_values(array: np.ndarray) -> list[int]:
    """Sorted distinct values of a label array (histogram for uint8, unique otherwise)."""
    if array.dtype == np.uint8:
        return [int(v) for v in np.flatnonzero(label_histogram(array))]
    return [int(v) for v in np.unique(array)]


def _hints(
    bad: list[int],
    raw: list[int],
    num_classes: int,
    ignore_index: int,
    reduce_zero_label: bool,
    path: str,
    setting: str = DEFAULT_CLASSES_SETTING,
) -> list[str]:
    hints = []
    raw_set = set(raw)
    if max(raw, default=0) > 255:
        hints.append(
            f"The file holds values up to {max(raw)} (16-bit); label maps are read as uint8, so "
            "values above 255 wrap around. If they are instance ids (one value per object), "
            "turn them into class indices first, e.g. (mask > 0).astype('uint8') for "
            "foreground/background; otherwise re-save the masks with 8-bit class indices."
        )
    if not reduce_zero_label and set(bad) == {num_classes} and 0 in raw_set:
        hints.append(
            f"The values run from 0 to {num_classes}, one more than the {num_classes} classes: if "
            "0 means 'unlabelled'/'other' rather than a class, set reduce_zero_label=True "
            "(0 becomes ignored and k becomes k-1); otherwise add the missing class to classes."
        )
    elif reduce_zero_label and set(bad) == {num_classes}:
        hints.append(
            f"With reduce_zero_label=True the file's value {num_classes + 1} becomes "
            f"{num_classes}: is a class missing from classes? If 0 is a real class in these "
            "masks, did you mean reduce_zero_label=False?"
        )
    if num_classes == 2 and 255 in bad:
        hints.append(
            "The values go up to 255 with 2 classes: is the mask saved as 0/255 (black and "
            "white)? Save class indices 0/1 instead (divide by 255), or keep 255 as "
            "ignore_index=255."
        )
    if len(raw_set) > max(2 * num_classes, 32) or len(bad) > 16:
        hints.append(
            f"{len(raw_set)} distinct values look like an image (greyscale, colour or "
            "anti-aliased edges) rather than a label map. Masks must hold class indices; "
            "resize them with nearest-neighbour only and never save them as JPEG."
        )
    if path.lower().endswith((".jpg", ".jpeg")):
        hints.append("JPEG compression changes pixel values; store label maps as PNG.")
    hints.append(
        f"Labels must be 0..{num_classes - 1} (one per entry of classes) or "
        f"ignore_index={ignore_index}: fix the masks, list every class in the dataset's "
        f"{setting}, or change ignore_index."
    )
    return hints


def find_label_problem(
    labels: np.ndarray,
    raw: np.ndarray | None,
    *,
    path: str,
    num_classes: int,
    ignore_index: int = 255,
    reduce_zero_label: bool = False,
    classes: Sequence[str] | None = None,
    setting: str = DEFAULT_CLASSES_SETTING,
) -> str | None:
    """A message describing out-of-range labels in one (remapped) map, or None when it is fine.

    Args:
        labels: The map after ``reduce_zero_label`` / ``label_map``.
        raw: The map as decoded from the file (for the message), or None.
        path: The file, for the message.
        num_classes: ``len(classes)``.
        setting: How the dataset's config lists its classes (see :func:`classes_setting`).
    """
    raw_too_deep = raw is not None and raw.dtype != np.uint8 and raw.size and int(raw.max()) > 255
    if not raw_too_deep and count_invalid(labels, num_classes, ignore_index) == 0:
        return None
    values = distinct_values(labels)
    bad = [v for v in values if not (0 <= v < num_classes or v == ignore_index)]
    raw_values = distinct_values(raw) if raw is not None else values
    after = ", after reduce_zero_label=True" if reduce_zero_label else ""
    if bad:
        head = (
            f"Label map {path} has values {format_values(bad)} outside the valid labels "
            f"0..{num_classes - 1} and ignore_index={ignore_index}{after} ({num_classes} "
            f"classes{_class_preview(classes)})."
        )
    else:
        head = f"Label map {path} has values above 255 that wrap when read as uint8."
    hints = _hints(bad, raw_values, num_classes, ignore_index, reduce_zero_label, path, setting)
    return f"{head} Values in the file: {format_values(raw_values)}. {' '.join(hints)}"


def report_problem(message: str, mode: str) -> None:
    """Raise a :class:`DatasetError` (``raise``) or emit a warning (``warn``)."""
    if mode == "raise":
        raise DatasetError(f"{message} {_SKIP_HINT}")
    if mode == "warn":
        warnings.warn(message, UserWarning, stacklevel=3)


def check_label_map(
    labels: np.ndarray,
    raw: np.ndarray | None,
    path: str,
    spec: Mapping[str, Any],
    reduce_zero_label: bool = False,
) -> None:
    """The per-image check ``LoadAnnotations`` runs when the dataset passes a ``label_check`` spec.

    Args:
        spec: ``dict(mode, num_classes, ignore_index, classes, classes_setting)`` from the
            dataset.
    """
    mode = spec.get("mode", "raise")
    if mode == "off" or not spec.get("num_classes"):
        return
    problem = find_label_problem(
        labels,
        raw,
        path=path,
        num_classes=int(spec["num_classes"]),
        ignore_index=int(spec.get("ignore_index", 255)),
        reduce_zero_label=reduce_zero_label,
        classes=spec.get("classes"),
        setting=spec.get("classes_setting") or DEFAULT_CLASSES_SETTING,
    )
    if problem:
        report_problem(problem, mode)


@dataclass
class LabelCheckReport:
    """What :func:`check_dataset_labels` looked at.

    Attributes:
        num_checked: Label maps read.
        pixel_counts: Pixels per label value (after remapping), over the checked maps.
        problems: One message per map with out-of-range values (filled in ``warn`` mode).
        warnings: Settings that look wrong without being errors (e.g. ``reduce_zero_label``
            ignoring a large share of the pixels); the pre-flight logs them.
    """

    num_checked: int = 0
    pixel_counts: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def values(self) -> list[int]:
        """Distinct label values seen, sorted."""
        return sorted(v for v, n in self.pixel_counts.items() if n)


def _leaf_datasets(dataset: Any) -> Iterator[Any]:
    """The datasets inside Concat/Repeat wrappers (or the dataset itself)."""
    inner = getattr(dataset, "datasets", None)
    if isinstance(inner, Sequence) and not isinstance(inner, str):
        for child in inner:
            yield from _leaf_datasets(child)
        return
    child = getattr(dataset, "dataset", None)
    if child is not None and hasattr(child, "__getitem__"):
        yield from _leaf_datasets(child)
        return
    yield dataset


def _annotation_settings(dataset: Any) -> tuple[str, bool | None]:
    """The decoding backend and ``reduce_zero_label`` override of the pipeline's LoadAnnotations.

    The pipeline answers (``Compose.annotation_settings``): this module sits below the
    transforms (``LoadAnnotations`` calls :func:`check_label_map`) and imports none of them.
    """
    ask = getattr(getattr(dataset, "pipeline", None), "annotation_settings", None)
    found = ask() if callable(ask) else None
    return found if found is not None else ("pillow", None)


def _sample_indices(length: int, num_samples: int) -> list[int]:
    count = max(1, min(int(num_samples), length))
    return sorted({int(i) for i in np.linspace(0, length - 1, count).round()})


def _maps(count: int) -> str:
    return f"{count} checked label map{'s' if count != 1 else ''}"


def _dataset_level_problem(
    name: str,
    checked: int,
    hist: np.ndarray,
    raw_values: set[int],
    num_classes: int,
    ignore_index: int,
    reduce_zero_label: bool,
) -> str | None:
    present = [v for v in range(min(num_classes, 256)) if hist[v] > 0]
    raw_text = format_values(sorted(raw_values))
    if num_classes < 2 or checked == 0:
        return None
    if not present and hist.sum() > 0:
        fix = (
            " reduce_zero_label=True turns 0 into ignore_index: did you mean "
            "reduce_zero_label=False?"
            if reduce_zero_label and 0 in raw_values
            else " Check ignore_index and how the masks were saved."
        )
        return (
            f"All {_maps(checked)} of {name} contain only ignore_index={ignore_index} "
            f"after remapping (values in the files: {raw_text}); nothing would be learned.{fix}"
        )
    if (
        num_classes == 2
        and present == [0]
        and not reduce_zero_label
        and ignore_index == 255
        and raw_values == {0, 255}
    ):
        return (
            f"The {_maps(checked)} of {name} hold only the values {{0, 255}} with 2 "
            "classes: the masks look saved as 0/255 (black and white), so every foreground "
            "pixel equals ignore_index=255 and class 1 never appears. Save them as 0/1 (divide "
            "by 255, e.g. cv2.imwrite(path, (mask > 127).astype('uint8')))."
        )
    if reduce_zero_label and present == [0] and raw_values <= {0, 1, 255}:
        return (
            f"The {_maps(checked)} of {name} hold values {raw_text} with "
            "reduce_zero_label=True: 0 becomes ignored and 1 becomes class 0, so no other class "
            "ever appears. Did you mean reduce_zero_label=False?"
        )
    return None


def check_image_size(img_path: Any, shape: tuple[int, ...], seg_path: str) -> None:
    """A label map has the size of its image (the image's header is read, not its pixels).

    Raises:
        DatasetError: The sizes differ.
    """
    try:
        from PIL import Image

        with Image.open(img_path) as image:
            width, height = image.size
    except Exception:  # noqa: BLE001 - an unreadable image is reported when it is loaded
        return
    # Swapped sides may be an EXIF rotation, which loading applies; the loaded image is
    # compared again in LoadAnnotations.
    if tuple(shape) not in ((height, width), (width, height)):
        raise DatasetError(
            f"Label map {seg_path} is {shape[0]}x{shape[1]} (height x width) but its image "
            f"{img_path} is {height}x{width}. Each label map must have its image's size: check "
            "that the two files belong together (data_prefix, suffixes) or re-export the label "
            "map at the image's size."
        )


def check_dataset_labels(
    dataset: Any, num_samples: int = 20, mode: str | None = None
) -> LabelCheckReport:
    """Read up to ``num_samples`` label maps (spread over the dataset) and check their values.

    Datasets read from files are checked on the masks as decoded and remapped
    (``reduce_zero_label``, class subsets); other datasets on ``data_samples.gt_sem_seg`` of
    their samples. Concat/Repeat wrappers are checked per inner dataset.

    Args:
        dataset: A built dataset.
        num_samples: Masks to read per inner dataset.
        mode: ``raise``, ``warn`` or ``off``; None uses each dataset's ``label_check``.

    Returns:
        A :class:`LabelCheckReport`.

    Raises:
        DatasetError: Out-of-range values, an empty dataset, or masks that leave a single class.
    """
    report = LabelCheckReport()
    for leaf in _leaf_datasets(dataset):
        leaf_mode = validate_mode(mode or getattr(leaf, "label_check", "raise"), "check")
        if leaf_mode == "off":
            continue
        _check_one(leaf, num_samples, leaf_mode, report)
    return report


def _check_one(dataset: Any, num_samples: int, mode: str, report: LabelCheckReport) -> None:
    if hasattr(dataset, "full_init"):
        dataset.full_init()
    name = type(dataset).__name__
    if len(dataset) == 0:
        raise DatasetError(f"{name} is empty: there is nothing to train on.")
    metainfo = getattr(dataset, "metainfo", None) or {}
    classes = metainfo.get("classes")
    if not classes:
        return
    num_classes = len(classes)
    ignore_index = int(getattr(dataset, "ignore_index", 255))
    backend, reduce_override = _annotation_settings(dataset)
    from_files = hasattr(dataset, "get_data_info")
    hist = np.zeros(256, dtype=np.int64)
    raw_values: set[int] = set()
    problems = []
    checked = 0
    reduce = False
    zeros_ignored = pixels = 0  # raw 0s that reduce_zero_label turned into ignore_index
    for index in _sample_indices(len(dataset), num_samples):
        if from_files:
            info = dataset.get_data_info(index)
            path = info.get("seg_map_path")
            if not path:
                continue
            raw = read_label_map(path, backend)
            reduce = bool(
                info.get("reduce_zero_label", False) if reduce_override is None else reduce_override
            )
            raw_labels = to_label_array(raw, path)
            check_image_size(info.get("img_path"), raw_labels.shape[:2], path)
            labels = remap_labels(raw_labels, reduce, info.get("label_map"))
            if reduce:
                zeros_ignored += int(np.count_nonzero(raw_labels == 0))
                pixels += int(raw_labels.size)
        else:
            sample = dataset[index]
            data_sample = sample.get("data_samples") if isinstance(sample, Mapping) else None
            gt = getattr(data_sample, "gt_sem_seg", None)
            if gt is None:
                continue
            raw = labels = np.asarray(gt.data.cpu().numpy()).reshape(gt.data.shape[-2:])
            path = str(getattr(data_sample, "metainfo", {}).get("img_path", f"{name}[{index}]"))
        checked += 1
        problem = find_label_problem(
            labels,
            raw,
            path=path,
            num_classes=num_classes,
            ignore_index=ignore_index,
            reduce_zero_label=reduce,
            classes=classes,
            setting=classes_setting(dataset),
        )
        if problem:
            problems.append(problem)
        if labels.dtype == np.uint8:
            hist += label_histogram(labels)
        else:
            values, counts = np.unique(labels, return_counts=True)
            for value, count in zip(values.tolist(), counts.tolist()):
                if 0 <= value < 256:
                    hist[value] += count
                else:
                    report.pixel_counts[value] = report.pixel_counts.get(value, 0) + count
        raw_values.update(distinct_values(raw))
    report.num_checked += checked
    for value in np.flatnonzero(hist):
        report.pixel_counts[int(value)] = report.pixel_counts.get(int(value), 0) + int(hist[value])
    if problems:
        summary = problems[0]
        if len(problems) > 1:
            summary += f" ({len(problems)} of the {checked} checked label maps have such values.)"
        report.problems.extend(problems)
        report_problem(summary, mode)
        return
    problem = _dataset_level_problem(
        name, checked, hist, raw_values, num_classes, ignore_index, reduce
    )
    if problem:
        report.problems.append(problem)
        report_problem(problem, mode)
        return
    if pixels and zeros_ignored / pixels > REDUCE_ZERO_LABEL_WARN_SHARE:
        where = (
            "the pipeline's LoadAnnotations(reduce_zero_label=True)"
            if reduce_override is not None
            else f"{name}(reduce_zero_label=True)"
        )
        key = (
            "reduce_zero_label in the pipeline's LoadAnnotations"
            if reduce_override is not None
            else "the dataset's reduce_zero_label"
        )
        report.warnings.append(
            f"{where} turns label 0 into ignore_index={ignore_index}: "
            f"{100 * zeros_ignored / pixels:.0f}% of the pixels of the {_maps(checked)} are 0 "
            "and would be ignored in training and evaluation. If 0 is a real class in these "
            f"masks (not 'unlabelled'), set {key} to False and list class 0 in the dataset's "
            f"{classes_setting(dataset)}; if 0 does mean 'unlabelled', this is expected."
        )
