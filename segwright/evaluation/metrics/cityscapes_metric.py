"""``CityScapesMetric``: the Cityscapes instance-level AP, as MMDetection 3.3 reports it.

MMDetection's ``cityscapes_instance.py`` evaluates with it beside ``CocoMetric``. For each image
it writes what the Cityscapes benchmark reads: one binary PNG per predicted instance
(``<image>_<i>_<class>.png``, values 0/1) and a list ``<image>_pred.txt`` with one line
``<png name> <label id> <score>`` per instance, in ``<outfile_prefix>/results/``. The ground
truth is the ``*_gtFine_instanceIds.png`` beside each image's path (``leftImg8bit`` ->
``gtFine``). Returned keys: ``mAP`` (AP over IoU 0.50:0.05:0.95) and ``AP@50``, under the
``cityscapes/`` prefix; per-class AP and AP50 are logged as a table and kept in
``class_metrics``.

The evaluation itself is :mod:`segwright.evaluation.cityscapes_ap` (no ``cityscapesscripts``
needed). Matching happens while processing, from the in-memory masks, so only a few numbers
per instance are kept and gathered across processes.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from segwright.evaluation.cityscapes_ap import (
    INSTANCE_LABEL_IDS,
    evaluate_matches,
    match_image,
    summarize,
)
from segwright.evaluation.metrics.base_metric import BaseMetric
from segwright.evaluation.samples import get_field
from segwright.evaluation.table import format_class_table
from segwright.registry import METRICS
from segwright.utils.dist import is_main_process
from segwright.utils.errors import ConfigError, DatasetError

logger = logging.getLogger(__name__)


def _numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def ground_truth_path(img_path: str) -> Path:
    """``.../leftImg8bit/val/x/x_leftImg8bit.png`` -> ``.../gtFine/val/x/x_gtFine_instanceIds.png``."""
    path = img_path.replace("leftImg8bit.png", "gtFine_instanceIds.png")
    return Path(path.replace("leftImg8bit", "gtFine"))


@METRICS.register_module()
class CityScapesMetric(BaseMetric):
    """Cityscapes instance segmentation AP (MMDetection 3.3's ``CityScapesMetric``).

    Args:
        outfile_prefix: The result files go to ``<outfile_prefix>/results/`` (emptied when
            the metric is built); None uses a temporary folder.
        seg_prefix: The ``gtFine/<split>`` folder. Required unless ``format_only``, as in
            MMDetection. The ground truth is looked up beside the image first (its path with
            ``leftImg8bit`` -> ``gtFine``, MMDetection's only rule), then in
            ``<seg_prefix>/<city>/``.
        format_only: Only write the result files (for the test server), no evaluation.
        keep_results: Keep the temporary folder when ``outfile_prefix`` is None (accepted
            from MMDetection 3.0's version of this metric).
        dump_matches: Also write ``matches.json`` (each image's ground truth and prediction
            pairs with their pixel counts) into the results folder.
        file_client_args: Removed in MMDetection 3.0; giving it raises, as there.
        backend_args: Accepted for MMDetection configs; files are read from local paths.
        collect_device, prefix: See :class:`BaseMetric`.

    Raises:
        ConfigError: ``seg_prefix`` missing when evaluating, ``file_client_args`` given.
    """

    default_prefix = "cityscapes"

    def __init__(
        self,
        outfile_prefix: str | None = None,
        seg_prefix: str | None = None,
        format_only: bool = False,
        keep_results: bool = False,
        collect_device: str = "cpu",
        prefix: str | None = None,
        dump_matches: bool = False,
        file_client_args: Mapping[str, Any] | None = None,
        backend_args: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if file_client_args is not None:
            raise ConfigError(
                "CityScapesMetric: file_client_args was replaced by backend_args in "
                "MMDetection 3.0; rename the key (files are read from local paths)."
            )
        if format_only and outfile_prefix is None:
            raise ConfigError(
                "CityScapesMetric(format_only=True) only writes result files: set "
                "outfile_prefix, or they would go to a temporary folder that is removed."
            )
        if not format_only and seg_prefix is None:
            raise ConfigError(
                "CityScapesMetric needs seg_prefix (the gtFine/<split> folder of the "
                "*_gtFine_instanceIds.png ground truth) unless format_only=True."
            )
        self.format_only = bool(format_only)
        self.seg_prefix = seg_prefix
        self.keep_results = bool(keep_results)
        self.dump_matches = bool(dump_matches)
        self.backend_args = backend_args
        self._tmp_dir: tempfile.TemporaryDirectory[str] | None = None
        if outfile_prefix is None:
            self._tmp_dir = tempfile.TemporaryDirectory()
            outfile_prefix = self._tmp_dir.name
        self.outfile_dir = Path(outfile_prefix).expanduser() / "results"
        if self.outfile_dir.exists() and is_main_process():
            logger.info(f"CityScapesMetric: removing the previous results in {self.outfile_dir}.")
            shutil.rmtree(self.outfile_dir)
        self.outfile_dir.mkdir(parents=True, exist_ok=True)

    def __del__(self) -> None:
        tmp_dir = getattr(self, "_tmp_dir", None)
        if tmp_dir is not None and not self.keep_results:
            tmp_dir.cleanup()

    def _label_ids(self) -> list[int]:
        classes = (self.dataset_meta or {}).get("classes")
        if not classes:
            raise ConfigError("CityScapesMetric needs the dataset's classes (dataset_meta).")
        unknown = [name for name in classes if name not in INSTANCE_LABEL_IDS]
        if unknown:
            raise ConfigError(
                f"CityScapesMetric: the dataset's classes {unknown} are not Cityscapes instance "
                f"classes; it evaluates {', '.join(INSTANCE_LABEL_IDS)}."
            )
        return [INSTANCE_LABEL_IDS[name] for name in classes]

    # -- per batch -------------------------------------------------------------------------

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Write each image's instance PNGs and list; keep its match statistics."""
        label_ids = self._label_ids()
        classes = self.dataset_meta["classes"]
        for sample in data_samples:
            pred = get_field(sample, "pred_instances")
            img_path = str(get_field(sample, "img_path"))
            labels = _numpy(get_field(pred, "labels")).reshape(-1).astype(np.int64)
            masks = get_field(pred, "masks")
            if hasattr(masks, "to_ndarray"):  # BitmapMasks / PolygonMasks
                masks = masks.to_ndarray()
            masks = _numpy(masks).astype(np.uint8)
            # Some detectors score masks apart from boxes.
            scores = get_field(pred, "mask_scores", None)
            if scores is None:
                scores = get_field(pred, "scores")
            scores = _numpy(scores).reshape(-1)  # written as given: float32 prints as "0.9"
            if labels.size and int(labels.max()) >= len(label_ids):
                raise ConfigError(
                    f"CityScapesMetric: a prediction has label {int(labels.max())} but the "
                    f"dataset has {len(label_ids)} classes; the head's num_classes must match."
                )
            self._write_image(Path(img_path).stem, labels, masks, scores, classes, label_ids)
            gt_path = self._ground_truth_path(img_path)
            if self.format_only:  # nothing to score, but keep the count of images
                self.results.append({"file": str(gt_path), "classes": None})
                continue
            matches = match_image(
                self._read_ground_truth(gt_path),
                masks,
                [label_ids[i] for i in labels],
                scores.astype(np.float64),
            )
            self.results.append({"file": str(gt_path), "classes": matches})

    def _write_image(
        self,
        stem: str,
        labels: np.ndarray,
        masks: np.ndarray,
        scores: np.ndarray,
        classes: Sequence[str],
        label_ids: Sequence[int],
    ) -> None:
        lines = []
        for i, (label, mask, score) in enumerate(zip(labels, masks, scores)):
            name = f"{stem}_{i}_{classes[label]}.png"
            if not cv2.imwrite(str(self.outfile_dir / name), mask):
                raise OSError(f"CityScapesMetric could not write {self.outfile_dir / name}.")
            lines.append(f"{name} {label_ids[label]} {score!s}\n")
        (self.outfile_dir / f"{stem}_pred.txt").write_text("".join(lines))

    def _ground_truth_path(self, img_path: str) -> Path:
        """Beside the image (MMDetection's rule), else ``<seg_prefix>/<city>/<name>``."""
        if "leftImg8bit" not in Path(img_path).name:
            # Without Cityscapes naming the rule maps the image onto itself: never read the
            # image as its own ground truth.
            raise DatasetError(
                f"CityScapesMetric: {img_path!r} is not named as Cityscapes names images "
                "(<city>_<seq>_<frame>_leftImg8bit.png), so its *_gtFine_instanceIds.png cannot "
                "be found. Use CocoMetric alone for other data (drop CityScapesMetric from "
                "val_evaluator/test_evaluator)."
            )
        path = ground_truth_path(img_path)
        if not path.is_file() and self.seg_prefix is not None:
            other = Path(self.seg_prefix) / Path(img_path).parent.name / path.name
            if other.is_file():
                return other
        return path

    def _read_ground_truth(self, path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise DatasetError(
                f"CityScapesMetric: the ground truth {str(path)!r} (found from the image path, "
                "leftImg8bit -> gtFine) is missing or unreadable; create it with "
                "cityscapesscripts' createTrainIdInstanceImgs or check seg_prefix/data_root."
            )
        if image.ndim != 2:
            raise DatasetError(
                f"CityScapesMetric: {str(path)!r} has {image.shape[2]} channels; an "
                "instanceIds PNG has one (class_id * 1000 + instance)."
            )
        return image

    # -- whole dataset ---------------------------------------------------------------------

    def compute_metrics(self, results: list[Any]) -> dict[str, Any]:
        """``mAP`` and ``AP@50`` over the 8 classes (nan-mean, as the benchmark averages)."""
        if self.format_only:
            logger.info(f"CityScapesMetric: results written to {self.outfile_dir}.")
            return {}
        if self.dump_matches:
            (self.outfile_dir / "matches.json").write_text(
                json.dumps({r["file"]: r["classes"] for r in results})
            )
        summary = summarize(evaluate_matches(r["classes"] for r in results))
        names = list(summary["classes"])
        table = format_class_table(
            {
                "Class": names + ["average"],
                "AP": [summary["classes"][n]["AP"] for n in names] + [summary["AP"]],
                "AP50": [summary["classes"][n]["AP50"] for n in names] + [summary["AP50"]],
            }
        )
        logger.info(f"Cityscapes instance AP ({len(results)} images):\n{table}")
        for name in names:
            for key in ("AP", "AP50"):
                value = summary["classes"][name][key]
                if not math.isnan(value):
                    self.class_metrics[f"{key}/{name}"] = value
        return {"mAP": summary["AP"], "AP@50": summary["AP50"]}
