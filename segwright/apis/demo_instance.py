"""The instance demo: a small Mask R-CNN on the procedural shape scenes, evaluated with COCO mAP.

Leaves in the work dir: checkpoints, logs, ``curves.png`` (losses and mAP) and
``predictions.png`` (image | ground truth | prediction, with boxes, masks, labels, scores).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from segwright.apis.demo import DemoResult
from segwright.apis.train import build_runner
from segwright.config import Config
from segwright.config.shipped import find_shipped_config
from segwright.datasets.demo_instance import write_instance_demo_dataset
from segwright.evaluation.metrics.coco_metric import require_pycocotools
from segwright.visualization.instances import draw_instances, zoom_instances
from segwright.visualization.plots import plot_curves
from segwright.visualization.text import Font, put_text

INSTANCE_DEMO_CONFIG = "quickstart/demo_mask_rcnn.py"
#: torch threads for the run. This model's small convolutions gain little from a second core
#: (measured on 2 cores: 0.35 s a training step on one thread, 0.29 s on two) and lose badly
#: when another job is busy on it (3.5 s a step on two threads), so one thread it is.
DEMO_THREADS = 1
#: Curves drawn in ``curves.png``: losses per logged step, mAP per validation.
CURVE_KEYS = ("loss", "loss_mask", "val/coco/bbox_mAP", "val/coco/segm_mAP")


def instance_demo_config(data_root: str | os.PathLike) -> Config:
    """The shipped demo config with every dataset and the evaluators pointed at ``data_root``."""
    path = find_shipped_config(INSTANCE_DEMO_CONFIG)
    if path is None:  # pragma: no cover - a broken install
        raise FileNotFoundError(f"The shipped config {INSTANCE_DEMO_CONFIG} is missing.")
    cfg = Config.fromfile(path)
    root = str(data_root)
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        cfg[loader]["dataset"]["data_root"] = root
    for evaluator in ("val_evaluator", "test_evaluator"):
        cfg[evaluator]["ann_file"] = os.path.join(root, "annotations", "val.json")
    return cfg


def run_instance_demo(
    work_dir: str | os.PathLike = "work_dirs/demo_instance",
    device: str = "cpu",
    cfg_options: list[str] | None = None,
    num_examples: int = 4,
) -> DemoResult:
    """Write the data, train, evaluate and draw; return the final metrics and the pictures.

    Raises:
        ConfigError: pycocotools is missing (one line naming the ``det`` extra).
    """
    require_pycocotools()  # before minutes of training, not after
    cfg = instance_demo_config(write_instance_demo_dataset())
    if cfg_options:
        cfg.merge_from_options(cfg_options)
    cfg.work_dir = str(work_dir)
    cfg.device = device
    threads = torch.get_num_threads()
    torch.set_num_threads(DEMO_THREADS)
    try:
        return _train_and_draw(cfg, num_examples)
    finally:
        torch.set_num_threads(threads)


def _train_and_draw(cfg: Config, num_examples: int) -> DemoResult:
    runner = build_runner(cfg)
    try:
        runner.train()
        metrics = dict(runner.val_loop.last_metrics or {})
        work = Path(runner.work_dir)
        pictures = {
            "curves": plot_curves(
                [runner.log_dir / "vis_data" / "scalars.json"],
                keys=CURVE_KEYS,
                out_file=work / "curves.png",
                labels=["demo_instance"],
            ),
            "predictions": _predictions(runner, work / "predictions.png", num_examples),
        }
    finally:
        runner.close()
    return DemoResult(metrics=metrics, work_dir=work, pictures=pictures)


@torch.no_grad()
def _predictions(runner: Any, out_file: Path, num_examples: int, zoom: int = 3) -> Path:
    """Rows of image | ground truth | prediction for the first validation images."""
    model = runner.model
    model.eval()
    meta = runner.val_loop.dataloader.dataset.metainfo
    classes, palette = list(meta["classes"]), meta.get("palette")
    rows: list[np.ndarray] = []
    for batch in runner.val_loop.dataloader:
        for sample, result in zip(batch["data_samples"], model.val_step(batch)):
            image = cv2.imread(sample.metainfo["img_path"], cv2.IMREAD_COLOR)
            big = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
            panels = [big]
            for instances in (sample.gt_instances, result.pred_instances):
                panels.append(
                    draw_instances(big, zoom_instances(instances, zoom), classes, palette)
                )
            rows.append(np.hstack([_gap(p) for p in panels]))
            if len(rows) == num_examples:
                break
        if len(rows) == num_examples:
            break
    font = Font(14)
    titles = np.full((font.height + 14, rows[0].shape[1], 3), 255, np.uint8)
    width = rows[0].shape[1] // 3
    for column, title in enumerate(("image", "ground truth", "prediction (score >= 0.3)")):
        put_text(titles, title, (column * width + 6, 6), font)
    cv2.imwrite(str(out_file), np.vstack([titles, *rows]))
    return out_file


def _gap(panel: np.ndarray, width: int = 6) -> np.ndarray:
    return cv2.copyMakeBorder(panel, 0, width, 0, width, cv2.BORDER_CONSTANT, value=(255,) * 3)
