"""Tiny Mask R-CNN RoI-head parts: 8-channel features at strides 4..32 of a 64x64 image."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from segwright.structures import BitmapMasks, DetDataSample, InstanceData

CHANNELS = 8
NUM_CLASSES = 3
STRIDES = [4, 8, 16, 32]
IMG = 64


def roi_extractor_cfg(output_size: int = 7) -> dict[str, Any]:
    return dict(
        type="SingleRoIExtractor",
        roi_layer=dict(type="RoIAlign", output_size=output_size, sampling_ratio=0),
        out_channels=CHANNELS,
        featmap_strides=STRIDES,
    )


BBOX_HEAD = dict(
    type="Shared2FCBBoxHead",
    in_channels=CHANNELS,
    fc_out_channels=16,
    roi_feat_size=7,
    num_classes=NUM_CLASSES,
    bbox_coder=dict(
        type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]
    ),
    reg_class_agnostic=False,
    loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    loss_bbox=dict(type="L1Loss", loss_weight=1.0),
)
MASK_HEAD = dict(
    type="FCNMaskHead",
    num_convs=4,
    in_channels=CHANNELS,
    conv_out_channels=8,
    num_classes=NUM_CLASSES,
    loss_mask=dict(type="CrossEntropyLoss", use_mask=True, loss_weight=1.0),
)
TRAIN_CFG = dict(
    assigner=dict(
        type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
        match_low_quality=True, ignore_iof_thr=-1,
    ),
    sampler=dict(
        type="RandomSampler", num=64, pos_fraction=0.25, neg_pos_ub=-1, add_gt_as_proposals=True
    ),
    mask_size=28,
    pos_weight=-1,
    debug=False,
)  # fmt: skip
TEST_CFG = dict(
    score_thr=0.05, nms=dict(type="nms", iou_threshold=0.5), max_per_img=10, mask_thr_binary=0.5
)


def roi_head_cfg(**overrides: Any) -> dict[str, Any]:
    cfg = dict(
        type="StandardRoIHead",
        bbox_roi_extractor=roi_extractor_cfg(7),
        bbox_head=BBOX_HEAD,
        mask_roi_extractor=roi_extractor_cfg(14),
        mask_head=MASK_HEAD,
        train_cfg=TRAIN_CFG,
        test_cfg=TEST_CFG,
    )
    cfg.update(overrides)
    return copy.deepcopy(cfg)


def features(batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(batch, CHANNELS, IMG // s, IMG // s, generator=gen) for s in STRIDES)


def proposals(num: int = 40, seed: int = 1) -> InstanceData:
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(num, 2, generator=gen) * 40
    wh = torch.rand(num, 2, generator=gen) * 30 + 4
    boxes = torch.cat([xy, (xy + wh).clamp(max=IMG)], dim=1)
    return InstanceData(bboxes=boxes, scores=torch.rand(num, generator=gen))


def data_sample(scale: float = 1.0, with_gt: bool = True) -> DetDataSample:
    ori = (round(IMG / scale), round(IMG / scale))
    sample = DetDataSample(
        metainfo=dict(img_shape=(IMG, IMG), ori_shape=ori, scale_factor=(scale, scale))
    )
    masks = np.zeros((2, IMG, IMG), dtype=np.uint8)
    masks[0, 5:30, 5:30] = 1
    masks[1, 30:60, 20:50] = 1
    boxes = torch.tensor([[5.0, 5.0, 30.0, 30.0], [20.0, 30.0, 50.0, 60.0]])
    labels = torch.tensor([0, 2])
    if not with_gt:
        masks, boxes, labels = masks[:0], boxes[:0], labels[:0]
    sample.gt_instances = InstanceData(
        bboxes=boxes, labels=labels, masks=BitmapMasks(masks, IMG, IMG)
    )
    return sample
