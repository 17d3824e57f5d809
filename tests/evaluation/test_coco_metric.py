"""CocoMetric: COCO box and mask mAP through pycocotools, on cases worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("pycocotools")

from segwright.evaluation.metrics import CocoMetric  # noqa: E402
from segwright.structures import InstanceData  # noqa: E402
from segwright.utils.errors import ConfigError  # noqa: E402

H, W = 100, 120
CLASSES = ("cat", "dog")


def _mask(box: list[int]) -> np.ndarray:
    mask = np.zeros((H, W), dtype=np.uint8)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = 1
    return mask


def _ann_file(tmp_path) -> str:
    # Category ids 3 and 7: predictions' labels 0/1 must map to them by class name.
    coco = dict(
        images=[dict(id=5, width=W, height=H, file_name="a.png")],
        categories=[dict(id=7, name="dog"), dict(id=3, name="cat")],
        annotations=[
            dict(id=1, image_id=5, category_id=3, bbox=[10, 10, 40, 40], area=1600, iscrowd=0,
                 segmentation=[[10, 10, 50, 10, 50, 50, 10, 50]]),
            dict(id=2, image_id=5, category_id=7, bbox=[60, 20, 50, 40], area=2000, iscrowd=0,
                 segmentation=[[60, 20, 110, 20, 110, 60, 60, 60]]),
        ],
    )  # fmt: skip
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(coco))
    return str(path)


def _sample(boxes, scores, labels, with_masks=True) -> dict:
    pred = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32),
        scores=torch.tensor(scores),
        labels=torch.tensor(labels),
    )
    if with_masks:
        pred.masks = torch.from_numpy(np.stack([_mask(b) for b in boxes]).astype(bool))
    return dict(img_id=5, ori_shape=(H, W), pred_instances=pred)


def _metric(tmp_path, **kwargs) -> CocoMetric:
    metric = CocoMetric(ann_file=_ann_file(tmp_path), **kwargs)
    metric.dataset_meta = dict(classes=CLASSES)
    return metric


def test_perfect_detections_score_one(tmp_path):
    metric = _metric(tmp_path, metric=["bbox", "segm"])
    metric.process(None, [_sample([[10, 10, 50, 50], [60, 20, 110, 60]], [0.9, 0.8], [0, 1])])
    out = metric.evaluate(1)
    assert out["coco/bbox_mAP"] == 1.0 and out["coco/bbox_mAP_50"] == 1.0
    assert out["coco/segm_mAP"] == 1.0
    # Both objects are 'medium' (32^2 < area < 96^2): no small or large ground truth -> -1.
    assert out["coco/bbox_mAP_m"] == 1.0
    assert out["coco/bbox_mAP_s"] == -1.0 and out["coco/bbox_mAP_l"] == -1.0


def test_a_higher_scored_false_positive_halves_that_class(tmp_path):
    # cat: a miss scored 0.95 ranks above the hit: precision 1/2 at every recall -> AP 0.5;
    # dog: AP 1. The mean over the two classes is 0.75 at every IoU threshold.
    metric = _metric(tmp_path)
    boxes = [[70, 70, 90, 90], [10, 10, 50, 50], [60, 20, 110, 60]]
    metric.process(None, [_sample(boxes, [0.95, 0.9, 0.8], [0, 0, 1], with_masks=False)])
    out = metric.evaluate(1)
    assert out["coco/bbox_mAP"] == 0.75 and out["coco/bbox_mAP_75"] == 0.75


def test_ground_truth_from_the_samples_instances(tmp_path):
    metric = CocoMetric(metric="bbox")
    metric.dataset_meta = dict(classes=CLASSES)
    sample = _sample([[10, 10, 50, 50]], [0.9], [1], with_masks=False)
    sample["instances"] = [
        dict(bbox=[10, 10, 50, 50], bbox_label=1, ignore_flag=0),
        dict(bbox=[60, 20, 110, 60], bbox_label=0, ignore_flag=0),
    ]
    metric.process(None, [sample])
    out = metric.evaluate(1)
    assert out["coco/bbox_mAP"] == 0.5  # dog found (AP 1), cat missed (AP 0)


def test_bad_configuration_and_data_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="'proposal' is not supported"):
        CocoMetric(metric="proposal")
    with pytest.raises(ConfigError, match="does not exist"):
        CocoMetric(ann_file=str(tmp_path / "missing.json"))
    metric = _metric(tmp_path, metric="segm")
    metric.process(None, [_sample([[10, 10, 50, 50]], [0.9], [0], with_masks=False)])
    with pytest.raises(ConfigError, match="needs mask predictions"):
        metric.evaluate(1)
    metric = _metric(tmp_path)
    metric.dataset_meta = dict(classes=("cat", "bird"))
    metric.process(None, [_sample([[10, 10, 50, 50]], [0.9], [0], with_masks=False)])
    with pytest.raises(ConfigError, match=r"\['bird'\] are not categories"):
        metric.evaluate(1)
