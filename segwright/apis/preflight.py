"""Checks before iteration 0 that save an hour (STYLE point 5).

The model's ``num_classes`` must match the training data's classes, and a sample of label maps
must hold only values in ``[0, num_classes) ∪ {ignore_index}`` — the cause of most "mIoU is
nan/zero" questions (mmsegmentation#1955, #3787).
"""

from __future__ import annotations

from typing import Any

from segwright.datasets.checks import check_dataset_labels
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
        "dataset.metainfo=dict(classes=...)."
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
        if runner.val_loop is not None:
            check_num_classes(
                runner.model, runner.val_loop.dataloader.dataset, "val_dataloader.dataset"
            )
        report = check_dataset_labels(dataset, num_samples=self.num_samples)
        if report.num_checked:
            total = sum(report.pixel_counts.values()) or 1
            shares = ", ".join(
                f"{v}: {100 * n / total:.1f}%" for v, n in sorted(report.pixel_counts.items())
            )
            runner.logger.info(
                f"Pre-flight: {report.num_checked} label maps checked; label values (share of pixels): {shares}."
            )
