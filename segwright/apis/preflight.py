"""Checks before iteration 0 that save an hour (STYLE point 5).

The model's ``num_classes`` must match the training data's classes, and a sample of label maps
must hold only values in ``[0, num_classes) ∪ {ignore_index}`` — the cause of most "mIoU is
nan/zero" questions (mmsegmentation#1955, #3787); a detector's classifying heads likewise
(``roi_head.bbox_head``/``mask_head``). A backbone that needs input sizes divisible
by some number (UNet) must get such inputs at validation too, not only in training.
"""

from __future__ import annotations

from typing import Any

from segwright.datasets.checks import check_dataset_labels, classes_setting
from segwright.engine.hooks import Hook
from segwright.registry import HOOKS
from segwright.utils.errors import ConfigError


def model_num_classes(model: Any) -> int | None:
    """``num_classes`` of a segmentor (its decode head's), or None when it has none."""
    model = getattr(model, "module", model)
    value = getattr(model, "num_classes", None)
    if value is None:
        value = getattr(getattr(model, "decode_head", None), "num_classes", None)
    return int(value) if isinstance(value, int) else None


def check_num_classes(model: Any, dataset: Any, where: str) -> None:
    """The model predicts as many classes as the dataset names."""
    classes = (getattr(dataset, "metainfo", None) or {}).get("classes")
    num_classes = model_num_classes(model)
    if not classes or num_classes is None or len(classes) == num_classes:
        return
    shown = ", ".join(map(str, list(classes)[:6])) + (", ..." if len(classes) > 6 else "")
    raise ConfigError(
        f"The model predicts {num_classes} classes (model.decode_head.num_classes) but "
        f"{where} has {len(classes)} ({shown}). Set num_classes={len(classes)} in "
        "model.decode_head (and every auxiliary head), or choose the classes with "
        f"{where}.{classes_setting(dataset)}."
    )


#: The heads of a detector that classify, by their config key under ``model`` (MMDetection's
#: names): each must predict as many classes as the dataset has.
DETECTOR_CLASS_HEADS = ("roi_head.bbox_head", "roi_head.mask_head", "bbox_head")


def detector_num_classes(model: Any) -> list[tuple[str, int]]:
    """``(config key, num_classes)`` of each classifying head of a detector (none for others)."""
    model = getattr(model, "module", model)
    found = []
    for key in DETECTOR_CLASS_HEADS:
        node = model
        for part in key.split("."):
            node = getattr(node, part, None)
        value = getattr(node, "num_classes", None)
        if isinstance(value, int) and not isinstance(value, bool):
            found.append((f"model.{key}.num_classes", value))
    return found


def check_detector_num_classes(model: Any, dataset: Any, where: str) -> None:
    """Every classifying head of a detector predicts as many classes as the dataset names.

    A fine-tuning config that changes the dataset's classes but not a head's ``num_classes``
    (or the reverse) trains without complaint and then finds nothing (MMDetection's most
    reported fine-tuning failure), so this is checked before iteration 0.
    """
    classes = (getattr(dataset, "metainfo", None) or {}).get("classes")
    wrong = [
        (key, value) for key, value in detector_num_classes(model) if value != len(classes or ())
    ]
    if not classes or not wrong:
        return
    shown = ", ".join(map(str, list(classes)[:6])) + (", ..." if len(classes) > 6 else "")
    heads = " and ".join(f"{key}={value}" for key, value in wrong)
    raise ConfigError(
        f"{where} has {len(classes)} classes ({shown}) but {heads}. Trained like this the "
        "detector's class scores do not match the dataset's labels (empty results, mAP 0). "
        f"Set num_classes={len(classes)} in {' and '.join(k.rsplit('.', 1)[0] for k, _ in wrong)}, "
        f"or choose the classes with {where}.{classes_setting(dataset)}."
    )


