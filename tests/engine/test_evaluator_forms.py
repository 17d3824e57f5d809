"""``val_evaluator``/``test_evaluator`` in every form MMEngine's runner reads, through whole runs.

The runner has one builder (``engine/runner_build.py``): a metric dict, a list of them,
``dict(metrics=[...])`` and ``dict(type='Evaluator', metrics=[...])`` all give an Evaluator.
"""

from __future__ import annotations

import pytest
import torch

from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.engine.runner_build import build_evaluator
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError

_IOU = dict(type="IoUMetric", iou_metrics=["mIoU"])

FORMS = {
    "metric dict": _IOU,
    "list": [_IOU],
    "metrics, no type": dict(metrics=[_IOU]),
    "Evaluator with metrics": dict(type="Evaluator", metrics=[_IOU]),
    "metrics as one dict": dict(metrics=_IOU),
}


def _evaluate(work_dir, evaluator) -> tuple[dict, dict]:
    cfg = toy_config(work_dir)
    cfg["val_evaluator"] = evaluator
    cfg["test_dataloader"] = cfg["val_dataloader"]
    cfg["test_cfg"] = dict(type="TestLoop")
    cfg["test_evaluator"] = evaluator
    runner = Runner.from_cfg(Config(cfg))
    try:
        return runner.val(), runner.test()
    finally:
        runner.close()


def test_every_evaluator_form_validates_and_tests_a_tiny_run_alike(tmp_path):
    torch.set_num_threads(1)
    results = {
        name: _evaluate(tmp_path / str(i), form) for i, (name, form) in enumerate(FORMS.items())
    }
    reference = results["metric dict"]
    assert set(reference[0]) == set(reference[1]) and "mIoU" in reference[0]
    # Same seed, same untrained weights, same data: each form gives the very same numbers.
    for name, (val, test) in results.items():
        assert val == reference[0], name
        assert test == reference[1], name


def test_metrics_of_an_evaluator_dict_each_report_under_their_prefix(tmp_path):
    torch.set_num_threads(1)
    two = dict(
        metrics=[dict(_IOU, prefix="a"), dict(type="IoUMetric", iou_metrics=["mDice"], prefix="b")]
    )
    val, _ = _evaluate(tmp_path, two)
    assert {"a/mIoU", "b/mDice"} <= set(val)


def test_a_bad_metric_in_an_evaluator_dict_is_named_by_its_key():
    with pytest.raises(ConfigError, match=r"val_evaluator\.metrics\[1\]"):
        build_evaluator(dict(metrics=[_IOU, dict(type="IoUMetrc")]), "val_evaluator")
    with pytest.raises(ConfigError, match=r"test_evaluator\[0\]"):
        build_evaluator([dict(type="IoUMetrc")], "test_evaluator")


def test_no_evaluator_says_which_key_is_missing():
    with pytest.raises(ConfigError, match="val_evaluator"):
        build_evaluator(None, "val_evaluator")


def test_a_built_evaluator_or_metric_passes_through():
    built = build_evaluator(dict(metrics=[_IOU]), "val_evaluator")
    assert build_evaluator(built, "val_evaluator") is built
    metric = built.metrics[0]
    assert build_evaluator(metric, "val_evaluator") is metric
