"""``SegTestOutputHook``: pictures and a confusion matrix from a test run (``segwright test``).

The test loop stays generic: this hook reads each test iteration's predictions (``outputs``)
and batch, paints ``image | ground truth | prediction`` PNGs into ``show_dir`` and sums a
confusion matrix (rows: truth, columns: prediction) saved as ``confusion.npy`` and
``confusion.png`` in ``out_dir`` at the end of the test epoch. A detector's predictions
(``pred_instances``) are painted as ``ground truth | prediction`` with boxes, masks, class
names and scores (no confusion matrix: ``segwright test --out`` has ``CocoMetric`` write its
result json instead).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from segwright.engine.hooks.hook import Hook
from segwright.evaluation.confusion import confusion_matrix
from segwright.registry import HOOKS
from segwright.utils.dist import get_world_size, is_main_process
from segwright.utils.errors import ConfigError
from segwright.visualization.instances import instance_panels
from segwright.visualization.overlay import display_image
from segwright.visualization.panels import side_by_side
from segwright.visualization.plots import plot_confusion_matrix


@HOOKS.register_module()
class SegTestOutputHook(Hook):
    """Write painted predictions and/or the test set's confusion matrix.

    Args:
        show_dir: Folder for ``<image stem>.png`` panels (image | truth | prediction, titled,
            with a legend), painted with the dataset's palette; None: no pictures.
        out_dir: Folder for ``confusion.npy`` (int64 pixel counts) and ``confusion.png``;
            None: no confusion matrix.
        ignore_index: Ground-truth value left out of the confusion matrix.
        score_thr: Lowest score of a painted instance (detectors).
    """

    priority = "LOW"

    def __init__(
        self,
        show_dir: str | None = None,
        out_dir: str | None = None,
        ignore_index: int = 255,
        score_thr: float = 0.3,
    ) -> None:
        if show_dir is None and out_dir is None:
            raise ConfigError("SegTestOutputHook needs show_dir and/or out_dir.")
        self.show_dir = Path(show_dir) if show_dir is not None else None
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.ignore_index = ignore_index
        self.score_thr = float(score_thr)
        self._semantic = False  # a semantic prediction was seen: the matrix means something
        self.classes: list[str] = []
        self.palette: Any = None
        self.matrix: torch.Tensor | None = None

    def before_test(self, runner: Any) -> None:
        meta = getattr(getattr(runner.test_loop.dataloader, "dataset", None), "metainfo", None)
        if not meta or not meta.get("classes"):
            raise ConfigError(
                "SegTestOutputHook needs the test dataset's metainfo['classes'] to size the "
                "confusion matrix and pick colours."
            )
        self.classes = [str(c) for c in meta["classes"]]
        self.palette = meta.get("palette")
        self.matrix = torch.zeros(len(self.classes), len(self.classes), dtype=torch.long)
        for folder in (self.show_dir, self.out_dir):
            if folder is not None and is_main_process():
                folder.mkdir(parents=True, exist_ok=True)

    def after_test_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        inputs = (data_batch or {}).get("inputs") if isinstance(data_batch, dict) else None
        for index, result in enumerate(outputs or []):
            if getattr(result, "pred_instances", None) is not None:
                if self.show_dir is not None:
                    self._paint_instances(result, inputs, batch_idx, index)
                continue
            self._semantic = True
            pred = result.pred_sem_seg.data.squeeze(0).cpu()
            truth = (
                result.gt_sem_seg.data.squeeze(0).cpu() if result.gt_sem_seg is not None else None
            )
            if truth is not None and self.matrix is not None:
                self.matrix += confusion_matrix(pred, truth, len(self.classes), self.ignore_index)
            if self.show_dir is not None:
                panel = paint_panel(
                    result, inputs, index, self.palette, len(self.classes), self.classes
                )
                stem = _stem(result.metainfo, batch_idx, index)
                cv2.imwrite(str(self.show_dir / f"{stem}.png"), panel)

    def _paint_instances(self, result: Any, inputs: Any, batch_idx: int, index: int) -> None:
        """``ground truth | prediction`` of a detector's result, over the original image."""
        meta = result.metainfo
        size = tuple(meta.get("ori_shape", ())[:2])
        raw = inputs[index] if inputs is not None and index < len(inputs) else None
        image = _original_image(meta, raw, size) if size else None
        if image is None:
            return
        panels: list[tuple[str, Any]] = []
        if getattr(result, "gt_instances", None) is not None:
            panels.append(("ground truth", result.gt_instances))
        panels.append((f"prediction (score >= {self.score_thr:g})", result.pred_instances))
        picture = instance_panels(image, panels, self.classes, self.palette, self.score_thr)
        stem = _stem(meta, batch_idx, index)
        cv2.imwrite(str(self.show_dir / f"{stem}.png"), picture)

    def after_test_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        if self.out_dir is None or self.matrix is None or not self._semantic:
            return
        matrix = self.matrix
        if get_world_size() > 1:
            matrix = matrix.to(runner.device)
            torch.distributed.all_reduce(matrix)
            matrix = matrix.cpu()
        if is_main_process():
            np.save(self.out_dir / "confusion.npy", matrix.numpy())
            plot_confusion_matrix(matrix.numpy(), self.classes, self.out_dir / "confusion.png")


def paint_panel(
    sample: Any,
    inputs: Any,
    index: int,
    palette: Any,
    num_classes: int | None,
    classes: Any = None,
) -> np.ndarray:
    """``image | ground truth | prediction`` for one predicted sample (truth left out if absent).

    Titled, with a legend of ``classes`` (see :func:`~segwright.visualization.prediction_grid`).
    The image is read from ``img_path`` when possible, else taken from ``inputs[index]``.
    """
    pred = sample.pred_sem_seg.data.squeeze(0).cpu().numpy()
    gt = getattr(sample, "gt_sem_seg", None)
    truth = gt.data.squeeze(0).cpu().numpy() if gt is not None else None
    raw = inputs[index] if inputs is not None and index < len(inputs) else None
    image = _original_image(sample.metainfo, raw, tuple(pred.shape))
    return side_by_side(image, truth, pred, palette, num_classes, classes=classes)


def _stem(metainfo: dict[str, Any], batch_idx: int, index: int) -> str:
    path = metainfo.get("img_path")
    if path is None:
        return f"batch{batch_idx}_{index}"
    return os.path.splitext(os.path.basename(str(path)))[0]


def _original_image(metainfo: dict[str, Any], raw: Any, size: tuple[int, int]) -> np.ndarray:
    """The image at the prediction's size: from disk when readable, else the batch's input."""
    path = metainfo.get("img_path")
    image = None
    if path is not None and os.path.isfile(str(path)):
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None and raw is not None:
        if isinstance(raw, (list, tuple)):  # test-time augmentation: the views of one image
            raw = min(
                raw, key=lambda view: abs(view.shape[-2] - size[0]) + abs(view.shape[-1] - size[1])
            )
        image = raw.detach().cpu().numpy().transpose(1, 2, 0)
    if image is None:
        image = np.zeros((*size, 3), dtype=np.uint8)
    image = display_image(image)  # 16-bit or float images: stretched to 0..255
    if image.shape[:2] != size:
        image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return image
