"""Shared2FCBBoxHead / BBoxHead: names, init, targets, losses, post-processing."""

from __future__ import annotations

import pytest
import torch
from roi_head_fixtures import BBOX_HEAD, CHANNELS, IMG, NUM_CLASSES, TEST_CFG

from segwright.models.roi_heads import BBoxHead, ConvFCBBoxHead, multiclass_nms
from segwright.models.task_modules import SamplingResult
from segwright.models.task_modules.assign_result import AssignResult
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

TRAIN = dict(pos_weight=-1)


def build(**overrides: object) -> ConvFCBBoxHead:
    head = MODELS.build({**BBOX_HEAD, **overrides})
    head.init_weights()
    return head


def sampling_result(num_pos: int = 2, num_neg: int = 3) -> SamplingResult:
    priors = torch.tensor(
        [[0.0, 0, 20, 20], [10, 10, 40, 40], [30, 30, 60, 60], [5, 40, 20, 60], [40, 0, 60, 20]]
    )
    gt_bboxes = torch.tensor([[2.0, 1, 22, 19], [12, 8, 41, 42]])
    gt_inds = torch.tensor([1, 2, 0, 0, 0])
    labels = torch.tensor([2, 0, -1, -1, -1])
    result = AssignResult(num_gts=2, gt_inds=gt_inds, max_overlaps=torch.zeros(5), labels=labels)
    return SamplingResult(
        pos_inds=torch.arange(num_pos),
        neg_inds=torch.arange(5 - num_neg, 5),
        priors=priors,
        gt_bboxes=gt_bboxes,
        assign_result=result,
        gt_flags=torch.zeros(5, dtype=torch.uint8),
    )


def test_names_shapes_and_init() -> None:
    head = build()
    assert sorted(head.state_dict()) == [
        "fc_cls.bias", "fc_cls.weight", "fc_reg.bias", "fc_reg.weight",
        "shared_fcs.0.bias", "shared_fcs.0.weight", "shared_fcs.1.bias", "shared_fcs.1.weight",
    ]  # fmt: skip
    assert head.shared_fcs[0].in_features == CHANNELS * 49
    assert head.fc_cls.out_features == NUM_CLASSES + 1
    assert head.fc_reg.out_features == 4 * NUM_CLASSES
    cls_score, bbox_pred = head(torch.randn(5, CHANNELS, 7, 7))
    assert cls_score.shape == (5, NUM_CLASSES + 1) and bbox_pred.shape == (5, 4 * NUM_CLASSES)
    big = MODELS.build(dict(type="Shared2FCBBoxHead", in_channels=256, num_classes=80))
    torch.manual_seed(0)
    big.init_weights()
    weights = {k: v.detach() for k, v in big.state_dict().items()}
    assert abs(float(weights["fc_cls.weight"].std()) - 0.01) < 1e-3
    assert abs(float(weights["fc_reg.weight"].std()) - 0.001) < 1e-4
    assert float(weights["fc_cls.bias"].abs().sum()) == 0
    assert float(weights["shared_fcs.0.bias"].abs().sum()) == 0
    bound = (6 / (256 * 49 + 1024)) ** 0.5  # Xavier uniform
    assert 0.9 * bound < float(weights["shared_fcs.0.weight"].abs().max()) <= bound


def test_class_agnostic_avg_pool_and_empty_input() -> None:
    head = build(reg_class_agnostic=True)
    assert head.fc_reg.out_features == 4
    plain = BBoxHead(with_avg_pool=True, in_channels=CHANNELS, num_classes=NUM_CLASSES)
    cls_score, bbox_pred = plain(torch.zeros(0, CHANNELS, 7, 7))
    assert cls_score.shape == (0, NUM_CLASSES + 1) and bbox_pred.shape == (0, 4 * NUM_CLASSES)
    convs = ConvFCBBoxHead(
        num_shared_convs=1, num_cls_fcs=1, num_reg_fcs=1, in_channels=CHANNELS,
        conv_out_channels=4, fc_out_channels=6, num_classes=NUM_CLASSES,
    )  # fmt: skip
    assert "shared_convs.0.conv.weight" in convs.state_dict()
    assert convs.cls_fcs[0].in_features == 4 * 49
    assert [t.shape for t in convs(torch.randn(2, CHANNELS, 7, 7))] == [(2, 4), (2, 12)]


