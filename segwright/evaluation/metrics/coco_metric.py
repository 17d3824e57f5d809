"""``CocoMetric``: COCO box and mask mAP as MMDetection 3.3 reports them, via pycocotools.

The predictions of every image are written as COCO result json, loaded against the ground
truth (the dataset's COCO json ``ann_file``, or one built from the samples' ``instances``),
and scored by pycocotools' ``COCOeval``. Returned keys: ``bbox_mAP``, ``bbox_mAP_50``,
``bbox_mAP_75``, ``bbox_mAP_s``, ``bbox_mAP_m``, ``bbox_mAP_l`` (and ``segm_*``), rounded to 3
decimals, under the ``coco/`` prefix, as MMDetection logs them.

pycocotools is an optional dependency: ``pip install 'segwright[det]'``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from segwright.evaluation.metrics.base_metric import BaseMetric
from segwright.evaluation.samples import get_field
from segwright.registry import METRICS
from segwright.utils.errors import ConfigError

logger = logging.getLogger(__name__)

#: Index of each summary value in ``COCOeval.stats``.
STAT_INDEX = {
    "mAP": 0, "mAP_50": 1, "mAP_75": 2, "mAP_s": 3, "mAP_m": 4, "mAP_l": 5,
    "AR@100": 6, "AR@300": 7, "AR@1000": 8, "AR_s@1000": 9, "AR_m@1000": 10, "AR_l@1000": 11,
}  # fmt: skip
DEFAULT_ITEMS = ("mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l")
METRIC_NAMES = ("bbox", "segm")


def require_pycocotools() -> Any:
    """Import pycocotools, or raise one line that says which extra installs it."""
    try:
        import pycocotools.mask  # noqa: F401
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise ConfigError(
            "CocoMetric needs pycocotools, which is not installed: "
            "pip install 'segwright[det]' (or pip install pycocotools)."
        ) from None
    return COCO, COCOeval


def encode_masks(masks: Any) -> list[dict[str, Any]]:
    """Binary ``(N, H, W)`` masks -> COCO run-length encodings (``counts`` as str)."""
    import pycocotools.mask as mask_util

    array = masks.detach().cpu().numpy() if isinstance(masks, torch.Tensor) else np.asarray(masks)
    encoded = []
    for mask in array:
        rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
        if isinstance(rle["counts"], bytes):
            rle["counts"] = rle["counts"].decode()
        encoded.append(rle)
    return encoded


def xyxy_to_xywh(box: Sequence[float]) -> list[float]:
    """``[x1, y1, x2, y2]`` -> COCO's ``[x, y, w, h]``."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return [x1, y1, x2 - x1, y2 - y1]