def _round_up(value: int, divisor: Any) -> int:
    if not isinstance(divisor, int) or divisor <= 1:
        return value
    return -(-value // divisor) * divisor


def _size_pair(value: Any) -> tuple[int, int] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return None


def inference_input_size(model: Any, image_size: tuple[int, int]) -> tuple[int, int]:
    """The ``(h, w)`` the backbone sees at validation/test for an image of ``image_size``.

    Follows the data preprocessor's ``test_cfg`` padding (``size``, ``size_divisor``), then
    ``model.test_cfg`` (a slide window of ``crop_size``, or the whole image).
    """
    h, w = image_size
    test_pad = getattr(getattr(model, "data_preprocessor", None), "test_cfg", None) or {}
    if test_pad.get("size") or test_pad.get("size_divisor"):
        size = _size_pair(test_pad.get("size"))
        if size is not None:
            h, w = max(h, size[0]), max(w, size[1])
        h, w = (
            _round_up(h, test_pad.get("size_divisor")),
            _round_up(w, test_pad.get("size_divisor")),
        )
    test_cfg = getattr(model, "test_cfg", None) or {}
    crop = _size_pair(test_cfg.get("crop_size"))
    if test_cfg.get("mode") == "slide" and crop is not None:
        h, w = min(h, crop[0]), min(w, crop[1])
    return h, w


def check_input_divisibility(model: Any, dataset: Any, where: str, num_samples: int = 2) -> None:
    """Images of ``dataset`` reach the backbone at a size it accepts (UNet's ``size_divisor``).

    Training batches are padded by ``data_preprocessor.size``/``size_divisor``, but validation
    and test inputs only by ``data_preprocessor.test_cfg``: without this check a UNet trains for
    the whole first ``val_interval`` and then fails at its first validation.

    Raises:
        ConfigError: A sampled image would reach the backbone at a size it rejects.
    """
    model = getattr(model, "module", model)
    backbone = getattr(model, "backbone", None)
    divisor = getattr(backbone, "size_divisor", None)
    if not isinstance(divisor, int) or divisor <= 1 or not len(dataset):
        return
    for index in sorted({0, len(dataset) - 1})[:num_samples]:
        try:
            inputs = dataset[index].get("inputs")
            image_size = (int(inputs.shape[-2]), int(inputs.shape[-1]))
        except Exception:  # noqa: BLE001 - reading the data is not this check's business
            return
        h, w = inference_input_size(model, image_size)
        if h % divisor == 0 and w % divisor == 0:
            continue
        name = type(backbone).__name__
        raise ConfigError(
            f"{name} needs input height and width that are multiples of {divisor}, but image "
            f"{index} of {where} ({image_size[0]}x{image_size[1]} after its pipeline) reaches "
            f"it as {h}x{w} at validation/test, so the first validation would fail. Set "
            f"model.data_preprocessor.test_cfg=dict(size_divisor={divisor}) to pad validation "
            "and test inputs (predictions are cropped back; data_preprocessor.size_divisor "
            "pads training batches only), or use model.test_cfg=dict(mode='slide', "
            f"crop_size=..., stride=...) with a crop_size that is a multiple of {divisor}."
        )


@HOOKS.register_module()
class SegPreflightHook(Hook):
    """Runs the checks once, before training starts.

    Args:
        num_samples: Label maps read from each training dataset.
    """

    priority = "VERY_HIGH"

    def __init__(self, num_samples: int = 20) -> None:
        self.num_samples = num_samples

    def before_train(self, runner: Any) -> None:
        dataset = runner.train_loop.dataloader.dataset
        check_num_classes(runner.model, dataset, "train_dataloader.dataset")
        check_detector_num_classes(runner.model, dataset, "train_dataloader.dataset")
        if runner.val_loop is not None:
            val_dataset = runner.val_loop.dataloader.dataset
            check_num_classes(runner.model, val_dataset, "val_dataloader.dataset")
            check_detector_num_classes(runner.model, val_dataset, "val_dataloader.dataset")
            check_input_divisibility(runner.model, val_dataset, "val_dataloader.dataset")
        report = check_dataset_labels(dataset, num_samples=self.num_samples)
        for warning in report.warnings:
            runner.logger.warning(f"Pre-flight: train_dataloader.dataset: {warning}")
        if report.num_checked:
            total = sum(report.pixel_counts.values()) or 1
            shares = ", ".join(
                f"{v}: {100 * n / total:.1f}%" for v, n in sorted(report.pixel_counts.items())
            )
            runner.logger.info(
                f"Pre-flight: {report.num_checked} label maps checked; label values (share of pixels): {shares}."
            )
