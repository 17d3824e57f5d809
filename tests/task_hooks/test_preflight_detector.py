"""Pre-flight for detectors: every classifying head's num_classes against the dataset's classes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from segwright.models.class_counts import detector_num_classes
from segwright.registry import MODELS, default_scope
from segwright.task_hooks.preflight import check_detector_num_classes
from segwright.testing.tiny_detector import tiny_mask_rcnn_cfg
from segwright.utils.errors import ConfigError


def _detector(num_classes=3, with_mask=True):
    with default_scope("mmdet"):
        return MODELS.build(tiny_mask_rcnn_cfg(num_classes, with_mask=with_mask))


def _dataset(count):
    return SimpleNamespace(metainfo=dict(classes=tuple(f"c{i}" for i in range(count))))


def test_finds_the_bbox_and_mask_heads():
    assert detector_num_classes(_detector(3)) == [
        ("model.roi_head.bbox_head.num_classes", 3),
        ("model.roi_head.mask_head.num_classes", 3),
    ]
    assert detector_num_classes(_detector(2, with_mask=False)) == [
        ("model.roi_head.bbox_head.num_classes", 2)
    ]
    assert detector_num_classes(SimpleNamespace(decode_head=SimpleNamespace(num_classes=3))) == []


def test_matching_classes_pass():
    check_detector_num_classes(_detector(3), _dataset(3), "train_dataloader.dataset")


def test_a_mismatch_names_every_wrong_head_and_the_fix():
    with pytest.raises(ConfigError) as caught:
        check_detector_num_classes(_detector(3), _dataset(8), "train_dataloader.dataset")
    message = str(caught.value)
    assert "train_dataloader.dataset has 8 classes" in message
    assert "model.roi_head.bbox_head.num_classes=3" in message
    assert "model.roi_head.mask_head.num_classes=3" in message
    assert "num_classes=8 in model.roi_head.bbox_head and model.roi_head.mask_head," in message