def _numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class CocoMetric(BaseMetric):
    """COCO detection (``bbox``) and instance segmentation (``segm``) mAP.

    Args:
        ann_file: The ground truth as COCO json; None builds it from each sample's
            ``instances`` (as the dataset loaded them).
        metric: ``'bbox'``, ``'segm'`` or a list of both.
        classwise: Also log a per-class AP table.
        proposal_nums: COCOeval's ``maxDets``; AP uses the last (MMDetection: 1000).
        iou_thrs: IoU thresholds (default 0.50:0.05:0.95).
        metric_items: Which summary values to return (default mAP, mAP_50, mAP_75, mAP_s,
            mAP_m, mAP_l).
        format_only: Only write the result json files (needs ``outfile_prefix``).
        outfile_prefix: Where the result json files go (``<prefix>.bbox.json``...); a
            temporary folder when None.
        sort_categories: Sort the json's categories by id first (MMDetection's option).
        file_client_args, backend_args, use_mp_eval: Accepted for MMDetection configs;
            files are read from local paths, evaluation runs in one process.
        collect_device, prefix: See :class:`BaseMetric`.
    """

    default_prefix = "coco"

    def __init__(
        self,
        ann_file: str | None = None,
        metric: str | Sequence[str] = "bbox",
        classwise: bool = False,
        proposal_nums: Sequence[int] = (100, 300, 1000),
        iou_thrs: float | Sequence[float] | None = None,
        metric_items: Sequence[str] | None = None,
        format_only: bool = False,
        outfile_prefix: str | None = None,
        file_client_args: Mapping[str, Any] | None = None,
        backend_args: Mapping[str, Any] | None = None,
        collect_device: str = "cpu",
        prefix: str | None = None,
        sort_categories: bool = False,
        use_mp_eval: bool = False,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = [metric] if isinstance(metric, str) else list(metric)
        for name in self.metrics:
            if name not in METRIC_NAMES:
                raise ConfigError(
                    f"CocoMetric metric={name!r} is not supported; use 'bbox' and/or 'segm'."
                )
        self.classwise = bool(classwise)
        self.proposal_nums = [int(n) for n in proposal_nums]
        if iou_thrs is None:
            iou_thrs = np.linspace(0.5, 0.95, 10, endpoint=True)
        self.iou_thrs = np.atleast_1d(np.asarray(iou_thrs, dtype=np.float64))
        self.metric_items = list(metric_items) if metric_items is not None else None
        for item in self.metric_items or []:
            if item not in STAT_INDEX:
                raise ConfigError(
                    f"CocoMetric metric_items: {item!r} is not one of {', '.join(STAT_INDEX)}."
                )
        if format_only and not outfile_prefix:
            raise ConfigError(
                "CocoMetric(format_only=True) writes result files only: set outfile_prefix."
            )
        self.format_only = bool(format_only)
        self.outfile_prefix = outfile_prefix
        self.sort_categories = bool(sort_categories)
        self.ann_file = ann_file
        self._coco: Any = None
        if ann_file is not None:
            self._coco = self._load_ground_truth(ann_file)
        self.cat_ids: list[int] | None = None
        self.img_ids: list[int] | None = None

    def _load_ground_truth(self, ann_file: str | Path) -> Any:
        coco_cls, _ = require_pycocotools()
        path = Path(ann_file)
        if not path.is_file():
            raise ConfigError(f"CocoMetric ann_file {str(path)!r} does not exist.")
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
            try:
                coco = coco_cls(str(path))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ConfigError(
                    f"CocoMetric ann_file {str(path)!r} is not COCO json ({exc})."
                ) from None
        if self.sort_categories:
            coco.dataset["categories"] = sorted(coco.dataset["categories"], key=lambda c: c["id"])
            coco.cats = {c["id"]: c for c in coco.dataset["categories"]}
        return coco

    # -- per batch -------------------------------------------------------------------------

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Keep each image's predictions (masks run-length encoded) and its ground truth."""
        for sample in data_samples:
            pred = get_field(sample, "pred_instances")
            result: dict[str, Any] = {
                "img_id": int(get_field(sample, "img_id")),
                "bboxes": _numpy(get_field(pred, "bboxes")).reshape(-1, 4),
                "scores": _numpy(get_field(pred, "scores")).reshape(-1),
                "labels": _numpy(get_field(pred, "labels")).reshape(-1).astype(np.int64),
            }
            masks = get_field(pred, "masks", None)
            if masks is not None:
                result["masks"] = encode_masks(masks) if not _is_rle_list(masks) else masks
            mask_scores = get_field(pred, "mask_scores", None)
            if mask_scores is not None:
                result["mask_scores"] = _numpy(mask_scores).reshape(-1)
            ori_shape = get_field(sample, "ori_shape")
            gt: dict[str, Any] = {
                "img_id": result["img_id"],
                "width": int(ori_shape[1]),
                "height": int(ori_shape[0]),
            }
            if self._coco is None:
                instances = get_field(sample, "instances", None)
                if instances is None:
                    raise ConfigError(
                        "CocoMetric without ann_file builds the ground truth from each sample's "
                        "'instances', and this sample has none: set val_evaluator.ann_file to "
                        "the COCO json, or keep 'instances' in PackDetInputs' meta_keys."
                    )
                gt["anns"] = instances
            self.results.append((gt, result))

    # -- whole dataset ---------------------------------------------------------------------

    def compute_metrics(self, results: list[Any]) -> dict[str, Any]:
        """COCOeval summaries for each metric, 3 decimals."""
        _, coco_eval_cls = require_pycocotools()
        gts, preds = zip(*results) if results else ((), ())
        with tempfile.TemporaryDirectory() as tmp:
            prefix = self.outfile_prefix or str(Path(tmp) / "results")
            if self._coco is None:
                self._coco = self._load_ground_truth(self._write_ground_truth(gts, prefix))
            classes = (self.dataset_meta or {}).get("classes")
            if self.cat_ids is None:
                self.cat_ids = self._category_ids(classes)
            if self.img_ids is None:
                self.img_ids = self._coco.getImgIds()
            files = self._write_results(preds, prefix)
            if self.format_only:
                logger.info(f"CocoMetric: results written to {', '.join(files.values())}.")
                return {}
            out: dict[str, Any] = {}
            for metric in self.metrics:
                out.update(self._evaluate(metric, files[metric], coco_eval_cls, classes))
        return out

    def _category_ids(self, classes: Sequence[str] | None) -> list[int]:
        if not classes:
            return sorted(self._coco.getCatIds())
        by_name = {c["name"]: c["id"] for c in self._coco.dataset.get("categories", [])}
        missing = [name for name in classes if name not in by_name]
        if missing:
            raise ConfigError(
                f"CocoMetric: the dataset's classes {missing} are not categories of the ground "
                f"truth json (it has {sorted(by_name)}). The dataset's metainfo classes must "
                "name the json's categories."
            )
        return [by_name[name] for name in classes]

    def _write_ground_truth(self, gts: Sequence[Mapping[str, Any]], prefix: str) -> str:
        classes = (self.dataset_meta or {}).get("classes")
        if not classes:
            raise ConfigError(
                "CocoMetric without ann_file needs the dataset's classes (dataset_meta)."
            )
        images, annotations = [], []
        for gt in gts:
            images.append(
                dict(id=gt["img_id"], width=gt["width"], height=gt["height"], file_name="")
            )
            for ann in gt["anns"]:
                box = xyxy_to_xywh(ann["bbox"])
                entry = dict(
                    id=len(annotations) + 1,
                    image_id=gt["img_id"],
                    bbox=box,
                    iscrowd=int(ann.get("ignore_flag", 0)),
                    category_id=int(ann["bbox_label"]),
                    area=box[2] * box[3],
                )
                mask = ann.get("mask")
                if mask:
                    if isinstance(mask, dict) and isinstance(mask.get("counts"), bytes):
                        mask = dict(mask, counts=mask["counts"].decode())
                    entry["segmentation"] = mask
                annotations.append(entry)
        categories = [dict(id=i, name=name) for i, name in enumerate(classes)]
        path = f"{prefix}.gt.json"
        Path(path).write_text(
            json.dumps(dict(images=images, annotations=annotations, categories=categories))
        )
        return path

    def _write_results(self, preds: Sequence[Mapping[str, Any]], prefix: str) -> dict[str, str]:
        boxes, segms = [], []
        for pred in preds:
            for i, label in enumerate(pred["labels"]):
                if int(label) >= len(self.cat_ids):
                    raise ConfigError(
                        f"CocoMetric: a prediction has label {int(label)} but the dataset has "
                        f"{len(self.cat_ids)} classes; the head's num_classes must match."
                    )
                category = self.cat_ids[int(label)]
                boxes.append(
                    dict(
                        image_id=pred["img_id"],
                        bbox=xyxy_to_xywh(pred["bboxes"][i]),
                        score=float(pred["scores"][i]),
                        category_id=category,
                    )
                )
                if "masks" in pred:
                    scores = pred.get("mask_scores", pred["scores"])
                    segms.append(
                        dict(
                            image_id=pred["img_id"],
                            bbox=xyxy_to_xywh(pred["bboxes"][i]),
                            score=float(scores[i]),
                            category_id=category,
                            segmentation=pred["masks"][i],
                        )
                    )
        files = {"bbox": f"{prefix}.bbox.json"}
        Path(files["bbox"]).write_text(json.dumps(boxes))
        if "segm" in self.metrics:
            if any("masks" not in p for p in preds):
                raise ConfigError(
                    "CocoMetric metric='segm' needs mask predictions (pred_instances.masks); "
                    "the model predicts boxes only. Use metric='bbox'."
                )
            files["segm"] = f"{prefix}.segm.json"
            Path(files["segm"]).write_text(json.dumps(segms))
        return files

    def _evaluate(
        self, metric: str, result_file: str, coco_eval_cls: Any, classes: Sequence[str] | None
    ) -> dict[str, float]:
        predictions = json.loads(Path(result_file).read_text())
        if metric == "segm":  # score masks by their own area, not their box's
            for entry in predictions:
                entry.pop("bbox", None)
        items = self.metric_items or list(DEFAULT_ITEMS)
        if not predictions:
            logger.warning(f"CocoMetric: no {metric} predictions in the whole dataset; mAP is 0.")
            return {f"{metric}_{item}": 0.0 for item in items}
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            detections = self._coco.loadRes(predictions)
            evaluator = coco_eval_cls(self._coco, detections, metric)
            evaluator.params.catIds = self.cat_ids
            evaluator.params.imgIds = self.img_ids
            evaluator.params.maxDets = list(self.proposal_nums)
            evaluator.params.iouThrs = self.iou_thrs
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        logger.info(f"Evaluating {metric}...\n{printed.getvalue()}")
        if self.classwise:
            self._log_classwise(metric, evaluator, classes)
        results = {
            f"{metric}_{item}": round(float(evaluator.stats[STAT_INDEX[item]]), 3) for item in items
        }
        ap = evaluator.stats[:6]
        logger.info(f"{metric}_mAP_copypaste: " + " ".join(f"{v:.3f}" for v in ap))
        return results

    def _log_classwise(self, metric: str, evaluator: Any, classes: Sequence[str] | None) -> None:
        # precision: (iou thresholds, recall points, classes, area ranges, max detections)
        precisions = evaluator.eval["precision"]
        lines = []
        for index, cat_id in enumerate(self.cat_ids or []):
            values = precisions[:, :, index, 0, -1]
            values = values[values > -1]
            ap = float(np.mean(values)) if values.size else float("nan")
            name = classes[index] if classes else self._coco.loadCats(cat_id)[0]["name"]
            lines.append(f"{name:<20} {ap:.3f}")
            self.class_metrics[f"{metric}_{name}_precision"] = round(ap, 3)
        logger.info(f"Per-class {metric} AP:\n" + "\n".join(lines))


def _is_rle_list(masks: Any) -> bool:
    return isinstance(masks, (list, tuple)) and all(isinstance(m, Mapping) for m in masks)
