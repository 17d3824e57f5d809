"""A tiny Mask R-CNN in MMDetection 3.3's config layout, and samples to feed it.

The config has every key of MMDetection's ``mask-rcnn_r50_fpn.py`` with the widths cut down
(ResNet-18 at width 8, 16-channel FPN), so tests and smoke runs train in milliseconds.
``write_tiny_coco`` writes a few images and their COCO json for whole runs.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from segwright.structures import BitmapMasks, DetDataSample, InstanceData


def tiny_mask_rcnn_cfg(num_classes: int = 3, with_mask: bool = True) -> dict[str, Any]:
    """A ``MaskRCNN`` (``FasterRCNN`` when ``with_mask=False``) model config dict."""
    channels = 16
    roi_head: dict[str, Any] = dict(
        type="StandardRoIHead",
        bbox_roi_extractor=dict(
            type="SingleRoIExtractor",
            roi_layer=dict(type="RoIAlign", output_size=7, sampling_ratio=0),
            out_channels=channels,
            featmap_strides=[4, 8, 16, 32],
        ),
        bbox_head=dict(
            type="Shared2FCBBoxHead", in_channels=channels, fc_out_channels=32, roi_feat_size=7,
            num_classes=num_classes,
            bbox_coder=dict(
                type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4,
                target_stds=[0.1, 0.1, 0.2, 0.2],
            ),
            reg_class_agnostic=False,
            loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type="L1Loss", loss_weight=1.0),
        ),
    )  # fmt: skip
    rcnn_train: dict[str, Any] = dict(
        assigner=dict(
            type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
            match_low_quality=True, ignore_iof_thr=-1,
        ),
        sampler=dict(
            type="RandomSampler", num=64, pos_fraction=0.25, neg_pos_ub=-1,
            add_gt_as_proposals=True,
        ),
        pos_weight=-1,
        debug=False,
    )  # fmt: skip
    rcnn_test: dict[str, Any] = dict(
        score_thr=0.05, nms=dict(type="nms", iou_threshold=0.5), max_per_img=20
    )
    if with_mask:
        roi_head["mask_roi_extractor"] = dict(
            type="SingleRoIExtractor",
            roi_layer=dict(type="RoIAlign", output_size=14, sampling_ratio=0),
            out_channels=channels,
            featmap_strides=[4, 8, 16, 32],
        )
        roi_head["mask_head"] = dict(
            type="FCNMaskHead", num_convs=2, in_channels=channels, conv_out_channels=channels,
            num_classes=num_classes,
            loss_mask=dict(type="CrossEntropyLoss", use_mask=True, loss_weight=1.0),
        )  # fmt: skip
        rcnn_train["mask_size"] = 28
        rcnn_test["mask_thr_binary"] = 0.5
    return copy.deepcopy(
        dict(
            type="MaskRCNN" if with_mask else "FasterRCNN",
            data_preprocessor=dict(
                type="DetDataPreprocessor",
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                bgr_to_rgb=True,
                pad_mask=with_mask,
                pad_size_divisor=32,
            ),
            backbone=dict(
                type="ResNet",
                depth=18,
                base_channels=8,
                stem_channels=8,
                num_stages=4,
                out_indices=(0, 1, 2, 3),
                frozen_stages=1,
                norm_cfg=dict(type="BN", requires_grad=True),
                norm_eval=True,
                style="pytorch",
            ),
            neck=dict(type="FPN", in_channels=[8, 16, 32, 64], out_channels=channels, num_outs=5),
            rpn_head=dict(
                type="RPNHead",
                in_channels=channels,
                feat_channels=channels,
                anchor_generator=dict(
                    type="AnchorGenerator",
                    scales=[8],
                    ratios=[0.5, 1.0, 2.0],
                    strides=[4, 8, 16, 32, 64],
                ),
                bbox_coder=dict(
                    type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[1.0] * 4
                ),
                loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
                loss_bbox=dict(type="L1Loss", loss_weight=1.0),
            ),
            roi_head=roi_head,
            train_cfg=dict(
                rpn=dict(
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
                        num=64,
                        pos_fraction=0.5,
                        neg_pos_ub=-1,
                        add_gt_as_proposals=False,
                    ),
                    allowed_border=-1,
                    pos_weight=-1,
                    debug=False,
                ),
                rpn_proposal=dict(
                    nms_pre=200,
                    max_per_img=100,
                    nms=dict(type="nms", iou_threshold=0.7),
                    min_bbox_size=0,
                ),
                rcnn=rcnn_train,
            ),
            test_cfg=dict(
                rpn=dict(
                    nms_pre=100,
                    max_per_img=50,
                    nms=dict(type="nms", iou_threshold=0.7),
                    min_bbox_size=0,
                ),
                rcnn=rcnn_test,
            ),
        )  # fmt: skip
    )


def tiny_det_batch(
    batch: int = 2, size: int = 64, num_classes: int = 3, seed: int = 0
) -> dict[str, Any]:
    """``dict(inputs=[uint8 (3, H, W)], data_samples=[DetDataSample])`` with two objects each.

    Each image holds two bright rectangles on a dark noisy background; their boxes, labels and
    masks are the ground truth.
    """
    gen = np.random.default_rng(seed)
    inputs, samples = [], []
    for index in range(batch):
        img = gen.integers(0, 40, size=(size, size, 3), dtype=np.uint8)
        boxes, labels, masks = [], [], []
        for obj in range(2):
            w, h = (int(v) for v in gen.integers(size // 5, size // 2, size=2))
            x1, y1 = int(gen.integers(0, size - w)), int(gen.integers(0, size - h))
            label = (index + obj) % num_classes
            img[y1 : y1 + h, x1 : x1 + w] = 120 + 60 * label
            mask = np.zeros((size, size), dtype=np.uint8)
            mask[y1 : y1 + h, x1 : x1 + w] = 1
            boxes.append([x1, y1, x1 + w, y1 + h])
            labels.append(label)
            masks.append(mask)
        sample = DetDataSample(
            metainfo=dict(
                img_id=index, img_shape=(size, size), ori_shape=(size, size),
                scale_factor=(1.0, 1.0),
            )
        )  # fmt: skip
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            labels=torch.tensor(labels),
            masks=BitmapMasks(np.stack(masks), size, size),
        )
        inputs.append(torch.from_numpy(img).permute(2, 0, 1).contiguous())
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


#: Cityscapes' 8 instance classes, in MMDetection's order (also fine as COCO-style names).
TINY_COCO_CLASSES = ("person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")


def write_tiny_coco(
    root: str | os.PathLike[str],
    classes: Sequence[str] = TINY_COCO_CLASSES,
    num_images: int = 4,
    size: tuple[int, int] = (64, 96),
    name: str = "ann.json",
) -> Path:
    """Write a tiny COCO-format dataset: ``root/images/<i>.png`` and ``root/<name>``.

    Each ``size`` (height, width) image holds two bright rectangles on a dark noisy background,
    annotated with boxes and polygon masks of the first and third class (the images are at
    least 32 pixels on each side, so ``filter_cfg=dict(min_size=32)`` keeps them). Category
    ids count from 1 in the order of ``classes``. Returns the json path.
    """
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    height, width = size
    gen = np.random.default_rng(0)
    images, annotations = [], []
    for index in range(num_images):
        pixels = gen.integers(0, 60, (height, width, 3), dtype=np.uint8)
        for obj in range(2):
            w, h = width * 5 // 16, height * 9 // 16
            x, y = width // 12 + obj * width * 5 // 12, height // 6 + index % 3
            pixels[y : y + h, x : x + w] = 120 + 80 * obj
            annotations.append(
                dict(
                    id=len(annotations) + 1, image_id=index + 1,
                    category_id=1 + min(2 * obj, len(classes) - 1), bbox=[x, y, w, h],
                    area=float(w * h), iscrowd=0,
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]],
                )
            )  # fmt: skip
        cv2.imwrite(str(root / "images" / f"{index}.png"), pixels)
        images.append(dict(id=index + 1, file_name=f"{index}.png", width=width, height=height))
    categories = [dict(id=i + 1, name=str(n)) for i, n in enumerate(classes)]
    path = root / name
    path.write_text(json.dumps(dict(images=images, annotations=annotations, categories=categories)))
    return path
