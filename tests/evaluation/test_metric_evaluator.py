"""Evaluator: several metrics, dataset_meta propagation, MMEngine-style dict samples."""

from __future__ import annotations

import pytest
import torch

from segwright.engine.runner_build import build_evaluator
from segwright.evaluation import BaseMetric, Evaluator, IoUMetric
from segwright.evaluation.samples import sample_to_dict
from segwright.registry import EVALUATORS, METRICS
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError

CLASSES = ("road", "car", "sky")
PRED = torch.tensor([[[0, 1, 2], [1, 1, 0]]])
GT = torch.tensor([[[0, 1, 1], [1, 255, 0]]])


def _sample(path="x/a.jpg"):
    return SegDataSample(
        gt_sem_seg=PixelData(GT), pred_sem_seg=PixelData(PRED), metainfo={"img_path": path}
    )


class PixelCount(BaseMetric):
    """A user metric written the MMSeg way: indexes dicts, returns the dataset size."""

    def __init__(self, prefix=None):
        super().__init__(prefix=prefix)
        self.seen_meta = None

    def process(self, data_batch, data_samples):
        self.seen_meta = self.dataset_meta
        for sample in data_samples:
            self.results.append(int(sample["pred_sem_seg"]["data"].numel()))
            assert sample["img_path"].endswith(".jpg")

    def compute_metrics(self, results):
        self.class_metrics = {"count/first": float(results[0])}
        return {"pixels": sum(results), "samples": len(results)}


def test_sample_to_dict_matches_mmengine_layout():
    converted = sample_to_dict(_sample())
    assert set(converted) == {"img_path", "gt_sem_seg", "pred_sem_seg"}
    assert converted["pred_sem_seg"]["data"] is PRED
    plain = {"pred_sem_seg": {"data": PRED}}
    assert sample_to_dict(plain) is plain


def test_metrics_built_from_configs_share_dataset_meta_and_results():
    evaluator = Evaluator([{"type": "IoUMetric"}, PixelCount(prefix="user")])
    evaluator.dataset_meta = {"classes": CLASSES}
    assert isinstance(evaluator.metrics[0], IoUMetric)
    assert evaluator.metrics[0].dataset_meta == {"classes": CLASSES}
    evaluator.process([_sample(), _sample("y/b.jpg")], data_batch={"inputs": []})
    assert evaluator.metrics[1].seen_meta == {"classes": CLASSES}
    results = evaluator.evaluate(2)
    assert results == {
        "aAcc": 80.0,
        "mIoU": 55.56,
        "mAcc": 83.33,
        "user/pixels": 12,
        "user/samples": 2,
    }
    merged = evaluator.class_metrics
    assert merged["IoU/road"] == 100.0
    assert merged["user/count/first"] == 6.0


def test_base_metric_evaluate_trims_to_size():
    metric = PixelCount()
    metric.process(None, [sample_to_dict(_sample())] * 3)
    assert metric.evaluate(2) == {"pixels": 12, "samples": 2}
    assert metric.results == []


def test_duplicate_keys_need_prefixes():
    evaluator = Evaluator([IoUMetric(), IoUMetric()])
    evaluator.dataset_meta = {"classes": CLASSES}
    evaluator.process([_sample()])
    with pytest.raises(ValueError, match="prefix"):
        evaluator.evaluate(1)


def test_single_metric_dict_and_build_evaluator_forms():
    # The runner's one builder (engine/runner_build.py) makes these Evaluators.
    built = build_evaluator({"type": "IoUMetric"}, "val_evaluator")
    assert isinstance(built.metrics[0], IoUMetric)
    pair = build_evaluator([{"type": "IoUMetric"}, {"type": "IoUMetric"}], "val_evaluator")
    assert len(pair.metrics) == 2
    built = build_evaluator({"metrics": [{"type": "IoUMetric", "prefix": "a"}]}, "val_evaluator")
    assert isinstance(built, Evaluator) and built.metrics[0].prefix == "a"
    assert build_evaluator(built, "val_evaluator") is built
    assert EVALUATORS.get("Evaluator") is Evaluator
    assert METRICS.get("IoUMetric") is IoUMetric


def test_bad_metric_entry_is_explained():
    with pytest.raises(ConfigError, match="metrics\\[0\\]"):
        Evaluator([42])
    with pytest.raises(ConfigError, match="Unknown metric type"):
        Evaluator({"type": "IoUMetrc"})


def test_offline_evaluate_in_chunks():
    evaluator = Evaluator(IoUMetric())
    evaluator.dataset_meta = {"classes": CLASSES}
    samples = [_sample(), _sample(), _sample()]
    assert evaluator.offline_evaluate(samples, chunk_size=2)["mIoU"] == 55.56
