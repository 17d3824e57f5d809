"""Confusion matrices of predicted vs true labels (rows: truth, columns: prediction)."""

from __future__ import annotations

import torch


def confusion_matrix(
    pred: torch.Tensor, label: torch.Tensor, num_classes: int, ignore_index: int = 255
) -> torch.Tensor:
    """``(num_classes, num_classes)`` pixel counts; ignored and out-of-range labels are left out."""
    pred = pred.reshape(-1).long()
    label = label.reshape(-1).long().to(pred.device)
    keep = (label != ignore_index) & (label >= 0) & (label < num_classes)
    index = label[keep] * num_classes + pred[keep].clamp(0, num_classes - 1)
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )
