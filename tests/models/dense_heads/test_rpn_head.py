"""RPNHead (MMDetection 3.3): layers and names, losses, proposals, errors."""

from __future__ import annotations

import math

import pytest
import torch

from segwright.models.dense_heads import RPNHead
from segwright.models.losses.det_cross_entropy import DetCrossEntropyLoss
from segwright.registry import MODELS
from segwright.structures import DetDataSample, InstanceData
from segwright.utils.errors import ConfigError

STRIDES = (4, 8, 16, 32, 64)
SIZE = 64
CHANNELS = 8


def train_cfg(**overrides):
    cfg = dict(
        assigner=dict(
            type="MaxIoUAssigner",
            pos_iou_thr=0.7,
            neg_iou_thr=0.3,
            min_pos_iou=0.3,
            match_low_quality=True,
            ignore_iof_thr=-1,
        ),
        sampler=dict(
            type="RandomSampler",
            num=256,
            pos_fraction=0.5,
            neg_pos_ub=-1,
            add_gt_as_proposals=False,
        ),
        allowed_border=-1,
        pos_weight=-1,
        debug=False,
    )
    cfg.update(overrides)
    return cfg


def proposal_cfg(**overrides):
    cfg = dict(
        nms_pre=1000, max_per_img=100, nms=dict(type="nms", iou_threshold=0.7), min_bbox_size=0
    )
    cfg.update(overrides)
    return cfg


def rpn_cfg(**overrides):
    """The RPN of MMDetection's mask-rcnn_r50_fpn.py with 8 channels."""
    cfg = dict(
        type="RPNHead",
        in_channels=CHANNELS,
        feat_channels=CHANNELS,
        anchor_generator=dict(
            type="AnchorGenerator", scales=[8], ratios=[0.5, 1.0, 2.0], strides=list(STRIDES)
        ),
        bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[1.0] * 4),
        loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type="L1Loss", loss_weight=1.0),
        train_cfg=train_cfg(),
        test_cfg=proposal_cfg(),
    )
    cfg.update(overrides)
    return cfg


def build(seed: int = 0, **overrides) -> RPNHead:
    torch.manual_seed(seed)
    head = MODELS.build(rpn_cfg(**overrides))
    head.init_weights()
    return head


def features(batch: int = 2, seed: int = 1) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(seed)
    return tuple(torch.randn(batch, CHANNELS, SIZE // s, SIZE // s) for s in STRIDES)


def sample(boxes, img_shape=(SIZE, SIZE), scale_factor=(1.0, 1.0)) -> DetDataSample:
    data = DetDataSample(
        metainfo=dict(img_shape=img_shape, pad_shape=(SIZE, SIZE), scale_factor=scale_factor)
    )
    bboxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    data.gt_instances = InstanceData(
        bboxes=bboxes, labels=torch.zeros(len(bboxes), dtype=torch.long)
    )
    return data


def samples() -> list[DetDataSample]:
    return [
        sample([[10.0, 12.0, 40.0, 50.0]]),
        sample([[4.0, 4.0, 20.0, 36.0], [30.0, 20.0, 62.0, 44.0]], img_shape=(60, 56)),
    ]


def zero_layers(head: RPNHead) -> None:
    with torch.no_grad():
        for param in head.parameters():
            param.zero_()


# -- layers -----------------------------------------------------------------------------------


def test_builds_mmdet_parts_whatever_the_scope() -> None:
    head = build()
    assert isinstance(head.loss_cls, DetCrossEntropyLoss)
    assert head.use_sigmoid_cls and head.cls_out_channels == 1 and head.num_base_priors == 3


def test_state_dict_names_are_mmdets() -> None:
    assert list(build().state_dict()) == [
        "rpn_conv.weight",
        "rpn_conv.bias",
        "rpn_cls.weight",
        "rpn_cls.bias",
        "rpn_reg.weight",
        "rpn_reg.bias",
    ]
    names = list(build(num_convs=2).state_dict())
    assert names[:4] == [
        "rpn_conv.0.conv.weight",
        "rpn_conv.0.conv.bias",
        "rpn_conv.1.conv.weight",
        "rpn_conv.1.conv.bias",
    ]


def test_init_normal_std_001_zero_bias() -> None:
    head = MODELS.build(rpn_cfg(in_channels=64, feat_channels=64))
    head.init_weights()
    for conv in (head.rpn_conv, head.rpn_cls, head.rpn_reg):
        assert torch.count_nonzero(conv.bias) == 0
    assert head.rpn_conv.weight.std().item() == pytest.approx(0.01, rel=0.1)


def test_forward_shapes() -> None:
    cls_scores, bbox_preds = build()(features())
    assert [tuple(s.shape) for s in cls_scores] == [(2, 3, SIZE // s, SIZE // s) for s in STRIDES]
    assert [tuple(b.shape) for b in bbox_preds] == [(2, 12, SIZE // s, SIZE // s) for s in STRIDES]


def test_softmax_variant_has_two_channels_per_anchor() -> None:
    head = build(loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0))
    assert head.cls_out_channels == 2
    cls_scores, _ = head(features())
    assert cls_scores[0].shape[1] == 6
    losses = head.loss(features(), samples())
    assert all(torch.isfinite(v).all() for vs in losses.values() for v in vs)
    assert len(head.predict(features(), samples())[0]) <= 100


# -- losses -----------------------------------------------------------------------------------


def test_loss_keys_finite_and_differentiable() -> None:
    head = build()
    losses = head.loss(features(), samples())
    assert set(losses) == {"loss_rpn_cls", "loss_rpn_bbox"}
    assert all(len(v) == len(STRIDES) for v in losses.values())
    assert all(torch.isfinite(v) and v.dim() == 0 for vs in losses.values() for v in vs)
    assert sum(losses["loss_rpn_bbox"]) > 0
    sum(sum(vs) for vs in losses.values()).backward()
    assert head.rpn_reg.weight.grad is not None and head.rpn_reg.weight.grad.abs().sum() > 0


def test_cls_loss_is_log2_on_zero_logits() -> None:
    # Zero logits: every sampled anchor costs log 2, and the sum over levels is divided by the
    # number sampled (positives + negatives) -> exactly log 2.
    head = build()
    zero_layers(head)
    losses = head.loss(features(), samples())
    assert sum(v.item() for v in losses["loss_rpn_cls"]) == pytest.approx(math.log(2), rel=1e-5)


def test_zero_gt_image() -> None:
    head = build()
    zero_layers(head)
    losses = head.loss(features(batch=1), [sample([])])
    assert all(v.item() == 0.0 for v in losses["loss_rpn_bbox"])
    # 256 sampled negatives; avg_factor counts at least one positive: 256 + 1.
    assert sum(v.item() for v in losses["loss_rpn_cls"]) == pytest.approx(
        256 * math.log(2) / 257, rel=1e-5
    )


def targets(head: RPNHead, data: list[DetDataSample]) -> tuple:
    metas = [d.metainfo for d in data]
    sizes = [f.shape[-2:] for f in features(batch=len(data))]
    anchors, flags = head.get_anchors(sizes, metas, "cpu")
    return head.get_targets(anchors, flags, [d.gt_instances for d in data], metas)


def test_pos_weight_weights_positive_anchors() -> None:
    take_all = dict(type="RandomSampler", num=100000, pos_fraction=1.0, add_gt_as_proposals=False)
    plain = build(train_cfg=train_cfg(sampler=take_all))
    heavy = build(train_cfg=train_cfg(sampler=take_all, pos_weight=3.0))
    labels, weights, _, bbox_weights, avg_factor = targets(plain, samples())
    _, heavy_weights, *_ = targets(heavy, samples())
    positive = torch.cat([lab.reshape(-1) for lab in labels]) == 0
    weights = torch.cat([w.reshape(-1) for w in weights])
    heavy_weights = torch.cat([w.reshape(-1) for w in heavy_weights])
    assert 0 < int(positive.sum()) < 50
    # Every positive and negative is sampled; anchors between the IoU thresholds weigh 0.
    assert set(weights.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(heavy_weights, torch.where(positive, 3.0, weights))
    # Box weights mark the positives; avg_factor counts every sampled anchor.
    bbox_weights = torch.cat([w.reshape(-1, 4) for w in bbox_weights])
    assert torch.equal(bbox_weights.any(1), positive)
    assert avg_factor == int(weights.sum())


def test_sampler_adding_gts_is_refused() -> None:
    with pytest.raises(ConfigError, match="add_gt_as_proposals"):
        build(train_cfg=train_cfg(sampler=dict(type="RandomSampler", num=8, pos_fraction=0.5)))


def test_deterministic_under_seed() -> None:
    def run():
        head = build(seed=3)
        torch.manual_seed(7)
        losses, proposals = head.loss_and_predict(
            features(), samples(), proposal_cfg=proposal_cfg()
        )
        return losses, proposals

    (l1, p1), (l2, p2) = run(), run()
    for key in l1:
        torch.testing.assert_close(torch.stack(l1[key]), torch.stack(l2[key]), rtol=0, atol=0)
    for a, b in zip(p1, p2):
        assert torch.equal(a.bboxes, b.bboxes) and torch.equal(a.scores, b.scores)


def test_allowed_border_ignores_anchors_over_the_edge() -> None:
    head = build(train_cfg=train_cfg(allowed_border=0))
    feats, data = features(batch=1), [sample([[10.0, 12.0, 40.0, 50.0]])]
    anchors, flags = head.get_anchors([f.shape[-2:] for f in feats], [data[0].metainfo], "cpu")
    _, weights, *_ = head.get_targets(anchors, flags, [data[0].gt_instances], [data[0].metainfo])
    flat_anchors, flat_weights = torch.cat(anchors[0]), torch.cat([w[0] for w in weights])
    outside = (flat_anchors[:, :2] < 0).any(1) | (flat_anchors[:, 2:] >= SIZE).any(1)
    assert outside.any() and torch.count_nonzero(flat_weights[outside]) == 0


def test_no_anchor_inside_raises() -> None:
    head = build(train_cfg=train_cfg(allowed_border=0))
    # The level-4 anchors of a tiny image all cross its border.
    with pytest.raises(ValueError, match="allowed_border"):
        head.loss(features(batch=1), [sample([[1.0, 1.0, 3.0, 3.0]], img_shape=(4, 4))])


# -- proposals --------------------------------------------------------------------------------


def test_predict_boxes_inside_image_at_most_max_per_img() -> None:
    head = build()
    results = head.predict(features(), samples())
    for result, data in zip(results, samples()):
        height, width = data.img_shape
        assert 0 < len(result) <= 100
        assert result.bboxes.shape == (len(result), 4) and result.labels.dtype == torch.long
        assert torch.count_nonzero(result.labels) == 0
        assert (result.bboxes[:, 0::2] >= 0).all() and (result.bboxes[:, 0::2] <= width).all()
        assert (result.bboxes[:, 1::2] >= 0).all() and (result.bboxes[:, 1::2] <= height).all()
        assert (result.scores[:-1] >= result.scores[1:]).all()  # best first
        assert not result.scores.requires_grad


def test_nms_pre_keeps_the_best_per_level() -> None:
    head = build(test_cfg=proposal_cfg(nms_pre=1))
    result = head.predict(features(batch=1), samples()[:1])[0]
    cls_scores, _ = head(features(batch=1))
    best = sorted((s.sigmoid().max().item() for s in cls_scores), reverse=True)
    assert len(result) <= len(STRIDES)
    assert result.scores.tolist() == pytest.approx(best[: len(result)])


def test_rescale_divides_by_scale_factor() -> None:
    head = build()
    feats = features(batch=1)
    plain = head.predict(feats, [sample([], scale_factor=(1.0, 1.0))])[0]
    scaled = head.predict(feats, [sample([], scale_factor=(2.0, 4.0))], rescale=True)[0]
    # min_bbox_size=0 drops nothing more after scaling down, so the kept boxes match.
    torch.testing.assert_close(scaled.bboxes, plain.bboxes / torch.tensor([2.0, 4.0, 2.0, 4.0]))


def test_min_bbox_size_can_drop_everything() -> None:
    head = build(test_cfg=proposal_cfg(min_bbox_size=SIZE))
    result = head.predict(features(batch=1), samples()[:1])[0]
    assert result.bboxes.shape == (0, 4) and result.scores.shape == (0,)
    assert result.labels.dtype == torch.long


def test_loss_and_predict_uses_proposal_cfg() -> None:
    head = build()
    losses, proposals = head.loss_and_predict(
        features(), samples(), proposal_cfg=proposal_cfg(max_per_img=7)
    )
    assert set(losses) == {"loss_rpn_cls", "loss_rpn_bbox"}
    assert [len(p) for p in proposals] == [7, 7]


# -- errors -----------------------------------------------------------------------------------


def test_num_classes_must_be_one() -> None:
    with pytest.raises(ConfigError, match="num_classes must be 1"):
        MODELS.build(rpn_cfg(num_classes=2))


def test_train_cfg_missing_key() -> None:
    cfg = train_cfg()
    del cfg["allowed_border"]
    with pytest.raises(ConfigError, match="allowed_border"):
        MODELS.build(rpn_cfg(train_cfg=cfg))


def test_predict_without_test_cfg() -> None:
    head = build(test_cfg=None)
    with pytest.raises(ConfigError, match="test_cfg"):
        head.predict(features(), samples())


def test_missing_pad_shape() -> None:
    data = DetDataSample(metainfo=dict(img_shape=(SIZE, SIZE)))
    data.gt_instances = InstanceData(
        bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long)
    )
    with pytest.raises(ValueError, match="pad_shape"):
        build().loss(features(batch=1), [data])


def test_wrong_number_of_levels() -> None:
    with pytest.raises(ValueError, match="levels"):
        build().loss(features()[:4], samples())
