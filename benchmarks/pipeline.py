"""Time segwright's Cityscapes train pipeline against a minimal hand-written cv2/NumPy version.

Both sides decode the same 1024x2048 PNG image and label map from a temporary folder and do
the same work with the same random draws: RandomResize(scale=(2048, 1024), ratio_range=(0.5,
2.0), keep_ratio=True) -> RandomCrop(512x1024, cat_max_ratio=0.75) -> RandomFlip(0.5) ->
PhotoMetricDistortion -> tensors. The minimal side is what a speed-aware person would write
by hand (cv2 for decoding, resizing, flips and colour conversion; lookup tables for the
per-pixel colour maps), so the ratio measures segwright's overhead: dataset indexing, the
per-image label check, the transform framework and metadata.

Usage: python benchmarks/pipeline.py [--repeats 20]
The last line printed is ``ratio (ours / minimal): median X.XXX (min Y.YYY, max Z.ZZZ) over N
paired runs`` (each run times both sides on the same random draws).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import cv2
import numpy as np
import torch
from common import ratio_line  # noqa: I001  (puts the repository on sys.path)

from segwright.registry import DATASETS

H, W = 1024, 2048
CROP = (512, 1024)


def synthesise(root: str) -> None:
    """A Cityscapes-like image (smooth, so the PNG compresses like a photo) and label map."""
    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(root, "leftImg8bit/train/city"))
    os.makedirs(os.path.join(root, "gtFine/train/city"))
    coarse = rng.integers(0, 256, size=(H // 32, W // 32, 3), dtype=np.uint8)
    img = cv2.resize(coarse, (W, H), interpolation=cv2.INTER_CUBIC)
    img = cv2.add(img, rng.integers(0, 8, size=(H, W, 3), dtype=np.uint8))
    label = cv2.resize(
        rng.integers(0, 19, size=(H // 64, W // 64), dtype=np.uint8),
        (W, H),
        interpolation=cv2.INTER_NEAREST,
    )
    label[: H // 10] = 255
    cv2.imwrite(os.path.join(root, "leftImg8bit/train/city/a_000000_leftImg8bit.png"), img)
    cv2.imwrite(os.path.join(root, "gtFine/train/city/a_000000_gtFine_labelTrainIds.png"), label)


def build_ours(root: str):
    pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="LoadAnnotations"),
        dict(type="RandomResize", scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
        dict(type="RandomCrop", crop_size=CROP, cat_max_ratio=0.75),
        dict(type="RandomFlip", prob=0.5),
        dict(type="PhotoMetricDistortion"),
        dict(type="PackSegInputs"),
    ]
    return DATASETS.build(
        dict(
            type="CityscapesDataset",
            data_root=root,
            data_prefix=dict(img_path="leftImg8bit/train", seg_map_path="gtFine/train"),
            pipeline=pipeline,
        )
    )


_VALUES = np.arange(256, dtype=np.float32)


def _affine(img, alpha=1.0, beta=0.0):
    return cv2.LUT(img, np.clip(_VALUES * alpha + beta, 0, 255).astype(np.uint8))


def _hsv_channel(img, channel, table):
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    hsv[:, :, channel] = table[hsv[:, :, channel]]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def minimal(img_path: str, seg_path: str):
    """The same operations written directly (same random calls, in the same order)."""
    img = cv2.imread(img_path, cv2.IMREAD_COLOR)
    seg = cv2.imread(seg_path, cv2.IMREAD_UNCHANGED)
    ratio = np.random.random_sample() * 1.5 + 0.5
    target = (int(2048 * ratio), int(1024 * ratio))
    h, w = img.shape[:2]
    factor = min(max(target) / max(h, w), min(target) / min(h, w))
    size = (int(w * factor + 0.5), int(h * factor + 0.5))
    img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
    seg = cv2.resize(seg, size, interpolation=cv2.INTER_NEAREST)

    def box():
        top = np.random.randint(0, max(img.shape[0] - CROP[0], 0) + 1)
        left = np.random.randint(0, max(img.shape[1] - CROP[1], 0) + 1)
        return top, left

    top, left = box()
    for _ in range(10):
        counts = np.bincount(seg[top : top + CROP[0], left : left + CROP[1]].ravel(), minlength=256)
        counts[255] = 0
        counts = counts[counts > 0]
        if len(counts) > 1 and counts.max() / counts.sum() < 0.75:
            break
        top, left = box()
    img = img[top : top + CROP[0], left : left + CROP[1]]
    seg = seg[top : top + CROP[0], left : left + CROP[1]]
    if np.random.choice(2, p=[0.5, 0.5]) == 0:
        img, seg = cv2.flip(img, 1), cv2.flip(seg, 1)
    if np.random.randint(2):
        img = _affine(img, beta=np.random.uniform(-32, 32))
    mode = np.random.randint(2)
    if mode == 1 and np.random.randint(2):
        img = _affine(img, alpha=np.random.uniform(0.5, 1.5))
    if np.random.randint(2):
        alpha = np.random.uniform(0.5, 1.5)
        img = _hsv_channel(img, 1, np.clip(_VALUES * alpha, 0, 255).astype(np.uint8))
    if np.random.randint(2):
        delta = np.random.randint(-18, 18)
        img = _hsv_channel(img, 0, ((np.arange(256) + delta) % 180).astype(np.uint8))
    if mode == 0 and np.random.randint(2):
        img = _affine(img, alpha=np.random.uniform(0.5, 1.5))
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    labels = torch.from_numpy(seg[None].astype(np.int64))
    return inputs, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        synthesise(root)
        dataset = build_ours(root)
        info = dataset.get_data_info(0)
        img_path, seg_path = info["img_path"], info["seg_map_path"]
        ours_times, minimal_times = [], []
        same = 0
        for run in range(args.repeats + 1):
            np.random.seed(run)
            start = time.perf_counter()
            sample = dataset[0]
            ours = time.perf_counter() - start
            np.random.seed(run)
            start = time.perf_counter()
            inputs, labels = minimal(img_path, seg_path)
            mine = time.perf_counter() - start
            same += int(
                torch.equal(sample["inputs"], inputs)
                and torch.equal(sample["data_samples"].gt_sem_seg.data, labels)
            )
            if run:  # the first run warms caches and is not counted
                ours_times.append(ours)
                minimal_times.append(mine)
    print(f"image {H}x{W}, crop {CROP}, {args.repeats} runs, cv2 threads {cv2.getNumThreads()}")
    print(f"identical outputs: {same}/{args.repeats + 1} runs")
    for name, times in (("segwright", ours_times), ("minimal", minimal_times)):
        ms = [t * 1000 for t in times]
        print(
            f"{name:>9}: median {statistics.median(ms):7.1f} ms  min {min(ms):7.1f} ms  "
            f"max {max(ms):7.1f} ms"
        )
    print(ratio_line("ours / minimal", ours_times, minimal_times))


if __name__ == "__main__":
    main()
