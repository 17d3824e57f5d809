"""The cases of test_malformed_corpus.py: one valid tiny run, and the ways to break it.

Each :class:`Case` mutates the base config (and may write a broken copy of the data) and says
what must come of it: a SegwrightError whose message holds ``words``, or a run whose log or
warnings hold them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from malformed_base import (
    SIZE,
    Case,
    E,
    Expect,
    W,
    _copy_data,
    _evaluating,
    _heads,
    _mask,
    _with_data,
    _write_mask,
    base_config,
    deleter,
    get,
    renamer,
    setter,
    typo,
)

# -- the cases ------------------------------------------------------------------------------


CASES: list[Case] = []


def case(name: str, expect: Expect) -> Callable:
    def register(mutate: Callable[[dict, Path], None]) -> Callable:
        CASES.append(Case(name, mutate, expect))
        return mutate

    return register


#: Dicts that are built from a ``type`` (their keys are a class's arguments), by key path.
BUILT = [
    "model",
    "model.data_preprocessor",
    "model.backbone",
    "model.decode_head",
    "model.decode_head.loss_decode",
    "model.auxiliary_head",
    "model.auxiliary_head.loss_decode",
    "optim_wrapper",
    "optim_wrapper.optimizer",
    "param_scheduler[0]",
    "train_dataloader.sampler",
    "train_dataloader.dataset",
    "val_dataloader.dataset",
    "val_evaluator",
    "train_cfg",
    *(f"train_dataloader.dataset.pipeline[{i}]" for i in range(5)),
    *(f"val_dataloader.dataset.pipeline[{i}]" for i in range(4)),
    *(f"default_hooks.{name}" for name in ("logger", "checkpoint")),
]
#: Plain dicts whose keys are still checked.
PLAIN = ["train_dataloader", "val_dataloader", "model.test_cfg", "log_processor", "randomness"]

_BASE = base_config("DATA", "WORK")


def _typo_cases() -> None:
    for path in BUILT + PLAIN:
        for key in get(_BASE, path):
            if key == "type":
                continue
            bad = typo(key)
            CASES.append(Case(f"typo:{path}.{key}", renamer(path, key, bad), E(bad, path)))
    for path in BUILT:
        if path == "optim_wrapper":  # type defaults to OptimWrapper, as in MMEngine
            continue
        CASES.append(Case(f"no-type:{path}", deleter(f"{path}.type"), E("type", path)))
        CASES.append(
            Case(f"unknown-type:{path}", setter(f"{path}.type", "NoSuchThing"), E("NoSuchThing"))
        )


_typo_cases()

# Wrong types and out-of-range values: (key path, value, words the message must hold).
VALUES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("train_dataloader.batch_size", 2.5, ("batch_size", "2.5")),
    ("train_dataloader.batch_size", 0, ("batch_size",)),
    ("train_dataloader.batch_size", -1, ("batch_size",)),
    ("train_dataloader.batch_size", "2", ("batch_size",)),
    ("train_dataloader.num_workers", -1, ("num_workers",)),
    ("train_dataloader.num_workers", 1.5, ("num_workers",)),
    ("train_dataloader.sampler", None, ("sampler",)),
    ("train_dataloader.sampler", "InfiniteSampler", ("sampler",)),
    ("train_dataloader.dataset", None, ("dataset",)),
    ("train_dataloader.dataset.pipeline", None, ("pipeline",)),
    ("train_dataloader.dataset.pipeline", "PackSegInputs", ("pipeline",)),
    ("train_dataloader.dataset.data_root", 3, ("data_root",)),
    ("train_dataloader.dataset.data_prefix", "img", ("data_prefix",)),
    ("train_dataloader.dataset.label_check", "maybe", ("label_check",)),
    ("train_dataloader.dataset.metainfo", dict(classes=()), ("classes",)),
    ("train_dataloader.dataset.metainfo", dict(classes="background"), ("classes",)),
    ("train_dataloader.dataset.indices", 0, ("indices",)),
    ("train_dataloader.dataset.pipeline[2].scale", (0, 16), ("scale",)),
    ("train_dataloader.dataset.pipeline[2].ratio_range", (2.0, 1.0), ("ratio_range",)),
    ("train_dataloader.dataset.pipeline[3].prob", 1.5, ("prob",)),
    ("train_dataloader.dataset.pipeline[3].prob", "0.5", ("prob",)),
    ("val_dataloader.batch_size", 0, ("batch_size",)),
    ("val_dataloader.dataset.pipeline[1].scale", -16, ("scale",)),
    ("model.decode_head.num_classes", 0, ("num_classes",)),
    ("model.decode_head.num_classes", 2.0, ("num_classes",)),
    ("model.decode_head.num_classes", 5, ("num_classes", "decode_head")),
    ("model.auxiliary_head.num_classes", 3, ("num_classes", "auxiliary_head")),
    ("model.decode_head.in_channels", 7, ("in_channels", "decode_head", "32")),
    ("model.auxiliary_head.in_channels", 32, ("in_channels", "auxiliary_head", "16")),
    ("model.decode_head.in_index", 7, ("in_index", "decode_head")),
    ("model.decode_head.channels", 0, ("channels",)),
    ("model.decode_head.dropout_ratio", 1.5, ("dropout_ratio",)),
    ("model.decode_head.ignore_index", 0, ("ignore_index", "decode_head")),
    ("model.auxiliary_head.ignore_index", 254, ("ignore_index", "auxiliary_head")),
    ("model.decode_head.loss_decode.loss_weight", "one", ("loss_weight",)),
    ("model.decode_head.loss_decode.ignore_index", 0, ("ignore_index",)),
    ("model.decode_head.loss_decode.class_weight", [1.0], ("class_weight",)),
    ("model.decode_head.loss_decode.reduction", "avg", ("reduction",)),
    ("model.decode_head.norm_cfg", dict(type="NoSuchNorm"), ("NoSuchNorm",)),
    ("model.backbone.depth", 19, ("depth",)),
    ("model.backbone.out_indices", (0, 5), ("out_indices",)),
    ("model.backbone.norm_cfg", "BN", ("norm_cfg",)),
    ("model.data_preprocessor.mean", [127.5, 127.5], ("mean",)),
    ("model.data_preprocessor.std", [0.0, 1.0, 1.0], ("std",)),
    ("model.data_preprocessor.seg_pad_val", 0, ("seg_pad_val",)),
    ("model.data_preprocessor.size", 16.5, ("size",)),
    ("model.test_cfg.mode", "sliding", ("mode",)),
    ("model.test_cfg", dict(mode="slide"), ("crop_size",)),
    ("optim_wrapper.optimizer.lr", -0.01, ("lr",)),
    ("optim_wrapper.optimizer.lr", "0.01", ("lr",)),
    ("optim_wrapper.optimizer.momentum", -0.9, ("momentum",)),
    ("optim_wrapper.optimizer.weight_decay", -1e-4, ("weight_decay",)),
    ("optim_wrapper.clip_grad", dict(max_norm=-1), ("max_norm",)),
    ("optim_wrapper.clip_grad", dict(max_nrom=1), ("max_nrom",)),
    ("optim_wrapper.accumulative_counts", 0, ("accumulative_counts",)),
    ("optim_wrapper.optimizer", None, ("optimizer",)),
    ("param_scheduler[0].power", "high", ("power",)),
    ("param_scheduler[0].end", -1, ("end",)),
    ("param_scheduler[0].begin", 5, ("begin",)),
    ("param_scheduler", dict(type="PolyLR", eta_minn=0), ("eta_minn",)),
    ("train_cfg.max_iters", 0, ("max_iters",)),
    ("train_cfg.max_iters", -5, ("max_iters",)),
    ("train_cfg.max_iters", 1.5, ("max_iters",)),
    ("train_cfg.val_interval", 0, ("val_interval",)),
    ("train_cfg.val_interval", -1, ("val_interval",)),
    ("train_cfg.val_interval", "1", ("val_interval",)),
    ("train_cfg.dynamic_intervals", [(1, 0)], ("dynamic_intervals",)),
    ("train_cfg.dynamic_intervals", 5, ("dynamic_intervals",)),
    ("train_cfg", dict(by_epoch=True), ("max_epochs",)),
    ("train_cfg", None, ("train_cfg",)),
    ("default_hooks.logger.interval", 0, ("interval",)),
    ("default_hooks.checkpoint.interval", 0, ("interval",)),
    ("default_hooks.checkpoint.max_keep_ckpts", "3", ("max_keep_ckpts",)),
    ("default_hooks.logger", "LoggerHook", ("default_hooks.logger",)),
    ("custom_hooks", [dict(type="EMAHook", momentum=2.0)], ("momentum",)),
    ("custom_hooks", [dict(type="NoSuchHook")], ("NoSuchHook",)),
    ("custom_hooks", dict(type="EMAHook"), ("custom_hooks",)),
    ("val_evaluator.iou_metrics", ["mIOU"], ("mIOU",)),
    ("val_evaluator.ignore_index", 0, ("ignore_index",)),
    ("val_evaluator", None, ("val_evaluator",)),
    ("log_processor.window_size", 0, ("window_size",)),
    ("randomness.seed", "zero", ("seed",)),
    ("work_dir", 5, ("work_dir",)),
    ("device", "tpu", ("device",)),
    ("load_from", "no_such_checkpoint.pth", ("no_such_checkpoint.pth",)),
    ("resume", "yes", ("resume",)),
    ("launcher", "slurmm", ("launcher",)),
    ("log_level", "LOUD", ("log_level",)),
    ("default_scope", "mmsegg", ("mmsegg",)),
]
for _path, _value, _words in VALUES:
    CASES.append(Case(f"value:{_path}={_value!r}", setter(_path, _value), E(*_words)))

# Missing required keys.
for _path in [
    "model.backbone",
    "model.decode_head",
    "model.decode_head.num_classes",
    "model.decode_head.in_channels",
    "model.decode_head.channels",
    "train_dataloader.dataset",
    "optim_wrapper.optimizer",
    "train_cfg.max_iters",
    "val_evaluator",
    "model",
]:
    CASES.append(Case(f"missing:{_path}", deleter(_path), E(_path.rpartition(".")[2])))

# Warnings a run must log (MMEngine runs these; a silent run is wrong, an error too strict).
WARNED: list[tuple[str, Any, tuple[str, ...]]] = [
    ("optim_wrapper.optimizer.lr", 0.0, ("optim_wrapper.optimizer.lr is 0",)),
    ("default_hooks.logger.out_dir", "elsewhere", ("out_dir",)),
    ("log_processor.window_size", 5, ("window_size",)),
    ("log_processor.num_digits", 2, ("num_digits",)),
    ("train_cfg.dynamic_intervals", [(1, 1)], ("mIoU",)),
]
for _path, _value, _words in WARNED:
    CASES.append(Case(f"warn:{_path}={_value!r}", setter(_path, _value), W(*_words)))


# -- the list and bad data sets -----------------------------------------------------


DATA_CASES: list[tuple[str, Callable[[Path], None], Expect]] = [
    (
        "mask-smaller",
        lambda d: _write_mask(d / "ann/train/1.png", _mask(size=(8, 8))),
        E("1.png", "8x8"),
    ),
    (
        "mask-transposed",
        lambda d: _write_mask(d / "ann/train/0.png", _mask(size=(SIZE, SIZE + 4))),
        E("0.png"),
    ),
    (
        "val-mask-smaller",
        lambda d: _write_mask(d / "ann/val/0.png", _mask(size=(8, 8))),
        E("0.png"),
    ),
    ("label-out-of-range", lambda d: _write_mask(d / "ann/train/2.png", _mask(7)), E("2.png", "7")),
    (
        "label-16bit",
        lambda d: _write_mask(d / "ann/train/2.png", _mask(300, dtype=np.uint16)),
        E("2.png"),
    ),
    (
        "val-label-out-of-range",
        lambda d: _write_mask(d / "ann/val/1.png", _mask(9)),
        E("1.png", "9"),
    ),
    ("mask-missing", lambda d: (d / "ann/train/3.png").unlink(), E("3.png")),
    ("mask-dir-missing", lambda d: shutil.rmtree(d / "ann/train"), E("ann/train")),
    ("img-dir-missing", lambda d: shutil.rmtree(d / "img/train"), E("img/train")),
    ("img-dir-empty", lambda d: [p.unlink() for p in (d / "img/train").iterdir()], E("img/train")),
    ("img-corrupt", lambda d: (d / "img/train/0.jpg").write_bytes(b"not a jpeg"), E("0.jpg")),
    ("img-empty-file", lambda d: (d / "img/train/1.jpg").write_bytes(b""), E("1.jpg")),
    ("mask-corrupt", lambda d: (d / "ann/train/0.png").write_bytes(b"\x89PNG broken"), E("0.png")),
    ("val-img-corrupt", lambda d: (d / "img/val/0.jpg").write_bytes(b"xx"), E("0.jpg")),
    (
        "mask-is-dir",
        lambda d: ((d / "ann/train/2.png").unlink(), (d / "ann/train/2.png").mkdir()),
        E("2.png"),
    ),
]
for _name, _edit, _expect in DATA_CASES:
    CASES.append(Case(f"data:{_name}", _with_data(_edit), _expect))


@case("data:mask-size-hidden-by-resize", E("1.png"))
def _mask_hidden_by_resize(cfg: dict, root: Path) -> None:
    _with_data(lambda d: _write_mask(d / "ann/train/1.png", _mask(size=(8, 8))))(cfg, root)
    cfg["train_dataloader"]["batch_size"] = 1
    cfg["train_dataloader"]["sampler"]["shuffle"] = False


@case("data:ignore_empty-skips-counted", W("ignore_empty", "1.jpg"))
def _ignore_empty(cfg: dict, root: Path) -> None:
    _with_data(lambda d: (d / "img/train/1.jpg").write_bytes(b"junk"))(cfg, root)
    cfg["train_dataloader"]["dataset"]["pipeline"][0]["ignore_empty"] = True


@case("data:label_check-warn-then-out-of-range", E("Target 7", "label_check"))
def _label_check_warn(cfg: dict, root: Path) -> None:
    _with_data(lambda d: _write_mask(d / "ann/train/2.png", _mask(7)))(cfg, root)
    cfg["train_dataloader"]["dataset"]["label_check"] = "warn"
    cfg["train_dataloader"]["batch_size"] = 4  # the bad map reaches the loss


@case("data:ann_file-missing", E("split.txt"))
def _ann_file_missing(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"]["dataset"]["ann_file"] = "split.txt"


@case("data:ann_file-names-missing-image", E("nope"))
def _ann_file_bad_name(cfg: dict, root: Path) -> None:
    data = _copy_data(root, Path(cfg["work_dir"]).parent)
    (data / "split.txt").write_text("0\nnope\n")
    cfg["train_dataloader"]["dataset"].update(data_root=str(data), ann_file="split.txt")


@case("data:wrong-img-suffix", E("img_suffix", ".jpg"))
def _wrong_suffix(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"]["dataset"]["img_suffix"] = ".png"


@case("data:wrong-seg-map-suffix", E("seg_map_suffix"))
def _wrong_seg_suffix(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"]["dataset"]["seg_map_suffix"] = "_mask.png"


@case("data:data_root-missing", E("no_such_root"))
def _root_missing(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"]["dataset"]["data_root"] = str(root / "no_such_root")


@case("data:classes-3-on-2-class-data", E("num_classes"))
def _three_classes(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"]["dataset"]["metainfo"] = dict(classes=("a", "b", "c"))


@case("data:val-classes-differ", E("val_dataloader.dataset"))
def _val_classes(cfg: dict, root: Path) -> None:
    cfg["val_dataloader"]["dataset"]["metainfo"] = dict(classes=("a", "b", "c"))


@case("loader:batch-larger-than-dataset-drop_last", E("batch_size", "drop_last"))
def _big_batch(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"].update(batch_size=8, drop_last=True)
    cfg["train_dataloader"]["sampler"] = dict(type="DefaultSampler", shuffle=True)
    cfg["train_cfg"] = dict(type="EpochBasedTrainLoop", max_epochs=1, val_interval=1)
    cfg["param_scheduler"][0]["by_epoch"] = True


@case("loader:epoch-loop-with-infinite-sampler", E("InfiniteSampler"))
def _infinite_epoch(cfg: dict, root: Path) -> None:
    cfg["train_cfg"] = dict(type="EpochBasedTrainLoop", max_epochs=1, val_interval=1)


@case("pipeline:no-PackSegInputs", E("PackSegInputs", "train_dataloader.dataset.pipeline"))
def _no_pack(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"]["dataset"]["pipeline"].pop()


@case("pipeline:val-no-PackSegInputs", E("PackSegInputs", "val_dataloader.dataset.pipeline"))
def _val_no_pack(cfg: dict, root: Path) -> None:
    cfg["val_dataloader"]["dataset"]["pipeline"].pop()


@case("pipeline:no-LoadAnnotations", E("LoadAnnotations"))
def _no_annotations(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"]["dataset"]["pipeline"].pop(1)


@case("pipeline:no-LoadImageFromFile", E("LoadImageFromFile"))
def _no_image(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"]["dataset"]["pipeline"].pop(0)


@case("pipeline:entry-not-a-dict", E("pipeline"))
def _pipeline_entry(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"]["dataset"]["pipeline"][3] = 5


@case("work_dir:is-a-file", E("work_dir"))
def _work_dir_file(cfg: dict, root: Path) -> None:
    path = Path(cfg["work_dir"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a folder")


@case("hooks:default_hooks-trailing-comma", E("default_hooks"))
def _trailing_comma(cfg: dict, root: Path) -> None:
    cfg["default_hooks"] = (cfg["default_hooks"],)


@case("hooks:custom-hook-not-a-hook", E("custom_hooks[0]"))
def _not_a_hook(cfg: dict, root: Path) -> None:
    cfg["custom_hooks"] = [dict(type="IoUMetric")]


@case("ignore_index:dataset-disagrees", E("ignore_index"))
def _dataset_ignore(cfg: dict, root: Path) -> None:
    cfg["train_dataloader"]["dataset"]["ignore_index"] = 0


@case("model:decode-head-list-wrong-length", E("decode_head"))
def _head_list(cfg: dict, root: Path) -> None:
    cfg["model"]["decode_head"] = []


@case("model:aux-head-list-one-wrong", E("auxiliary_head", "num_classes"))
def _aux_list(cfg: dict, root: Path) -> None:
    aux = cfg["model"]["auxiliary_head"]
    cfg["model"]["auxiliary_head"] = [aux, dict(aux, num_classes=4)]


@case("scheduler:list-entry-not-a-dict", E("param_scheduler"))
def _sched_entry(cfg: dict, root: Path) -> None:
    cfg["param_scheduler"] = [5]


@case("scheduler:two-lr-schedulers-overlap-unknown-key", E("by_epch"))
def _sched_two(cfg: dict, root: Path) -> None:
    cfg["param_scheduler"].append(dict(type="LinearLR", start_factor=0.1, by_epch=False))


# Cases written as config files, as users write them (the file's own mistakes).
FILE_CASES: list[tuple[str, str, Expect]] = [
    (
        "file:default_hooks-trailing-comma",
        "default_hooks = dict(logger=dict(type='LoggerHook', interval=1)),\n",
        W(
            "default_hooks", "comma", "config.py"
        ),  # read as the dict, with a warning naming file:line
    ),
    (
        "file:optimizer-beside-optim_wrapper",
        "optimizer = dict(type='SGD', lr=0.5)\n",
        W("optimizer"),
    ),
    ("file:syntax-error", "model = dict(type='EncoderDecoder'\n", E("config.py")),
    (
        "file:unknown-type-line",
        "model['decode_head']['type'] = 'FCNHeadd'\n",
        E("FCNHeadd", "FCNHead"),
    ),
]


def _file_case(text: str) -> Callable[[dict, Path], None]:
    def mutate(cfg: dict, root: Path) -> None:
        cfg["__append__"] = text

    return mutate


for _name, _text, _expect in FILE_CASES:
    CASES.append(Case(_name, _file_case(_text), _expect))


EVAL_CASES: list[tuple[str, Callable[[dict], None], Expect]] = [
    (
        "5-classes-on-2-class-data",
        lambda c: _heads(c, num_classes=5),
        E("num_classes=5", "2 classes"),
    ),
    (
        "aux-3-classes",
        lambda c: c["model"]["auxiliary_head"].update(num_classes=3),
        E("auxiliary_head"),
    ),
    (
        "metric-ignore_index",
        lambda c: c["test_evaluator"].update(ignore_index=0),
        E("ignore_index"),
    ),
    (
        "head-in_channels",
        lambda c: c["model"]["decode_head"].update(in_channels=8),
        E("in_channels"),
    ),
    (
        "no-PackSegInputs",
        lambda c: c["test_dataloader"]["dataset"]["pipeline"].pop(),
        E("PackSegInputs"),
    ),
]
for _name, _edit, _expect in EVAL_CASES:
    for _command in ("test", "val"):
        CASES.append(Case(f"{_command}:{_name}", _evaluating(_edit, _command), _expect, _command))
