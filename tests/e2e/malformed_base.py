"""The valid tiny run the malformed corpus breaks, and the helpers that break it."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from segwright.config import Config

SIZE = 16


_BN = dict(type="BN", requires_grad=True)


def base_config(data_root: str, work_dir: str) -> dict[str, Any]:
    """The valid run every case breaks: 1 iteration, then validation on 2 images."""
    train_pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="LoadAnnotations"),
        dict(type="RandomResize", scale=(SIZE, SIZE), ratio_range=(1.0, 1.0), keep_ratio=True),
        dict(type="RandomFlip", prob=0.5),
        dict(type="PackSegInputs"),
    ]
    val_pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="Resize", scale=(SIZE, SIZE), keep_ratio=True),
        dict(type="LoadAnnotations"),
        dict(type="PackSegInputs"),
    ]

    def dataset(pipeline: list, split: str) -> dict[str, Any]:
        return dict(
            type="BaseSegDataset",
            data_root=data_root,
            data_prefix=dict(img_path=f"img/{split}", seg_map_path=f"ann/{split}"),
            img_suffix=".jpg",
            seg_map_suffix=".png",
            metainfo=dict(classes=("background", "thing")),
            pipeline=pipeline,
        )

    return dict(
        model=dict(
            type="EncoderDecoder",
            data_preprocessor=dict(
                type="SegDataPreProcessor", mean=[127.5] * 3, std=[64.0] * 3, bgr_to_rgb=True,
                pad_val=0, seg_pad_val=255, size=(SIZE, SIZE),
            ),
            backbone=dict(
                type="ResNetV1c", depth=18, stem_channels=8, base_channels=4,
                strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), out_indices=(0, 1, 2, 3),
                contract_dilation=True, norm_cfg=_BN,
            ),
            decode_head=dict(
                type="FCNHead", in_channels=32, in_index=3, channels=4, num_convs=1,
                concat_input=False, dropout_ratio=0.1, num_classes=2, norm_cfg=_BN,
                align_corners=False,
                loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
            ),
            auxiliary_head=dict(
                type="FCNHead", in_channels=16, in_index=2, channels=4, num_convs=1,
                concat_input=False, dropout_ratio=0.1, num_classes=2, norm_cfg=_BN,
                align_corners=False,
                loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=0.4),
            ),
            train_cfg=dict(),
            test_cfg=dict(mode="whole"),
        ),
        train_dataloader=dict(
            batch_size=2, num_workers=0, persistent_workers=False,
            sampler=dict(type="InfiniteSampler", shuffle=True),
            dataset=dataset(train_pipeline, "train"),
        ),
        val_dataloader=dict(
            batch_size=1, num_workers=0, persistent_workers=False,
            sampler=dict(type="DefaultSampler", shuffle=False),
            dataset=dataset(val_pipeline, "val"),
        ),
        val_evaluator=dict(type="IoUMetric", iou_metrics=["mIoU"]),
        optim_wrapper=dict(
            type="OptimWrapper",
            optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0005),
            clip_grad=None,
        ),
        param_scheduler=[
            dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=2, by_epoch=False)
        ],
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=1, val_interval=1),
        val_cfg=dict(type="ValLoop"),
        default_hooks=dict(
            timer=dict(type="IterTimerHook"),
            logger=dict(type="LoggerHook", interval=1, log_metric_by_epoch=False),
            param_scheduler=dict(type="ParamSchedulerHook"),
            checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=1000, save_last=False),
            sampler_seed=dict(type="DistSamplerSeedHook"),
        ),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
        work_dir=work_dir,
        device="cpu",
    )  # fmt: skip


def write_data(root: Path, num_train: int = 4, num_val: int = 2) -> Path:
    """Images with a bright square (class 1) on a dark background (class 0)."""
    rng = np.random.default_rng(0)
    for split, count in (("train", num_train), ("val", num_val)):
        (root / "img" / split).mkdir(parents=True, exist_ok=True)
        (root / "ann" / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            img = rng.integers(0, 60, (SIZE, SIZE, 3), dtype=np.uint8)
            mask = np.zeros((SIZE, SIZE), np.uint8)
            img[4:12, 4:12] += 150
            mask[4:12, 4:12] = 1
            assert cv2.imwrite(str(root / "img" / split / f"{i}.jpg"), img)
            assert cv2.imwrite(str(root / "ann" / split / f"{i}.png"), mask)
    return root


@dataclass
class Expect:
    """``error``: a SegwrightError naming ``words``; else a run whose log/warnings name them."""

    error: bool
    words: tuple[str, ...]


def E(*words: str) -> Expect:
    return Expect(True, words)


def W(*words: str) -> Expect:
    return Expect(False, words)


@dataclass
class Case:
    name: str
    mutate: Callable[[dict, Path], None]
    expect: Expect
    command: str = "train"  # or 'val'/'test': Runner.val()/test() as `segwright test` runs


def get(cfg: dict, path: str) -> Any:
    node: Any = cfg
    for part in path.replace("]", "").replace("[", ".").split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def setter(path: str, value: Any) -> Callable[[dict, Path], None]:
    parent, _, leaf = path.rpartition(".")

    def mutate(cfg: dict, root: Path) -> None:
        node = get(cfg, parent) if parent else cfg
        node[leaf] = copy.deepcopy(value)

    return mutate


def deleter(path: str) -> Callable[[dict, Path], None]:
    parent, _, leaf = path.rpartition(".")

    def mutate(cfg: dict, root: Path) -> None:
        node = get(cfg, parent) if parent else cfg
        del node[leaf]

    return mutate


def typo(key: str) -> str:
    """A plausible misspelling: a doubled letter for short keys, a dropped one otherwise."""
    if len(key) <= 4:
        return key + key[-1]
    middle = len(key) // 2
    return key[:middle] + key[middle + 1 :]


def renamer(path: str, key: str, new: str) -> Callable[[dict, Path], None]:
    def mutate(cfg: dict, root: Path) -> None:
        node = get(cfg, path)
        node[new] = node.pop(key)

    return mutate


def _copy_data(root: Path, tmp: Path) -> Path:

    target = tmp / "data"
    shutil.copytree(root, target)
    return target


def _with_data(edit: Callable[[Path], None]) -> Callable[[dict, Path], None]:
    """Point both datasets at a copy of the data with ``edit`` applied."""

    def mutate(cfg: dict, root: Path) -> None:
        data = _copy_data(root, Path(cfg["work_dir"]).parent)
        edit(data)
        for key in ("train_dataloader", "val_dataloader"):
            cfg[key]["dataset"]["data_root"] = str(data)

    return mutate


def _write_mask(path: Path, mask: np.ndarray) -> None:
    assert cv2.imwrite(str(path), mask)


def _mask(value: int = 1, size: tuple[int, int] = (SIZE, SIZE), dtype: Any = np.uint8):
    mask = np.zeros(size, dtype)
    mask[2:6, 2:6] = value
    return mask


def _as_config(cfg: dict, folder: Path) -> Config:
    """``cfg`` as a Config; written to ``folder/config.py`` first when a case appends lines."""
    append = cfg.pop("__append__", None)
    if append is None:
        return Config(cfg)
    path = folder / "config.py"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in cfg.items()) + append)
    return Config.fromfile(path)


# `segwright test`/`val`: the pre-flight checks run there too (no training before them).
def _evaluating(edit: Callable[[dict], None], command: str) -> Callable[[dict, Path], None]:
    """Add the test_* keys, apply ``edit`` (written for them), and for 'val' use them as val_*."""

    def mutate(cfg: dict, root: Path) -> None:
        cfg.update(
            test_dataloader=copy.deepcopy(cfg["val_dataloader"]),
            test_evaluator=copy.deepcopy(cfg["val_evaluator"]),
            test_cfg=dict(type="TestLoop"),
        )
        edit(cfg)
        if command == "val":
            cfg["val_dataloader"] = cfg["test_dataloader"]
            cfg["val_evaluator"] = cfg["test_evaluator"]

    return mutate


def _heads(cfg: dict, **values: Any) -> None:
    cfg["model"]["decode_head"].update(values)
    cfg["model"]["auxiliary_head"].update(values)
