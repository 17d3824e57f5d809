"""Real data: a tiny Mask R-CNN learns to separate nuclei on one fluorescence image (stardist, BSD-3).

``mask2d.tif`` labels every nucleus with its own id. Four 128x128 crops of ``img2d.tif`` (top
left quarter) become a COCO json with one RLE mask and box per nucleus; a fifth crop (bottom
right corner, never trained on) is held out. The 16-bit image is read with its raw values
(``color_type='unchanged'``, one channel, mean/std of the training pixels: docs/your-data.md).
The Mask R-CNN of :func:`~segwright.testing.tiny_detector.tiny_mask_rcnn_cfg` (ResNet-18 at width
8, 16-channel FPN) with ``num_classes=1`` and anchors sized for ~25-pixel nuclei trains for a few
dozen iterations through the Runner; COCO segm mAP on the held-out crop must rise well above the
same model's before training.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from segwright.config import Config
from segwright.datasets.imageio import read_label_map
from segwright.datasets.transforms import LoadImageFromFile
from segwright.engine.runner import Runner
from segwright.testing.tiny_detector import tiny_mask_rcnn_cfg

mask_utils = pytest.importorskip(
    "pycocotools.mask", reason="COCO json masks and CocoMetric need pycocotools (segwright[det])"
)

DATA = Path(os.environ.get("SEGWRIGHT_NUCLEI_DIR", "/work/shared/data/nuclei"))
CROP = 128
TRAIN_CROPS = ((0, 0), (0, CROP), (CROP, 0), (CROP, CROP))  # (y, x) of the top-left corner
HELD_OUT_CROP = (384, 384)
ITERS = 40

# ~40 training iterations plus two COCO evaluations: 5.5 s on an idle 2-core machine (about a
# minute when other jobs share the cores), so it runs with the fast tests.


def load_nuclei() -> tuple[np.ndarray, np.ndarray]:
    """The 16-bit image as raw values and its instance map (0 = background, one id a nucleus)."""
    if not (DATA / "img2d.tif").is_file() or not (DATA / "mask2d.tif").is_file():
        pytest.skip(
            f"nuclei data (img2d.tif, mask2d.tif) not found in {DATA}; "
            "set SEGWRIGHT_NUCLEI_DIR to the folder that holds them"
        )
    image = LoadImageFromFile(color_type="unchanged")(dict(img_path=str(DATA / "img2d.tif")))
    return image["img"], read_label_map(str(DATA / "mask2d.tif"))


def write_coco(
    root: Path, name: str, image: np.ndarray, instances: np.ndarray, corners
) -> tuple[Path, int]:
    """Write the crops at ``corners`` as 16-bit TIFFs and their COCO json; (json, #nuclei)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for index, (y, x) in enumerate(corners, start=1):
        file_name = f"{name}_{y:03d}_{x:03d}.tif"
        cv2.imwrite(str(root / "images" / file_name), image[y : y + CROP, x : x + CROP])
        images.append(dict(id=index, file_name=file_name, height=CROP, width=CROP))
        crop = instances[y : y + CROP, x : x + CROP]
        for nucleus in np.unique(crop)[1:]:  # a nucleus cut by the crop edge keeps its part
            binary = np.asfortranarray(crop == nucleus, dtype=np.uint8)
            rle = mask_utils.encode(binary)
            rle["counts"] = rle["counts"].decode("ascii")
            ys, xs = np.nonzero(binary)
            x1, y1 = int(xs.min()), int(ys.min())
            annotations.append(
                dict(
                    id=len(annotations) + 1, image_id=index, category_id=1, iscrowd=0,
                    bbox=[x1, y1, int(xs.max()) + 1 - x1, int(ys.max()) + 1 - y1],
                    area=float(binary.sum()), segmentation=rle,
                )
            )  # fmt: skip
    path = root / f"{name}.json"
    categories = [dict(id=1, name="nucleus")]
    path.write_text(json.dumps(dict(images=images, annotations=annotations, categories=categories)))
    return path, len(annotations)


def config(root: Path, work_dir: Path, mean: float, std: float, iters: int) -> Config:
    model = tiny_mask_rcnn_cfg(num_classes=1)
    model["data_preprocessor"].update(mean=[mean], std=[std], bgr_to_rgb=False)
    # Trained from scratch: no frozen stem, BatchNorm learns its statistics.
    model["backbone"].update(in_channels=1, frozen_stages=-1, norm_eval=False)
    # Nuclei are 14..34 pixels across: base anchors of 16 (stride 4) and 32 (stride 8).
    model["rpn_head"]["anchor_generator"]["scales"] = [4]
    model["test_cfg"]["rpn"]["max_per_img"] = 100
    model["test_cfg"]["rcnn"]["max_per_img"] = 50  # up to 16 nuclei in a crop
    pipeline = [
        dict(type="LoadImageFromFile", color_type="unchanged"),
        dict(type="LoadAnnotations", with_bbox=True, with_mask=True),
        dict(type="Resize", scale=(CROP, CROP), keep_ratio=True),  # sets scale_factor (1.0)
        dict(type="PackDetInputs"),
    ]
    dataset = dict(
        type="CocoDataset",
        data_root=str(root),
        metainfo=dict(classes=("nucleus",)),
        data_prefix=dict(img="images/"),
    )
    evaluator = dict(type="CocoMetric", ann_file=str(root / "held_out.json"), metric=["segm"])
    eval_loader = dict(
        batch_size=1,
        num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=False),
        dataset=dict(dataset, ann_file="held_out.json", test_mode=True, pipeline=pipeline),
    )
    return Config(
        dict(
            default_scope="mmdet",
            model=model,
            train_dataloader=dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type="InfiniteSampler", shuffle=True),
                dataset=dict(
                    dataset,
                    ann_file="train.json",
                    pipeline=[
                        *pipeline[:3],
                        dict(type="RandomFlip", prob=0.5),
                        pipeline[3],
                    ],
                ),
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


def test_mask_rcnn_learns_nuclei_instances_on_a_held_out_crop(tmp_path):
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _run(tmp_path)
    finally:
        torch.set_num_threads(previous)


def _run(tmp_path: Path) -> None:
    start = time.perf_counter()
    image, instances = load_nuclei()
    assert image.dtype == np.uint16 and 200 <= image.max() <= 255  # raw values, not scaled
    root = tmp_path / "coco"
    _, train_count = write_coco(root, "train", image, instances, TRAIN_CROPS)
    _, held_out_count = write_coco(root, "held_out", image, instances, [HELD_OUT_CROP])
    assert train_count >= 30 and held_out_count >= 5
    pixels = np.stack([image[y : y + CROP, x : x + CROP] for y, x in TRAIN_CROPS])
    mean, std = float(pixels.mean()), float(pixels.std())

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
        f"nuclei held-out crop segm mAP: untrained {before:.3f}, after {ITERS} iterations "
        f"{after:.3f} ({time.perf_counter() - start:.1f} s)"
    )
    # Measured (seed 0, 2 CPU threads): untrained 0.000 (no mask overlaps a nucleus well);
    # 0.241 after 20 iterations, 0.418 after 40. The bar, 0.2, is under half the measured
    # value (room for other BLAS / platform rounding) and still 0.2 above the untrained model.
    assert before <= 0.02
    assert after >= 0.2
