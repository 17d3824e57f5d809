"""Real data: a small UNet learns nuclei foreground on one fluorescence image (stardist, BSD-3).

The 16-bit image is loaded with its raw values (``color_type='unchanged'``, mean/std of the
training pixels). Train on 64x64 tiles of the left three quarters of ``img2d.tif``,
predict the right quarter whole, and compare foreground IoU with the all-background baseline
(IoU 0) and the best global intensity threshold chosen on the training part.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from segwright.config import Config
from segwright.datasets.imageio import read_label_map
from segwright.datasets.transforms import LoadImageFromFile
from segwright.engine.runner import Runner
from segwright.structures import SegDataSample

DATA = Path(os.environ.get("SEGWRIGHT_NUCLEI_DIR", "/work/shared/data/nuclei"))
TILE = 64

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore"),
    pytest.mark.filterwarnings("ignore:For binary segmentation"),
]


def load_nuclei() -> tuple[np.ndarray, np.ndarray]:
    """The 16-bit image as raw values (``color_type='unchanged'``) and its foreground mask."""
    if not (DATA / "img2d.tif").is_file() or not (DATA / "mask2d.tif").is_file():
        pytest.skip(f"nuclei data (img2d.tif, mask2d.tif) not found in {DATA}")
    load = LoadImageFromFile(color_type="unchanged")
    image = load(dict(img_path=str(DATA / "img2d.tif")))["img"]
    instances = read_label_map(str(DATA / "mask2d.tif"))  # one id per nucleus, 0 = background
    return image, (instances > 0).astype(np.uint8)


def foreground_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    pred, truth = pred.astype(bool), truth.astype(bool)
    union = np.logical_or(pred, truth).sum()
    return float(np.logical_and(pred, truth).sum() / union) if union else 0.0


def best_threshold(image: np.ndarray, mask: np.ndarray) -> int:
    return max(range(1, int(image.max()) + 1), key=lambda t: foreground_iou(image >= t, mask))


def write_tiles(root: Path, image: np.ndarray, mask: np.ndarray) -> int:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    count = 0
    for y in range(0, image.shape[0] - TILE + 1, TILE):
        for x in range(0, image.shape[1] - TILE + 1, TILE):
            name = f"tile_{y:03d}_{x:03d}"
            cv2.imwrite(str(root / "images" / f"{name}.tif"), image[y : y + TILE, x : x + TILE])
            cv2.imwrite(str(root / "masks" / f"{name}.png"), mask[y : y + TILE, x : x + TILE])
            count += 1
    return count


def config(root: Path, work_dir: Path, mean: float, std: float, iters: int) -> Config:
    norm = dict(type="BN", requires_grad=True)
    return Config(
        dict(
            model=dict(
                type="EncoderDecoder",
                data_preprocessor=dict(
                    type="SegDataPreProcessor", mean=[mean], std=[std]
                ),
                backbone=dict(
                    type="UNet", in_channels=1, base_channels=8, num_stages=3,
                    strides=(1, 1, 1), enc_num_convs=(2, 2, 2), dec_num_convs=(2, 2),
                    downsamples=(True, True), enc_dilations=(1, 1, 1), dec_dilations=(1, 1),
                    norm_cfg=norm,
                ),
                decode_head=dict(
                    type="FCNHead", in_channels=8, in_index=-1, channels=8, num_convs=1,
                    concat_input=False, dropout_ratio=0.0, num_classes=2, norm_cfg=norm,
                ),
                test_cfg=dict(mode="whole"),
            ),
            train_dataloader=dict(
                batch_size=8,
                num_workers=0,
                sampler=dict(type="InfiniteSampler", shuffle=True),
                dataset=dict(
                    type="FolderSegDataset",
                    data_root=str(root),
                    classes=("background", "nucleus"),
                    palette=[[0, 0, 0], [255, 0, 0]],
                    pipeline=[
                        dict(type="LoadImageFromFile", color_type="unchanged"),
                        dict(type="LoadAnnotations"),
                        dict(type="RandomFlip", prob=0.5, direction=["horizontal", "vertical"]),
                        dict(type="PackSegInputs"),
                    ],
                ),
            ),
            train_cfg=dict(type="IterBasedTrainLoop", max_iters=iters),
            optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=3e-3)),
            default_hooks=dict(
                checkpoint=None, logger=dict(type="LoggerHook", interval=100)
            ),
            randomness=dict(seed=0),
            work_dir=str(work_dir),
            device="cpu",
        )
    )  # fmt: skip


def test_unet_beats_threshold_on_unseen_quarter(tmp_path):
    torch.set_num_threads(1)
    image, mask = load_nuclei()
    assert image.dtype == np.uint16 and 200 <= image.max() <= 255  # raw values, not zeros
    split = image.shape[1] * 3 // 4
    train_img, train_mask = image[:, :split], mask[:, :split]
    test_img, test_mask = image[:, split:], mask[:, split:]
    assert write_tiles(tmp_path / "tiles", train_img, train_mask) == 48

    mean, std = float(train_img.mean()), float(train_img.std())
    runner = Runner.from_cfg(config(tmp_path / "tiles", tmp_path / "work", mean, std, iters=300))
    try:
        model = runner.train()
    finally:
        runner.close()
    model.eval()
    strip = torch.from_numpy(test_img[None].astype(np.float32))
    meta = dict(ori_shape=test_img.shape, img_shape=test_img.shape)
    with torch.no_grad():
        result = model.test_step(dict(inputs=[strip], data_samples=[SegDataSample(metainfo=meta)]))
    pred = result[0].pred_sem_seg.data.squeeze(0).numpy()

    model_iou = foreground_iou(pred, test_mask)
    background_iou = foreground_iou(np.zeros_like(test_mask), test_mask)
    threshold = best_threshold(train_img, train_mask)
    threshold_iou = foreground_iou(test_img >= threshold, test_mask)
    print(
        f"nuclei right quarter foreground IoU: unet {model_iou:.4f}, all-background "
        f"{background_iou:.4f}, global threshold {threshold} -> {threshold_iou:.4f}"
    )
    assert background_iou == 0.0
    assert model_iou > threshold_iou + 0.05
