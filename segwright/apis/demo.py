"""The demo: train the quick-start config on the built-in scenes, evaluate, draw the pictures.

Leaves in the work dir: checkpoints, logs, ``curves.png`` (loss and mIoU), ``predictions.png``
(image | ground truth | prediction rows under column titles, with a colour legend),
``confusion.png`` and ``confusion.npy``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from segwright.apis.train import build_runner
from segwright.config import Config
from segwright.config.shipped import find_shipped_config
from segwright.evaluation.confusion import confusion_matrix
from segwright.visualization.panels import prediction_grid
from segwright.visualization.plots import plot_confusion_matrix, plot_curves

DEMO_CONFIG = "quickstart/demo_unet.py"


@dataclass
class DemoResult:
    metrics: dict[str, Any]
    work_dir: Path
    pictures: dict[str, Path]


def demo_config() -> Config:
    path = find_shipped_config(DEMO_CONFIG)
    if path is None:  # pragma: no cover - a broken install
        raise FileNotFoundError(
            f"The shipped config {DEMO_CONFIG} is missing from this installation."
        )
    return Config.fromfile(path)


def run_demo(
    work_dir: str | os.PathLike = "work_dirs/demo",
    device: str = "cpu",
    cfg_options: list[str] | None = None,
    num_examples: int = 6,
) -> DemoResult:
    """Train, evaluate and draw; return the final metrics and where the pictures are."""
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    cfg = demo_config()
    if cfg_options:
        cfg.merge_from_options(cfg_options)
    cfg.work_dir = str(work_dir)
    cfg.device = device
    runner = build_runner(cfg)
    try:
        runner.train()
        metrics = dict(runner.val_loop.last_metrics or {})
        work = Path(runner.work_dir)
        pictures = {
            "curves": plot_curves(
                [runner.log_dir / "vis_data" / "scalars.json"],
                keys=("loss", "val/mIoU"),
                out_file=work / "curves.png",
                labels=["demo"],
            )
        }
        pictures.update(_predictions_and_confusion(runner, work, num_examples))
    finally:
        runner.close()
    return DemoResult(metrics=metrics, work_dir=work, pictures=pictures)


@torch.no_grad()
def _predictions_and_confusion(runner: Any, work: Path, num_examples: int) -> dict[str, Path]:
    """One pass over the validation set: confusion matrix and the first few overlays."""
    model = runner.model
    model.eval()
    loader = runner.val_loop.dataloader
    meta = loader.dataset.metainfo
    classes = list(meta["classes"])
    palette = meta.get("palette")
    total = torch.zeros(len(classes), len(classes), dtype=torch.long)
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for batch in loader:
        for sample, result in zip(batch["data_samples"], model.val_step(batch)):
            truth = sample.gt_sem_seg.data.squeeze(0)
            pred = result.pred_sem_seg.data.squeeze(0).cpu()
            total += confusion_matrix(pred, truth, len(classes))
            if len(rows) < num_examples:
                image = cv2.imread(sample.metainfo["img_path"], cv2.IMREAD_COLOR)
                rows.append((image, truth.numpy(), pred.numpy()))
    grid = prediction_grid(rows, palette, classes, gap=6)
    predictions = work / "predictions.png"
    cv2.imwrite(str(predictions), grid)
    np.save(work / "confusion.npy", total.numpy())
    confusion = plot_confusion_matrix(total.numpy(), classes, work / "confusion.png")
    return {"predictions": predictions, "confusion": confusion}
