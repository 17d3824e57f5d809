"""IoUMetric: MMEngine's metric interface with MMSeg 1.x numbers (SPEC §10.2)."""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np
import pytest
import torch

from segwright.evaluation import IoUMetric, format_class_table
from segwright.registry import METRICS
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError

CLASSES = ("road", "car", "sky")

# Two images. Totals: I=[3,2,1], U=[4,3,3], P=[3,2,3], L=[4,3,1] (see test_metric_functional).
PREDS = [torch.tensor([[[0, 1, 2], [1, 1, 0]]]), torch.tensor([[[2, 2], [0, 1]]])]
GTS = [torch.tensor([[[0, 1, 1], [1, 255, 0]]]), torch.tensor([[[2, 0], [0, 255]]])]
PATHS = ["data/img/a_001.jpg", "data/img/b_002.jpg"]


def _objects(preds=PREDS, gts=GTS, **meta):
    return [
        SegDataSample(
            gt_sem_seg=PixelData(g), pred_sem_seg=PixelData(p), metainfo={"img_path": path, **meta}
        )
        for p, g, path in zip(preds, gts, PATHS)
    ]


def _dicts(preds=PREDS, gts=GTS, **meta):
    return [
        {"pred_sem_seg": {"data": p}, "gt_sem_seg": {"data": g}, "img_path": path, **meta}
        for p, g, path in zip(preds, gts, PATHS)
    ]


def _metric(**kwargs):
    metric = IoUMetric(**kwargs)
    metric.dataset_meta = {"classes": CLASSES}
    return metric


def test_defaults_return_the_mmseg_summary():
    metric = _metric()
    metric.process({}, _objects())
    assert metric.evaluate(2) == {"aAcc": 75.0, "mIoU": 58.33, "mAcc": 80.56}
    assert metric.results == []


def test_all_metrics_and_per_class_values():
    metric = _metric(iou_metrics=["mIoU", "mDice", "mFscore"])
    metric.process({}, _objects())
    assert metric.evaluate(2) == {
        "aAcc": 75.0,
        "mIoU": 58.33,
        "mAcc": 80.56,
        "mDice": 71.9,
        "mFscore": 71.9,
        "mPrecision": 77.78,
        "mRecall": 80.56,
    }
    assert metric.class_metrics["IoU/road"] == 75.0
    assert metric.class_metrics["IoU/sky"] == 33.33
    assert metric.class_metrics["Dice/car"] == 80.0
    assert metric.class_metrics["Precision/sky"] == 33.33
    assert metric.class_metrics["Recall/sky"] == 100.0
    assert len(metric.class_metrics) == 6 * 3
    table = metric.class_table()
    assert list(table) == ["Class", "IoU", "Acc", "Dice", "Fscore", "Precision", "Recall"]
    assert table["Class"] == list(CLASSES)
    assert table["IoU"] == [75.0, 66.67, 33.33]


def test_fscore_beta_two():
    metric = _metric(iou_metrics="mFscore", beta=2)
    metric.process({}, _objects())
    assert metric.evaluate(2)["mFscore"] == 73.93


def test_dict_and_object_samples_give_identical_results():
    by_object, by_dict = (
        _metric(iou_metrics=["mIoU", "mDice"]),
        _metric(iou_metrics=["mIoU", "mDice"]),
    )
    by_object.process(None, _objects())
    by_dict.process(None, _dicts())
    assert by_object.evaluate(2) == by_dict.evaluate(2)
    assert by_object.class_metrics == by_dict.class_metrics


def test_one_batch_or_one_sample_at_a_time_is_the_same():
    whole, split = _metric(), _metric()
    whole.process(None, _objects())
    for sample in _objects():
        split.process(None, [sample])
    assert whole.evaluate(2) == split.evaluate(2)


def test_size_drops_padding_samples():
    metric = _metric()
    samples = _objects()
    metric.process(None, samples + samples[:1])  # a padded third sample
    assert metric.evaluate(2) == {"aAcc": 75.0, "mIoU": 58.33, "mAcc": 80.56}


def test_absent_classes_nan_and_nan_to_num():
    # C=4: class 2 predicted but absent from GT (IoU 0), class 3 absent everywhere (NaN).
    pred = torch.tensor([[[0, 0, 1, 2, 1]]])
    gt = torch.tensor([[[0, 0, 0, 1, 1]]])
    classes = ("a", "b", "c", "d")
    results = {}
    for nan_to_num in (None, 0):
        metric = IoUMetric(nan_to_num=nan_to_num)
        metric.dataset_meta = {"classes": classes}
        metric.process(None, [{"pred_sem_seg": {"data": pred}, "gt_sem_seg": {"data": gt}}])
        results[nan_to_num] = (metric.evaluate(1), metric.class_metrics)
    summary, per_class = results[None]
    assert summary == {"aAcc": 60.0, "mIoU": 33.33, "mAcc": 58.33}
    assert per_class["IoU/c"] == 0.0
    assert math.isnan(per_class["IoU/d"]) and math.isnan(per_class["Acc/c"])
    summary, per_class = results[0]
    assert summary == {"aAcc": 60.0, "mIoU": 25.0, "mAcc": 29.17}
    assert per_class["IoU/d"] == 0.0


