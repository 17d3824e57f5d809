"""Real data: a tiny Mask R-CNN learns to separate coins on scikit-image's ``coins`` photo.

``skimage.data.coins()`` (303x384, 8-bit grey; shipped inside scikit-image, public domain) shows
24 coins in four rows; it is used at half size (152x192, coins 19..33 pixels across) to keep the
run short. The ground truth is classic: an Otsu threshold, a one-pixel opening, holes filled,
connected components labelled (scipy.ndimage), fragments under 75 pixels dropped. The
top row sits on a bright band that Otsu merges with its coins, so only the three lower rows are
used: rows two and three (12 coins) train, row four (6 coins, never trained on) is held out.
Each becomes a COCO json with one polygon (the component's outer contour) per coin.

The Mask R-CNN of :func:`~segwright.testing.tiny_detector.tiny_mask_rcnn_cfg` with
``num_classes=1`` trains for a few dozen iterations through the Runner; COCO segm mAP on the
held-out row must rise well above the same model's before training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.testing.tiny_detector import tiny_mask_rcnn_cfg

skimage_data = pytest.importorskip(
    "skimage.data", reason="the coins photo ships with scikit-image (segwright[dev])"
)
filters = pytest.importorskip("skimage.filters")
ndi = pytest.importorskip("scipy.ndimage", reason="labelling needs scipy (with scikit-image)")
pytest.importorskip("pycocotools", reason="CocoMetric needs pycocotools (segwright[det])")

TOP = 44  # the first row (of the half-size photo) below the bright band of the top row
SPLIT = 113  # between rows three (ends at y=109) and four (starts at y=117)
ITERS = 40


def label_coins() -> tuple[np.ndarray, np.ndarray]:
    """The lower three rows of the photo and their instance map (0 background, one id a coin)."""
    photo = skimage_data.coins()
    image = cv2.resize(
        photo, (photo.shape[1] // 2, photo.shape[0] // 2), interpolation=cv2.INTER_AREA
    )
    image = image[TOP:]
    foreground = image > filters.threshold_otsu(image)
    foreground = ndi.binary_fill_holes(ndi.binary_opening(foreground, iterations=1))
    labels, count = ndi.label(foreground)
    sizes = ndi.sum(foreground, labels, range(1, count + 1))
    for index, size in enumerate(sizes, start=1):
        if size < 75:
            labels[labels == index] = 0
    return image, labels


def polygon_of(binary: np.ndarray) -> list[float]:
    """The outer contour of one component as a COCO polygon (x, y pairs)."""
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(float)
    return [float(v) for v in contour.reshape(-1)]


def write_coco(root: Path, name: str, image: np.ndarray, labels: np.ndarray) -> int:
    """Write ``images/<name>.png`` and ``<name>.json``; returns the number of coins."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / "images" / f"{name}.png"), image)
    height, width = image.shape
    annotations = []
    for coin in np.unique(labels)[1:]:
        binary = (labels == coin).astype(np.uint8)
        ys, xs = np.nonzero(binary)
        x1, y1 = int(xs.min()), int(ys.min())
        annotations.append(
            dict(
                id=len(annotations) + 1, image_id=1, category_id=1, iscrowd=0,
                bbox=[x1, y1, int(xs.max()) + 1 - x1, int(ys.max()) + 1 - y1],
                area=float(binary.sum()), segmentation=[polygon_of(binary)],
            )
        )  # fmt: skip
    images = [dict(id=1, file_name=f"{name}.png", height=height, width=width)]
    categories = [dict(id=1, name="coin")]
    data = dict(images=images, annotations=annotations, categories=categories)
    (root / f"{name}.json").write_text(json.dumps(data))
    return len(annotations)


def config(root: Path, work_dir: Path, mean: float, std: float, iters: int) -> Config:
    model = tiny_mask_rcnn_cfg(num_classes=1)
    model["data_preprocessor"].update(mean=[mean], std=[std], bgr_to_rgb=False)
    model["backbone"].update(in_channels=1, frozen_stages=-1, norm_eval=False)
    # Coins are 19..33 pixels across: base anchors of 16 (stride 4) and 32 (stride 8).
    model["rpn_head"]["anchor_generator"]["scales"] = [4]
    model["test_cfg"]["rcnn"]["max_per_img"] = 30
    pipeline = [
        dict(type="LoadImageFromFile", color_type="unchanged"),
        dict(type="LoadAnnotations", with_bbox=True, with_mask=True),
        dict(type="Resize", scale=(192, 192), keep_ratio=True),  # width 192: scale 1.0
        dict(type="PackDetInputs"),
    ]
    dataset = dict(
        type="CocoDataset",
        data_root=str(root),
        metainfo=dict(classes=("coin",)),
        data_prefix=dict(img="images/"),
    )
    evaluator = dict(type="CocoMetric", ann_file=str(root / "held_out.json"), metric=["segm"])
    eval_loader = dict(
        batch_size=1,
        num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=False),
        dataset=dict(dataset, ann_file="held_out.json", test_mode=True, pipeline=pipeline),
    )
    train_pipeline = [*pipeline[:3], dict(type="RandomFlip", prob=0.5), pipeline[3]]
    return Config(
        dict(
            default_scope="mmdet",
            model=model,
            train_dataloader=dict(
                batch_size=1,
                num_workers=0,
                sampler=dict(type="InfiniteSampler", shuffle=True),
                dataset=dict(dataset, ann_file="train.json", pipeline=train_pipeline),
            ),
            train_cfg=dict(type="IterBasedTrainLoop", max_iters=iters),
            test_dataloader=eval_loader,
            test_cfg=dict(type="TestLoop"),
            test_evaluator=evaluator,
            optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=3e-3)),
            default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", interval=10)),
            randomness=dict(seed=0),
            work_dir=str(work_dir),
            device="cpu",
        )
    )  # fmt: skip


def test_mask_rcnn_learns_coin_instances_on_a_held_out_row(tmp_path):
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _run(tmp_path)
    finally:
        torch.set_num_threads(previous)


def _run(tmp_path: Path) -> None:
    start = time.perf_counter()
    image, labels = label_coins()
    root = tmp_path / "coco"
    split = SPLIT - TOP
    train_count = write_coco(root, "train", image[:split], labels[:split])
    held_out_count = write_coco(root, "held_out", image[split:], labels[split:])
    assert (train_count, held_out_count) == (12, 6)
    mean, std = float(image[:split].mean()), float(image[:split].std())

    untrained = Runner.from_cfg(config(root, tmp_path / "untrained", mean, std, ITERS))
    try:
        untrained.model.init_weights()  # the initialisation training starts from
        before = untrained.test()["coco/segm_mAP"]
    finally:
        untrained.close()

    runner = Runner.from_cfg(config(root, tmp_path / "work", mean, std, ITERS))
    try:
        runner.train()
        after = runner.test()["coco/segm_mAP"]
    finally:
        runner.close()
    print(
        f"coins held-out row segm mAP: untrained {before:.3f}, after {ITERS} iterations "
        f"{after:.3f} ({time.perf_counter() - start:.1f} s)"
    )
    assert after - before >= 0.2
