"""StandardRoIHead: MMDetection's state-dict names, losses, and predictions end to end."""

from __future__ import annotations

import pytest
import torch
from roi_head_fixtures import (
    IMG,
    NUM_CLASSES,
    TEST_CFG,
    data_sample,
    features,
    proposals,
    roi_head_cfg,
)

from segwright.models.roi_heads import StandardRoIHead
from segwright.registry import MODELS
from segwright.structures import InstanceData
from segwright.utils.errors import ConfigError

#: The ``roi_head.*`` keys of MMDetection 3.3's mask-rcnn_r50_fpn checkpoints.
MMDET_KEYS = sorted(
    [f"bbox_head.{m}.{p}" for m in ("fc_cls", "fc_reg", "shared_fcs.0", "shared_fcs.1")
     for p in ("weight", "bias")]
    + [f"mask_head.convs.{i}.conv.{p}" for i in range(4) for p in ("weight", "bias")]
    + [f"mask_head.{m}.{p}" for m in ("upsample", "conv_logits") for p in ("weight", "bias")]
)  # fmt: skip


def build(**overrides: object) -> StandardRoIHead:
    torch.manual_seed(0)
    head = MODELS.build(roi_head_cfg(**overrides))
    head.init_weights()
    return head


def test_state_dict_names_are_mmdetections() -> None:
    head = build()
    assert sorted(head.state_dict()) == MMDET_KEYS
    assert head.with_bbox and head.with_mask and not head.with_shared_head
    assert not head.share_roi_extractor
    faster = build(mask_roi_extractor=None, mask_head=None)
    assert sorted(faster.state_dict()) == [k for k in MMDET_KEYS if k.startswith("bbox_head")]


def test_loss_keys_values_and_gradients() -> None:
    head = build()
    feats = features()
    props = [proposals(seed=1), proposals(seed=2)]
    torch.manual_seed(0)
    losses = head.loss(feats, props, [data_sample(), data_sample()])
    assert set(losses) == {"loss_cls", "acc", "loss_bbox", "loss_mask"}
    for name in ("loss_cls", "loss_bbox", "loss_mask"):
        value = losses[name].detach()
        assert bool(torch.isfinite(value).all()) and float(value.sum()) > 0
    assert 0 <= float(losses["acc"]) <= 100
    sum(losses[k].sum() for k in ("loss_cls", "loss_bbox", "loss_mask")).backward()
    assert head.bbox_head.shared_fcs[0].weight.grad is not None
    assert head.mask_head.convs[0].conv.weight.grad is not None
    assert "bboxes" in props[0] and "priors" not in props[0]  # the proposals are not changed


def test_loss_without_positives() -> None:
    head = build()
    losses = head.loss(
        features(), [proposals(), proposals(seed=3)], [data_sample(with_gt=False)] * 2
    )
    assert float(losses["loss_bbox"].detach()) == 0 and float(losses["loss_mask"].detach()) == 0
    assert bool(torch.isfinite(losses["loss_cls"])) and float(losses["loss_cls"].detach()) > 0
    sum(losses[k].sum() for k in ("loss_cls", "loss_bbox", "loss_mask")).backward()


def test_shared_roi_extractor_uses_the_box_features() -> None:
    mask_head = dict(roi_head_cfg()["mask_head"], roi_feat_size=7)
    train_cfg = dict(roi_head_cfg()["train_cfg"], mask_size=14)
    head = build(mask_roi_extractor=None, mask_head=mask_head, train_cfg=train_cfg)
    assert head.share_roi_extractor and head.mask_roi_extractor is head.bbox_roi_extractor
    losses = head.loss(features(), [proposals(), proposals(seed=3)], [data_sample()] * 2)
    assert bool(torch.isfinite(losses["loss_mask"]).all())


def test_predict_boxes_masks_and_rescale() -> None:
    head = build()
    head.eval()
    feats = features()
    props = [proposals(seed=1), proposals(seed=2)]
    samples = [data_sample(scale=2.0), data_sample(scale=2.0)]
    with torch.no_grad():
        full = head.predict(feats, props, samples, rescale=False)
        small = head.predict(feats, props, samples, rescale=True)
    for big, res in zip(full, small):
        assert 0 < len(res) <= TEST_CFG["max_per_img"]
        assert set(res.keys()) == {"bboxes", "scores", "labels", "masks"}
        assert res.masks.shape == (len(res), IMG // 2, IMG // 2) and res.masks.dtype == torch.bool
        assert big.masks.shape == (len(big), IMG, IMG)
        assert float(big.bboxes.min()) >= 0 and float(big.bboxes.max()) <= IMG
        torch.testing.assert_close(res.bboxes, big.bboxes / 2)
        torch.testing.assert_close(res.scores, big.scores)
        assert int(res.labels.max()) < NUM_CLASSES


def test_predict_without_mask_head_and_without_proposals() -> None:
    head = build(mask_roi_extractor=None, mask_head=None)
    head.eval()
    samples = [data_sample(scale=2.0)]
    with torch.no_grad():
        (full,) = head.predict(features(1), [proposals()], samples, rescale=False)
        (small,) = head.predict(features(1), [proposals()], samples, rescale=True)
    torch.testing.assert_close(small.bboxes, full.bboxes / 2)
    assert "masks" not in small
    empty = InstanceData(bboxes=torch.zeros(0, 4))
    with torch.no_grad():
        (none,) = build().predict(features(1), [empty], samples, rescale=True)
    assert none.bboxes.shape == (0, 4) and none.masks.shape == (0, IMG // 2, IMG // 2)


def test_forward_tensor_mode() -> None:
    head = build()
    cls_score, bbox_pred, mask_preds = head(features(), [proposals(), proposals(seed=3)])
    assert cls_score.shape == (80, NUM_CLASSES + 1) and bbox_pred.shape == (80, 4 * NUM_CLASSES)
    assert mask_preds.shape == (80, NUM_CLASSES, 28, 28)


def test_configuration_errors() -> None:
    head = build(train_cfg=None)
    with pytest.raises(ConfigError, match="train_cfg"):
        head.loss(features(), [proposals(), proposals()], [data_sample()] * 2)
    with pytest.raises(ConfigError, match="sampler"):
        build(train_cfg=dict(roi_head_cfg()["train_cfg"], sampler=None))
    bad = roi_head_cfg()
    del bad["train_cfg"]["sampler"]
    with pytest.raises(ConfigError, match="sampler"):
        MODELS.build(bad)


def test_parts_use_mmdetections_losses_whatever_the_scope() -> None:
    from segwright.models.losses.det_cross_entropy import DetCrossEntropyLoss
    from segwright.registry import default_scope

    with default_scope("mmseg"):
        head = MODELS.build(roi_head_cfg())
    assert isinstance(head.bbox_head.loss_cls, DetCrossEntropyLoss)
    assert isinstance(head.mask_head.loss_mask, DetCrossEntropyLoss)
