"""MMSeg 0.x ``data=dict(...)``, datasets and pipelines as 1.x dataloaders (SPEC §11, §13).

Part of :mod:`segwright.config.legacy`; the pipelines are in :mod:`.pipelines`. Everything here turns plain dicts into plain dicts that
name types; nothing is built. ``Normalize`` and ``Pad`` leave the pipelines for one
``SegDataPreProcessor`` on the model; ``DefaultFormatBundle``/``ImageToTensor``/``Collect``
become ``PackSegInputs``; ``MultiScaleFlipAug`` becomes a flat test pipeline (plus a
``TestTimeAug`` ``tta_pipeline`` when it had several views); 0.x ``Resize`` becomes
``Resize``/``RandomResize``/``RandomChoiceResize`` drawing the same random numbers.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from segwright.config.legacy.common import _check_keys, bare_type
from segwright.config.legacy.pipelines import translate_pipeline
from segwright.config.legacy.preprocessor import Normalisation
from segwright.registry import split_scope
from segwright.utils.errors import ConfigError

_SPLITS = ("train", "val", "test")
_OVERRIDES = ("train_dataloader", "val_dataloader", "test_dataloader")
_LOADER_KEYS = frozenset(
    {
        "samples_per_gpu",
        "workers_per_gpu",
        "shuffle",
        "seed",
        "drop_last",
        "pin_memory",
        "persistent_workers",
        "num_gpus",
        "dist",
        "prefetch_factor",
        "timeout",
    }
)
_DATASET_KEY_ORDER = (
    "type",
    "data_root",
    "data_prefix",
    "ann_file",
    "img_suffix",
    "seg_map_suffix",
    "metainfo",
    "reduce_zero_label",
    "ignore_index",
    "pipeline",
)


def _with_pipeline(cfg: Any, pipeline: Any) -> Any:
    """Replace the pipeline of every leaf dataset (through wrappers and lists)."""
    if isinstance(cfg, (list, tuple)):
        return [_with_pipeline(c, pipeline) for c in cfg]
    cfg = copy.deepcopy(dict(cfg))
    kind = split_scope(str(cfg.get("type", "")))[1]
    if kind == "RepeatDataset":
        cfg["dataset"] = _with_pipeline(cfg["dataset"], pipeline)
    elif kind == "ConcatDataset":
        cfg["datasets"] = _with_pipeline(cfg["datasets"], pipeline)
    elif pipeline is not None:
        cfg["pipeline"] = copy.deepcopy(pipeline)
    else:
        cfg.pop("pipeline", None)
    return cfg


def find_pipeline(cfg: Any) -> Any:
    """The pipeline of the first leaf dataset (through wrappers and lists), or None."""
    if isinstance(cfg, (list, tuple)):
        return find_pipeline(cfg[0]) if cfg else None
    if not isinstance(cfg, Mapping):
        return None
    kind = split_scope(str(cfg.get("type", "")))[1]
    if kind == "RepeatDataset":
        return find_pipeline(cfg.get("dataset"))
    if kind == "ConcatDataset":
        return find_pipeline(cfg.get("datasets"))
    return cfg.get("pipeline")


@dataclass
class _DatasetContext:
    role: str
    norm: Normalisation
    notes: list[str]
    tta: list[list[Any]] = field(default_factory=list)


def translate_dataset(cfg: Any, key: str, ctx: _DatasetContext) -> Any:
    """A 0.x dataset config (or list, or wrapper) as its 1.x form."""
    if isinstance(cfg, (list, tuple)):
        return dict(
            type="ConcatDataset",
            datasets=[translate_dataset(c, f"{key}[{i}]", ctx) for i, c in enumerate(cfg)],
        )
    name = bare_type(cfg, key)
    cfg = copy.deepcopy(dict(cfg))
    if name == "RepeatDataset":
        _check_keys(cfg, ("times", "dataset"), key, "RepeatDataset")
        return dict(
            type=cfg["type"],
            times=cfg.get("times"),
            dataset=translate_dataset(cfg.get("dataset"), f"{key}.dataset", ctx),
        )
    if name == "ConcatDataset":
        _check_keys(cfg, ("datasets", "separate_eval"), key, "ConcatDataset")
        if "separate_eval" in cfg:
            ctx.notes.append(
                f"{key}.separate_eval dropped: segwright evaluates a ConcatDataset as one."
            )
        return dict(
            type=cfg["type"],
            datasets=[
                translate_dataset(c, f"{key}.datasets[{i}]", ctx)
                for i, c in enumerate(cfg.get("datasets", []))
            ],
        )
    if name == "MultiImageMixDataset":
        raise ConfigError(
            f"Config key '{key}': MultiImageMixDataset (mosaic) is not supported by segwright."
        )
    if isinstance(cfg.get("img_dir"), (list, tuple)):
        return _split_by_dirs(cfg, key, ctx)
    return _translate_leaf(cfg, name, key, ctx)


def _split_by_dirs(cfg: dict[str, Any], key: str, ctx: _DatasetContext) -> dict[str, Any]:
    """``img_dir=[a, b]`` (with matching ``ann_dir``/``split`` lists): one dataset per entry."""
    img_dirs = list(cfg["img_dir"])
    ann_dirs, splits = cfg.get("ann_dir"), cfg.get("split")
    for name, value in (("ann_dir", ann_dirs), ("split", splits)):
        if isinstance(value, (list, tuple)) and len(value) != len(img_dirs):
            raise ConfigError(
                f"Config key '{key}.{name}' has {len(value)} entries but img_dir has "
                f"{len(img_dirs)}; give one per image folder."
            )
    if "separate_eval" in cfg:
        cfg.pop("separate_eval")
        ctx.notes.append(f"{key}.separate_eval dropped: the datasets are evaluated as one.")
    parts = []
    for index, img_dir in enumerate(img_dirs):
        part = dict(cfg, img_dir=img_dir)
        if isinstance(ann_dirs, (list, tuple)):
            part["ann_dir"] = ann_dirs[index]
        if isinstance(splits, (list, tuple)):
            part["split"] = splits[index]
        parts.append(_translate_leaf(part, bare_type(part, key), f"{key}[{index}]", ctx))
    return dict(type="ConcatDataset", datasets=parts)


def _translate_leaf(cfg: dict[str, Any], name: str, key: str, ctx: _DatasetContext) -> dict:
    out: dict[str, Any] = dict(cfg)
    if name == "CustomDataset":
        out["type"] = "BaseSegDataset"
    prefix = dict(out.pop("data_prefix", None) or {})
    if "img_dir" in out:
        prefix["img_path"] = out.pop("img_dir")
    if "ann_dir" in out:
        ann_dir = out.pop("ann_dir")
        if ann_dir is not None:
            prefix["seg_map_path"] = ann_dir
    if prefix:
        out["data_prefix"] = prefix
    if "split" in out:
        split = out.pop("split")
        if split is not None:
            out["ann_file"] = split
    metainfo = dict(out.pop("metainfo", None) or {})
    for old in ("classes", "palette"):
        if old in out:
            value = out.pop(old)
            if value is not None:
                metainfo[old] = value
    if metainfo:
        out["metainfo"] = metainfo
    if "file_client_args" in out:
        out["backend_args"] = out.pop("file_client_args")
    loader_cfg = out.pop("gt_seg_map_loader_cfg", None)
    if loader_cfg:
        ctx.notes.append(
            f"{key}.gt_seg_map_loader_cfg dropped: evaluation reads label maps through the "
            "pipeline's LoadAnnotations (configure it there)."
        )
    if "pipeline" in out:
        # A dataset given its folders has label maps only with ann_dir; a dataset class that
        # finds its own files is assumed to have them.
        with_gt = "seg_map_path" in prefix or "img_path" not in prefix
        result = translate_pipeline(
            out["pipeline"],
            key=f"{key}.pipeline",
            role=ctx.role,
            norm=ctx.norm,
            notes=ctx.notes,
            with_gt=with_gt,
        )
        out["pipeline"] = result.pipeline
        if result.tta_pipeline is not None:
            ctx.tta.append(result.tta_pipeline)
    ordered = {k: out[k] for k in _DATASET_KEY_ORDER if k in out}
    ordered.update((k, v) for k, v in out.items() if k not in ordered)
    return ordered


# -- data -> dataloaders ---------------------------------------------------------------------------


@dataclass
class DataResult:
    """The dataloaders of a 0.x ``data`` dict and what moved elsewhere."""

    train_dataloader: dict[str, Any] | None = None
    val_dataloader: dict[str, Any] | None = None
    test_dataloader: dict[str, Any] | None = None
    workflow_dataloader: dict[str, Any] | None = None
    data_preprocessor: dict[str, Any] | None = None
    tta_pipeline: list[Any] | None = None


def _loader_args(
    cfg: Mapping[str, Any], key: str, notes: list[str], dropped: set[str]
) -> dict[str, Any]:
    for name in ("samples_per_gpu", "workers_per_gpu"):
        if name not in cfg:
            raise ConfigError(
                f"Config key 'data.{name}' is missing for {key} (MMSeg 0.x requires it). Add "
                "e.g. data=dict(samples_per_gpu=2, workers_per_gpu=2, train=..., val=..., ...)."
            )
    workers = int(cfg["workers_per_gpu"])
    out: dict[str, Any] = dict(batch_size=cfg["samples_per_gpu"], num_workers=workers)
    # MMSeg 0.x keeps workers alive between epochs by default.
    if workers > 0 and cfg.get("persistent_workers", True):
        out["persistent_workers"] = True
    for name in ("pin_memory", "prefetch_factor", "timeout"):
        if name in cfg:
            out[name] = cfg[name]
    for name in ("seed", "num_gpus", "dist"):
        if name in cfg and name not in dropped:
            dropped.add(name)
            notes.append(
                f"data.{name} dropped: samplers take the run's seed; distribution comes from "
                "the launcher."
            )
    return out


def translate_data(
    data: Any, *, iter_based: bool, workflow_val: bool, notes: list[str]
) -> DataResult:
    """Build the 1.x dataloader configs from a 0.x ``data`` dict.

    Args:
        data: ``dict(samples_per_gpu, workers_per_gpu, train, val, test, train_dataloader,
            val_dataloader, test_dataloader, <other DataLoader options>)``.
        iter_based: The run is iteration-based: the train sampler is an ``InfiniteSampler``.
        workflow_val: Also build the loader of a ``('val', n)`` workflow phase: ``data.val``
            with the train pipeline and the train loader settings (as MMSeg's tools/train.py).
        notes: Receives a line for every change of meaning.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"Config key 'data' must be a dict, got {type(data).__name__}.")
    common = {k: v for k, v in data.items() if k not in _SPLITS + _OVERRIDES}
    unknown = sorted(set(common) - _LOADER_KEYS)
    if unknown:
        raise ConfigError(
            f"Config key 'data' has key(s) {unknown} that are neither datasets (train, val, "
            "test), loader overrides (train_dataloader, ...) nor DataLoader settings "
            f"({', '.join(sorted(_LOADER_KEYS))})."
        )
    overrides = {}
    for name in _OVERRIDES:
        value = data.get(name) or {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"Config key 'data.{name}' must be a dict, got {value!r}.")
        bad = sorted(set(value) - _LOADER_KEYS)
        if bad:
            raise ConfigError(
                f"Config key 'data.{name}' has unknown key(s) {bad}; accepted: "
                f"{', '.join(sorted(_LOADER_KEYS))}."
            )
        overrides[name] = dict(value)
    norm = Normalisation()
    result = DataResult()
    dropped: set[str] = set()
    tta: list[list[Any]] = []

    train_cfg = {"drop_last": True, **common, **overrides["train_dataloader"]}
    train_args = None
    if data.get("train") is not None:
        ctx = _DatasetContext("train", norm, notes)
        dataset = translate_dataset(data["train"], "data.train", ctx)
        train_args = _loader_args(train_cfg, "the train loader", notes, dropped)
        shuffle = bool(train_cfg.get("shuffle", True))
        if iter_based:
            train_args["sampler"] = dict(type="InfiniteSampler", shuffle=shuffle)
            if "drop_last" in common or "drop_last" in overrides["train_dataloader"]:
                notes.append(
                    "data drop_last dropped: an InfiniteSampler never ends an epoch early."
                )
        else:
            train_args["sampler"] = dict(type="DefaultSampler", shuffle=shuffle)
            train_args["drop_last"] = bool(train_cfg["drop_last"])
        result.train_dataloader = {**train_args, "dataset": dataset}

    for split in ("val", "test"):
        if data.get(split) is None:
            continue
        ctx = _DatasetContext("test", norm, notes, tta)
        dataset = translate_dataset(data[split], f"data.{split}", ctx)
        cfg = {**common, "samples_per_gpu": 1, "shuffle": False, **overrides[f"{split}_dataloader"]}
        args = _loader_args(cfg, f"the {split} loader", notes, dropped)
        args["sampler"] = dict(type="DefaultSampler", shuffle=bool(cfg.get("shuffle", False)))
        setattr(result, f"{split}_dataloader", {**args, "dataset": dataset})

    if workflow_val:
        if data.get("val") is None or train_args is None:
            raise ConfigError(
                "workflow has a ('val', n) phase, which computes losses on data.val with the "
                "train pipeline; the config needs both data.train and data.val."
            )
        val_with_train_pipeline = _with_pipeline(data["val"], find_pipeline(data["train"]))
        ctx = _DatasetContext("train", norm, notes)
        dataset = translate_dataset(val_with_train_pipeline, "data.val (train pipeline)", ctx)
        result.workflow_dataloader = {**copy.deepcopy(train_args), "dataset": dataset}

    result.data_preprocessor = norm.to_dict()
    result.tta_pipeline = tta[-1] if tta else None  # the test split's, when both have one
    return result