def test_ignore_index_is_configurable():
    metric = _metric(ignore_index=0)
    pred = torch.tensor([[[1, 2, 1, 0]]])
    gt = torch.tensor([[[0, 2, 1, 1]]])  # first pixel ignored; pred 0 at a valid pixel counts
    metric.process(None, [{"pred_sem_seg": {"data": pred}, "gt_sem_seg": {"data": gt}}])
    # I=[0,1,1], P=[1,1,1], L=[0,2,1] (class 0 label count is 0: it is the ignore value)
    assert metric.evaluate(1) == {"aAcc": 66.67, "mIoU": 50.0, "mAcc": 75.0}


def test_mmseg_float32_rounding():
    # IoU = 118/1600: MMSeg's float32 math gives 7.37 (float64 would give 7.38).
    pred = torch.zeros(1, 40, 40, dtype=torch.long)
    gt = torch.full((1, 40, 40), 7)  # id 7 is out of range for 1 class: not counted, not ignored
    gt.view(-1)[:118] = 0
    metric = IoUMetric()
    metric.dataset_meta = {"classes": ("only",)}
    metric.process(None, [{"pred_sem_seg": {"data": pred}, "gt_sem_seg": {"data": gt}}])
    assert metric.evaluate(1) == {"aAcc": 100.0, "mIoU": 7.37, "mAcc": 100.0}


def test_prefix_applies_to_summary_and_class_metrics():
    metric = _metric(prefix="val")
    metric.process(None, _objects())
    assert metric.evaluate(2) == {"val/aAcc": 75.0, "val/mIoU": 58.33, "val/mAcc": 80.56}
    assert metric.class_metrics["val/IoU/road"] == 75.0


def test_registered_and_built_with_scope_prefix():
    metric = METRICS.build({"type": "mmseg.IoUMetric", "iou_metrics": ["mDice"]})
    assert isinstance(metric, IoUMetric)
    assert metric.metrics == ["mDice"]


def test_unknown_iou_metric_name_is_a_keyerror():
    with pytest.raises(KeyError, match="mAP"):
        IoUMetric(iou_metrics=["mAP"])


def test_missing_classes_is_explained():
    metric = IoUMetric()
    with pytest.raises(ConfigError, match="dataset_meta\\['classes'\\]"):
        metric.process(None, _objects())


def test_missing_ground_truth_is_explained():
    metric = _metric()
    with pytest.raises(ConfigError, match="gt_sem_seg"):
        metric.process(None, [{"pred_sem_seg": {"data": PREDS[0]}}])


def test_table_is_logged_on_evaluate(caplog):
    metric = _metric()
    metric.process(None, _objects())
    with caplog.at_level(logging.INFO, logger="segwright"):
        metric.evaluate(2)
    text = caplog.text
    assert "per class results:" in text
    assert "| road  | 75.00 |  75.00 |" in text


def test_format_class_table_plain_ascii_and_nan():
    text = format_class_table({"Class": ["a", "[b]"], "IoU": [1.5, float("nan")]})
    assert text.splitlines() == [
        "+-------+------+",
        "| Class |  IoU |",
        "+-------+------+",
        "| a     | 1.50 |",
        "| [b]   |  nan |",
        "+-------+------+",
    ]


def test_output_dir_writes_png_label_maps(tmp_path):
    out = tmp_path / "preds"
    metric = _metric(output_dir=str(out))
    metric.process(None, _objects())
    first = cv2.imread(str(out / "a_001.png"), cv2.IMREAD_UNCHANGED)
    assert first.dtype == np.uint8
    np.testing.assert_array_equal(first, PREDS[0][0].numpy())
    assert (out / "b_002.png").exists()
    assert metric.evaluate(2)["mIoU"] == 58.33


def test_format_only_writes_shifted_ids_and_skips_metrics(tmp_path):
    metric = _metric(output_dir=str(tmp_path), format_only=True)
    samples = [
        {"pred_sem_seg": {"data": p}, "img_path": path, "reduce_zero_label": True}
        for p, path in zip(PREDS, PATHS)
    ]
    metric.process(None, samples)  # no ground truth needed
    assert metric.results == []
    written = cv2.imread(str(tmp_path / "b_002.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(written, PREDS[1][0].numpy() + 1)
    assert metric.evaluate(2) == {}


def test_format_only_needs_output_dir():
    with pytest.raises(ConfigError, match="output_dir"):
        IoUMetric(format_only=True)


def test_compute_metrics_accepts_per_sample_results_like_mmseg():
    metric = _metric()
    metric.process(None, _objects())
    assert metric.compute_metrics(list(metric.results)) == {
        "aAcc": 75.0,
        "mIoU": 58.33,
        "mAcc": 80.56,
    }


def test_empty_results_warn_and_give_nan():
    metric = _metric()
    with pytest.warns(UserWarning, match="empty"):
        result = metric.evaluate(0)
    assert all(math.isnan(v) for v in result.values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_counts_stay_on_the_prediction_device():
    metric = _metric()
    metric.process(None, _dicts(preds=[p.cuda() for p in PREDS]))
    assert metric.results[0][0].device.type == "cuda"
    assert metric.evaluate(2) == {"aAcc": 75.0, "mIoU": 58.33, "mAcc": 80.56}