def test_targets_and_losses() -> None:
    head = build()
    res = sampling_result()
    labels, label_weights, bbox_targets, bbox_weights = head.get_targets([res], TRAIN)
    assert labels.tolist() == [2, 0, NUM_CLASSES, NUM_CLASSES, NUM_CLASSES]
    assert label_weights.tolist() == [1.0] * 5
    assert bbox_weights.sum(1).tolist() == [4.0, 4.0, 0.0, 0.0, 0.0]
    torch.testing.assert_close(
        bbox_targets[:2], head.bbox_coder.encode(res.pos_priors, res.pos_gt_bboxes)
    )
    _, weighted, _, _ = head.get_targets([res], dict(pos_weight=3.0))
    assert weighted.tolist() == [3.0, 3.0, 1.0, 1.0, 1.0]

    torch.manual_seed(0)
    cls_score = torch.randn(5, NUM_CLASSES + 1, requires_grad=True)
    bbox_pred = torch.randn(5, 4 * NUM_CLASSES, requires_grad=True)
    rois = torch.cat([torch.zeros(5, 1), res.priors], 1)
    losses = head.loss_and_target(cls_score, bbox_pred, rois, [res], TRAIN)["loss_bbox"]
    assert set(losses) == {"loss_cls", "acc", "loss_bbox"}
    expected_cls = torch.nn.functional.cross_entropy(cls_score, labels)
    torch.testing.assert_close(losses["loss_cls"], expected_cls)
    own_class = bbox_pred.view(5, NUM_CLASSES, 4)[[0, 1], [2, 0]]
    expected_bbox = (own_class - bbox_targets[:2]).abs().sum() / 5  # averaged over all RoIs
    torch.testing.assert_close(losses["loss_bbox"], expected_bbox)
    correct = (cls_score.argmax(1) == labels).float().sum()
    torch.testing.assert_close(losses["acc"], (correct * 100 / 5).reshape(1))
    (losses["loss_cls"] + losses["loss_bbox"]).backward()
    assert float(bbox_pred.grad[2:].abs().sum()) == 0  # negatives regress nothing


def test_no_positives() -> None:
    head = build()
    res = sampling_result(num_pos=0, num_neg=3)
    cls_score = torch.randn(3, NUM_CLASSES + 1, requires_grad=True)
    bbox_pred = torch.randn(3, 4 * NUM_CLASSES, requires_grad=True)
    rois = torch.cat([torch.zeros(3, 1), res.priors], 1)
    losses = head.loss_and_target(cls_score, bbox_pred, rois, [res], TRAIN)["loss_bbox"]
    assert float(losses["loss_bbox"].detach()) == 0 and losses["loss_bbox"].requires_grad
    assert torch.isfinite(losses["loss_cls"])
    (losses["loss_cls"] + losses["loss_bbox"]).backward()


def test_predict_by_feat_nms_rescale_and_raw() -> None:
    head = build()
    torch.manual_seed(1)
    rois = torch.cat([torch.zeros(30, 1), torch.rand(30, 2) * 30, torch.rand(30, 2) * 30 + 30], 1)
    cls_score = torch.randn(30, NUM_CLASSES + 1) * 3
    bbox_pred = torch.randn(30, 4 * NUM_CLASSES)
    meta = dict(img_shape=(IMG, IMG), ori_shape=(IMG // 2, IMG // 2), scale_factor=(2.0, 2.0))
    (res,) = head.predict_by_feat([rois], [cls_score], [bbox_pred], [meta], TEST_CFG)
    assert 0 < len(res) <= TEST_CFG["max_per_img"]
    assert float(res.bboxes.min()) >= 0 and float(res.bboxes.max()) <= IMG
    assert bool((res.scores > TEST_CFG["score_thr"]).all())
    assert bool((res.scores[:-1] >= res.scores[1:]).all())  # best first
    assert res.labels.dtype == torch.long and int(res.labels.max()) < NUM_CLASSES
    (half,) = head.predict_by_feat([rois], [cls_score], [bbox_pred], [meta], TEST_CFG, True)
    torch.testing.assert_close(half.bboxes, res.bboxes / 2)
    torch.testing.assert_close(half.scores, res.scores)
    (raw,) = head.predict_by_feat([rois], [cls_score], [bbox_pred], [meta], None)
    assert raw.bboxes.shape == (30, 4 * NUM_CLASSES) and raw.scores.shape == (30, NUM_CLASSES + 1)
    (empty,) = head.predict_by_feat([rois[:0]], [cls_score[:0]], [bbox_pred[:0]], [meta], TEST_CFG)
    assert empty.bboxes.shape == (0, 4) and empty.scores.shape == (0,) and len(empty) == 0


def test_multiclass_nms() -> None:
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
    scores = torch.tensor([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.04, 0.5, 0.46]])
    nms = dict(type="nms", iou_threshold=0.5)
    dets, labels = multiclass_nms(boxes, scores, 0.05, nms)
    # class 0: box 1 is suppressed by box 0; box 2 scores below the threshold
    assert labels.tolist() == [0, 1, 1] and dets[:, -1].tolist() == pytest.approx([0.9, 0.5, 0.1])
    dets, labels, inds = multiclass_nms(boxes, scores, 0.05, nms, max_num=2, return_inds=True)
    assert len(dets) == 2 and inds.tolist() == [0, 5]  # flat (row * C + class) indices
    per_class = boxes.repeat(1, 2)
    dets2, _ = multiclass_nms(per_class, scores, 0.05, nms)
    assert dets2.shape == (3, 5)
    empty, empty_labels = multiclass_nms(boxes, scores, 0.95, nms)
    assert empty.shape == (0, 5) and empty_labels.shape == (0,)
    with pytest.raises(ValueError, match="one box per class"):
        multiclass_nms(torch.zeros(3, 12), scores, 0.05, nms)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="with_cls"):
        BBoxHead(with_cls=False, with_reg=False)
    with pytest.raises(ConfigError, match="NormedLinear"):
        BBoxHead(cls_predictor_cfg=dict(type="NormedLinear"))
    with pytest.raises(ConfigError, match="predict_box_type"):
        BBoxHead(predict_box_type="rbox")
    with pytest.raises(ConfigError, match="shared fcs"):
        ConvFCBBoxHead(num_shared_fcs=1, num_cls_convs=1)
