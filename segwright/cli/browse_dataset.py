"""Look at what the model will see: samples of a dataset after its pipeline, with their labels.

Builds <split>_dataloader.dataset of the config with its pipeline (augmentations included) and
writes N PNGs to the output folder, each ``image | image + mask`` with the dataset's palette
(ignored pixels white). For a detection config (COCO data, PackDetInputs) each PNG is titled
``image | ground truth``: the ground-truth boxes, masks and class names drawn over the image
as the pipeline left it. Random augmentations are seeded by --seed, so a call is repeatable.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file (.py, .json, .yaml); MMSeg 0.x or 1.x")
    parser.add_argument(
        "--split", choices=("train", "val", "test"), default="train", help="which dataloader"
    )
    parser.add_argument("-n", "--num", type=int, default=8, help="how many samples to draw")
    parser.add_argument("-o", "--out", default="browse", help="output folder")
    parser.add_argument(
        "--shuffle", action="store_true", help="draw random samples instead of the first N"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of augmentations and --shuffle")
    parser.add_argument("--opacity", type=float, default=0.5, help="mask weight in the overlay")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys, e.g. train_dataloader.dataset.data_root=data/ade",
    )


def build_split_dataset(cfg: Any, split: str) -> Any:
    """The dataset of ``<split>_dataloader``, built from DATASETS and fully initialised."""
    from segwright.registry import DATASETS, build_if_dict, default_scope
    from segwright.utils.errors import ConfigError

    key = f"{split}_dataloader"
    loader_cfg = cfg.get(key)
    if not loader_cfg or not loader_cfg.get("dataset"):
        present = [
            f"{s}_dataloader" for s in ("train", "val", "test") if cfg.get(f"{s}_dataloader")
        ]
        raise ConfigError(
            f"The config has no {key}.dataset; it has {', '.join(present) or 'no dataloaders'}. "
            "Pick another --split."
        )
    dataset_cfg = loader_cfg["dataset"]
    if hasattr(dataset_cfg, "to_dict"):
        dataset_cfg = dataset_cfg.to_dict()
    with default_scope(cfg.get("default_scope")):  # 'mmdet': MMDetection's transforms
        dataset = build_if_dict(dataset_cfg, DATASETS, key=f"{key}.dataset")
    if hasattr(dataset, "full_init"):
        dataset.full_init()
    return dataset


def image_to_bgr(inputs: Any) -> Any:
    """A packed ``C x H x W`` image tensor as ``H x W x 3`` uint8 (1 channel: grey; >3: first 3)."""
    import numpy as np

    array = inputs.detach().cpu().numpy() if hasattr(inputs, "detach") else np.asarray(inputs)
    if array.ndim == 2:
        array = array[None]
    array = np.moveaxis(array, 0, -1)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


def draw_sample(
    sample: dict,
    palette: Any,
    num_classes: int | None,
    opacity: float,
    classes: Any = None,
) -> Any:
    """``image | image + ground truth`` of one packed sample (the image alone without labels).

    A detection sample (``gt_instances``) gives titled ``image | ground truth`` panels with the
    boxes, masks and ``classes`` names drawn. Masks at another size than the image (MMDetection's
    test pipelines load annotations after ``Resize``) are drawn over the original image, read
    from ``img_path``.
    """
    import numpy as np

    from segwright.visualization.instances import instance_panels
    from segwright.visualization.overlay import overlay_mask

    image = image_to_bgr(sample["inputs"])
    instances = getattr(sample.get("data_samples"), "gt_instances", None)
    if instances is not None:
        image = _image_for(instances, image, sample["data_samples"].metainfo)
        panels = [("image", None), ("ground truth", instances)]
        return instance_panels(image, panels, classes, palette, opacity=opacity)
    gt = getattr(sample.get("data_samples"), "gt_sem_seg", None)
    if gt is None:
        return image
    mask = gt.data.detach().cpu().numpy() if hasattr(gt.data, "detach") else np.asarray(gt.data)
    mask = mask.reshape(mask.shape[-2:])
    overlay = overlay_mask(image, mask, palette, opacity, num_classes)
    spacer = np.full((image.shape[0], 4, 3), 255, dtype=np.uint8)
    return np.concatenate([image, spacer, overlay], axis=1)


def run(args: argparse.Namespace) -> int:
    import random

    import cv2
    import numpy as np
    import torch

    from segwright.cli.config_loading import load_config
    from segwright.utils.errors import ConfigError

    if args.num < 1:
        raise ConfigError(f"-n must be at least 1, got {args.num}.")
    if not 0.0 <= args.opacity <= 1.0:
        raise ConfigError(f"--opacity must be in [0, 1], got {args.opacity}.")
    cfg, _ = load_config(args.config, args.cfg_options)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    dataset = build_split_dataset(cfg, args.split)
    total = len(dataset)
    if total == 0:
        raise ConfigError(f"{args.split}_dataloader.dataset is empty; check its data_root.")
    count = min(args.num, total)
    if args.shuffle:
        indices = sorted(np.random.default_rng(args.seed).choice(total, count, replace=False))
    else:
        indices = list(range(count))
    meta = getattr(dataset, "metainfo", None) or {}
    classes = meta.get("classes")
    num_classes = len(classes) if classes else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    without_labels = 0
    for index in indices:
        sample = dataset[int(index)]
        picture = draw_sample(sample, meta.get("palette"), num_classes, args.opacity, classes)
        if not _has_labels(sample.get("data_samples")):
            without_labels += 1
        metainfo = getattr(sample.get("data_samples"), "metainfo", None) or {}
        stem = Path(str(metainfo.get("img_path", "sample"))).stem
        cv2.imwrite(str(out / f"{int(index):05d}_{stem}.png"), picture)
    print(f"Wrote {count} of {total} {args.split} samples to {out}.")
    if without_labels:
        print(f"{without_labels} sample(s) had no ground truth (gt_sem_seg or gt_instances).")
    return 0


def _image_for(instances: Any, image: Any, metainfo: dict) -> Any:
    """``image``, or the original image when the instances' masks have the original's size."""
    import cv2

    if "masks" not in instances:
        return image
    masks = instances.masks
    size = (masks.height, masks.width) if hasattr(masks, "height") else tuple(masks.shape[-2:])
    if size == image.shape[:2] or size != tuple(metainfo.get("ori_shape", ())[:2]):
        return image
    original = cv2.imread(str(metainfo.get("img_path")), cv2.IMREAD_COLOR)
    return original if original is not None else image


def _has_labels(data_sample: Any) -> bool:
    if getattr(data_sample, "gt_sem_seg", None) is not None:
        return True
    instances = getattr(data_sample, "gt_instances", None)
    return instances is not None and len(instances) > 0
