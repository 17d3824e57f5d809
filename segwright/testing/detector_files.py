"""A tiny Mask R-CNN as files: COCO data, a config file in MMDetection's layout, a checkpoint.

For tests of the user's tools on detection configs (``init_model``, ``segwright infer``,
``browse-dataset``, ``test --show-dir``): everything is written under one folder in about a
second, and the model is untrained (scores stay low: draw with ``score_thr=0``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from segwright.testing.tiny_detector import TINY_COCO_CLASSES, tiny_mask_rcnn_cfg, write_tiny_coco

#: The images' size (height, width).
IMAGE_SIZE = (64, 96)


def tiny_detector_config(
    data_root: str | os.PathLike[str], test_scale: tuple[int, int] | None = (48, 32)
) -> dict[str, Any]:
    """An MMDetection-style config dict for the tiny COCO data under ``data_root``.

    ``test_scale`` is the test pipeline's ``Resize`` scale ``(w, h)``; None leaves ``Resize``
    out (the network then sees the image at its original size).
    """
    root = str(data_root)
    metainfo = dict(classes=TINY_COCO_CLASSES)
    train_pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="LoadAnnotations", with_bbox=True, with_mask=True),
        dict(type="Resize", scale=(192, 128), keep_ratio=True),
        dict(type="RandomFlip", prob=0.5),
        dict(type="PackDetInputs"),
    ]
    test_pipeline = [
        dict(type="LoadImageFromFile"),
        *([dict(type="Resize", scale=test_scale, keep_ratio=True)] if test_scale else []),
        dict(type="LoadAnnotations", with_bbox=True, with_mask=True),
        dict(
            type="PackDetInputs",
            meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor"),
        ),
    ]

    def dataset(pipeline: list[dict[str, Any]], test_mode: bool) -> dict[str, Any]:
        return dict(
            type="CocoDataset", data_root=root, ann_file="ann.json", metainfo=metainfo,
            data_prefix=dict(img="images/"), pipeline=pipeline, test_mode=test_mode,
        )  # fmt: skip

    loader = dict(batch_size=2, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False))
    evaluator = dict(type="CocoMetric", ann_file=f"{root}/ann.json", metric=["bbox", "segm"])
    return dict(
        default_scope="mmdet",
        model=tiny_mask_rcnn_cfg(num_classes=len(TINY_COCO_CLASSES)),
        train_dataloader=dict(loader, dataset=dataset(train_pipeline, False)),
        test_dataloader=dict(loader, dataset=dataset(test_pipeline, True)),
        test_evaluator=evaluator,
        test_cfg=dict(type="TestLoop"),
        device="cpu",
    )


def write_tiny_detector(
    root: str | os.PathLike[str], test_scale: tuple[int, int] | None = (48, 32), seed: int = 0
) -> tuple[Path, Path]:
    """Write ``root/data`` (two COCO images), ``root/mask_rcnn_tiny.py`` and ``root/tiny.pth``.

    The checkpoint holds the model's initial weights (seeded) and the classes as
    ``meta['dataset_meta']``. Returns the config and checkpoint paths.
    """
    from segwright.config import Config
    from segwright.registry import MODELS, default_scope

    root = Path(root)
    write_tiny_coco(root / "data", num_images=2, size=IMAGE_SIZE)
    cfg = tiny_detector_config(root / "data", test_scale)
    config = root / "mask_rcnn_tiny.py"
    Config(cfg).dump(config)
    torch.manual_seed(seed)
    with default_scope("mmdet"):
        model = MODELS.build(cfg["model"])
    model.init_weights()
    checkpoint = root / "tiny.pth"
    meta = dict(dataset_meta=dict(classes=TINY_COCO_CLASSES))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), checkpoint)
    return config, checkpoint
