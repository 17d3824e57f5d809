"""MMSeg 0.x ``data=dict(...)``, datasets and pipelines as 1.x dataloaders (SPEC §11, §13).

Part of :mod:`segwright.config.legacy`. Everything here turns plain dicts into plain dicts that
name types; nothing is built. ``Normalize`` and ``Pad`` leave the pipelines for one
``SegDataPreProcessor`` on the model; ``DefaultFormatBundle``/``ImageToTensor``/``Collect``
become ``PackSegInputs``; ``MultiScaleFlipAug`` becomes a flat test pipeline (plus a
``TestTimeAug`` ``tta_pipeline`` when it had several views); 0.x ``Resize`` becomes
``Resize``/``RandomResize``/``RandomChoiceResize`` drawing the same random numbers.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from segwright.registry import split_scope
from segwright.utils.errors import ConfigError

#: 0.x steps that only formatted the sample; one ``PackSegInputs`` replaces them all.
FORMAT_STEPS = frozenset(
    {"DefaultFormatBundle", "ImageToTensor", "ToTensor", "Transpose", "ToDataContainer", "Collect"}
)
#: Steps that exist only in 0.x pipelines (``Resize``/``Pad``/``RandomFlip`` exist in both).
_LEGACY_ONLY_STEPS = FORMAT_STEPS | {"Normalize", "MultiScaleFlipAug"}
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


def bare_type(cfg: Any, key: str) -> str:
    """The ``type`` of a config dict without an ``mmseg.``-style scope prefix."""
    if not isinstance(cfg, Mapping) or "type" not in cfg:
        raise ConfigError(f"Config key '{key}' must be a dict with a 'type', got {cfg!r}.")
    kind = cfg["type"]
    if not isinstance(kind, str):
        raise ConfigError(f"Config key '{key}.type' must be a name, got {kind!r}.")
    return split_scope(kind)[1]


def _check_keys(cfg: Mapping[str, Any], allowed: Sequence[str], key: str, what: str) -> None:
    unknown = sorted(str(k) for k in cfg if k not in allowed and k != "type")
    if unknown:
        raise ConfigError(
            f"Config key '{key}' ({what}) has argument(s) {unknown} that segwright cannot "
            f"translate. Accepted: {', '.join(allowed)}. Remove them, or write the 1.x form."
        )


def _pair(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _is_scale(value: Any) -> bool:
    """A single ``(w, h)``: two numbers (a list after JSON/YAML, a tuple in Python)."""
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def _scales(value: Any, key: str) -> list[tuple[int, int]] | None:
    """0.x ``img_scale``: None, one ``(w, h)`` or a list of them."""
    if value is None:
        return None
    if _is_scale(value):
        return [tuple(value)]  # type: ignore[list-item]
    if isinstance(value, (list, tuple)) and value and all(_is_scale(s) for s in value):
        return [tuple(s) for s in value]
    raise ConfigError(
        f"Config key '{key}.img_scale' must be (w, h) or a list of (w, h), got {value!r}."
    )


# -- the data preprocessor that Normalize and Pad move into -------------------------------------


class Normalisation:
    """Collects every pipeline's ``Normalize`` and ``Pad`` into one ``SegDataPreProcessor``.

    One preprocessor serves every split, so the splits must agree; training ``Pad`` gives
    ``size``/``size_divisor``, a test ``Pad`` gives ``test_cfg``.
    """

    def __init__(self) -> None:
        self.normalize: dict[str, Any] | None = None
        self.normalize_key = ""
        self.pads: dict[str, tuple[dict[str, Any], str]] = {}
        self.used = False

    def add_normalize(self, step: Mapping[str, Any], key: str) -> None:
        _check_keys(step, ("mean", "std", "to_rgb"), key, "Normalize")
        if "mean" not in step or "std" not in step:
            raise ConfigError(f"Config key '{key}' (Normalize) needs mean and std.")
        args = dict(
            mean=list(step["mean"]), std=list(step["std"]), to_rgb=bool(step.get("to_rgb", True))
        )
        if self.normalize is None:
            self.normalize, self.normalize_key = args, key
        elif self.normalize != args:
            raise ConfigError(
                f"Config key '{key}': Normalize({args}) differs from '{self.normalize_key}' "
                f"({self.normalize}). segwright normalises in model.data_preprocessor, one for "
                "every split; make the pipelines' Normalize steps equal."
            )

    def add_pad(self, step: Mapping[str, Any], key: str, role: str) -> None:
        _check_keys(step, ("size", "size_divisor", "pad_val", "seg_pad_val"), key, "Pad")
        size, divisor = step.get("size"), step.get("size_divisor")
        if (size is None) == (divisor is None):
            raise ConfigError(
                f"Config key '{key}' (Pad) needs exactly one of size=(h, w) and size_divisor."
            )
        args = dict(
            size=None if size is None else tuple(_pair(size)),
            size_divisor=divisor,
            pad_val=step.get("pad_val", 0),
            seg_pad_val=step.get("seg_pad_val", 255),
        )
        if role in self.pads and self.pads[role][0] != args:
            raise ConfigError(
                f"Config key '{key}': Pad({args}) differs from '{self.pads[role][1]}' "
                f"({self.pads[role][0]}); all {role} pipelines must pad alike (the padding moves "
                "into model.data_preprocessor)."
            )
        self.pads[role] = (args, key)
        values = {r: (p["pad_val"], p["seg_pad_val"]) for r, (p, _) in self.pads.items()}
        if len(set(values.values())) > 1:
            raise ConfigError(
                f"Config key '{key}': the train and test Pad steps use different pad_val / "
                f"seg_pad_val {values}; model.data_preprocessor has one of each. Make them equal."
            )

    def to_dict(self) -> dict[str, Any] | None:
        """The ``SegDataPreProcessor`` config, or None when no 0.x pipeline was seen."""
        if not self.used:
            return None
        out: dict[str, Any] = dict(type="SegDataPreProcessor")
        if self.normalize is not None:
            out.update(
                mean=self.normalize["mean"],
                std=self.normalize["std"],
                bgr_to_rgb=self.normalize["to_rgb"],
            )
        pad_val, seg_pad_val = 0, 255  # MMCV's collate pads images with 0 and labels with 255
        train_pad = self.pads.get("train", (None, ""))[0]
        test_pad = self.pads.get("test", (None, ""))[0]
        for pad in (train_pad, test_pad):
            if pad is not None:
                pad_val, seg_pad_val = pad["pad_val"], pad["seg_pad_val"]
        out.update(pad_val=pad_val, seg_pad_val=seg_pad_val)
        if train_pad is not None:
            if train_pad["size"] is not None:
                out["size"] = train_pad["size"]
            else:
                out["size_divisor"] = train_pad["size_divisor"]
        if test_pad is not None:
            out["test_cfg"] = (
                dict(size=test_pad["size"])
                if test_pad["size"] is not None
                else dict(size_divisor=test_pad["size_divisor"])
            )
        return out


# -- pipelines -------------------------------------------------------------------------------------


def is_legacy_pipeline(steps: Any) -> bool:
    """Whether a list of transforms is written in 0.x form (formatting, Normalize, MSFA...)."""
    if not isinstance(steps, (list, tuple)):
        return False
    for step in steps:
        if not isinstance(step, Mapping) or not isinstance(step.get("type"), str):
            continue
        name = split_scope(step["type"])[1]
        if name in _LEGACY_ONLY_STEPS:
            return True
        if name == "Resize" and {"img_scale", "multiscale_mode", "ratio_range"} & set(step):
            return True
        if name == "RandomFlip" and "flip_ratio" in step:
            return True
    return False


def _loading_step(step: Mapping[str, Any]) -> dict[str, Any]:
    """``file_client_args`` is MMCV 2.x's ``backend_args`` (LoadAnnotations takes only that)."""
    out = dict(step)
    if "file_client_args" in out:
        out["backend_args"] = out.pop("file_client_args")
    return out


def _resize_step(step: Mapping[str, Any], key: str) -> dict[str, Any]:
    """0.x ``Resize`` (``keep_ratio=True`` by default) with the random draws of MMSeg 0.30."""
    _check_keys(
        step,
        ("img_scale", "multiscale_mode", "ratio_range", "keep_ratio", "min_size"),
        key,
        "Resize",
    )
    if step.get("min_size") is not None:
        raise ConfigError(
            f"Config key '{key}.min_size': 0.x Resize's min_size has no 1.x equivalent. Remove "
            "it, or resize with ResizeShortestEdge in the 1.x form."
        )
    keep_ratio = bool(step.get("keep_ratio", True))
    scales = _scales(step.get("img_scale"), key)
    mode = step.get("multiscale_mode", "range")
    ratio_range = step.get("ratio_range")
    if ratio_range is not None:
        if scales is None:
            raise ConfigError(
                f"Config key '{key}': Resize with ratio_range and no img_scale scales each image "
                "from its own size, which 1.x transforms cannot express. Give img_scale=(w, h)."
            )
        if len(scales) != 1:
            raise ConfigError(
                f"Config key '{key}': Resize with ratio_range needs exactly one img_scale "
                f"(MMSeg asserts it), got {len(scales)}."
            )
        return dict(
            type="RandomResize",
            scale=scales[0],
            ratio_range=tuple(ratio_range),
            keep_ratio=keep_ratio,
        )
    if scales is None:
        raise ConfigError(
            f"Config key '{key}': Resize without img_scale works only inside "
            "MultiScaleFlipAug. Give img_scale=(w, h)."
        )
    if len(scales) == 1:
        return dict(type="Resize", scale=scales[0], keep_ratio=keep_ratio)
    if mode == "range":
        if len(scales) != 2:
            raise ConfigError(
                f"Config key '{key}': multiscale_mode='range' needs exactly two img_scale bounds, "
                f"got {len(scales)}. Use multiscale_mode='value' to pick one of several scales."
            )
        # MMSeg draws the long edge between the bounds' long edges, then the short edge:
        # RandomResize draws w then h, so write each bound as (long, short).
        return dict(
            type="RandomResize",
            scale=[(max(s), min(s)) for s in scales],
            keep_ratio=keep_ratio,
        )
    if mode == "value":
        return dict(type="RandomChoiceResize", scales=list(scales), keep_ratio=keep_ratio)
    raise ConfigError(
        f"Config key '{key}.multiscale_mode' must be 'range' or 'value', got {mode!r}."
    )


def _flip_step(step: Mapping[str, Any], key: str) -> dict[str, Any]:
    _check_keys(step, ("prob", "flip_ratio", "direction"), key, "RandomFlip")
    if "prob" in step and "flip_ratio" in step:
        raise ConfigError(
            f"Config key '{key}' sets both prob and its deprecated alias flip_ratio; keep prob."
        )
    prob = step.get("prob", step.get("flip_ratio"))
    if prob is None:
        raise ConfigError(
            f"Config key '{key}': RandomFlip needs prob=... outside MultiScaleFlipAug "
            "(MMSeg 0.x would fail on it too)."
        )
    return dict(type="RandomFlip", prob=prob, direction=step.get("direction", "horizontal"))


@dataclass
class PipelineResult:
    """A translated pipeline, and its multi-view form when ``MultiScaleFlipAug`` had several."""

    pipeline: list[Any]
    tta_pipeline: list[Any] | None = None


@dataclass
class _Views:
    """What one ``MultiScaleFlipAug`` asks for."""

    scales: list[tuple[int, int]] | None
    ratios: list[float] | None
    flip: bool
    directions: list[str]

    @property
    def count(self) -> int:
        n = len(self.scales) if self.scales is not None else len(self.ratios or [])
        return n * (2 if self.flip else 1)


def _views(step: Mapping[str, Any], key: str) -> _Views:
    _check_keys(
        step,
        ("img_scale", "img_ratios", "flip", "flip_direction", "transforms"),
        key,
        "MultiScaleFlipAug",
    )
    ratios = step.get("img_ratios")
    if ratios is not None and not isinstance(ratios, (list, tuple)):
        ratios = [ratios]
    img_scale = step.get("img_scale")
    if ratios is not None:
        if img_scale is None:
            scales = None
        elif _is_scale(img_scale):
            scales = [(int(img_scale[0] * r), int(img_scale[1] * r)) for r in ratios]
        else:
            raise ConfigError(
                f"Config key '{key}': with img_ratios, img_scale must be one (w, h) or None."
            )
    else:
        scales = _scales(img_scale, key)
        if scales is None:
            raise ConfigError(
                f"Config key '{key}': MultiScaleFlipAug needs img_scale or img_ratios."
            )
    directions = step.get("flip_direction", "horizontal")
    directions = list(directions) if isinstance(directions, (list, tuple)) else [directions]
    return _Views(
        scales=scales,
        ratios=None if ratios is None else [float(r) for r in ratios],
        flip=bool(step.get("flip", False)),
        directions=directions,
    )


def _resize_variants(views: _Views, keep_ratio: bool, single: bool) -> list[dict[str, Any]]:
    """One Resize per scale (or ratio); ``single``: only the base scale (ratio 1)."""
    if views.scales is not None:
        scales = views.scales
        if single:
            if views.ratios is not None and 1.0 in views.ratios:
                scales = [views.scales[views.ratios.index(1.0)]]
            else:
                scales = scales[:1]
        return [dict(type="Resize", scale=s, keep_ratio=keep_ratio) for s in scales]
    ratios = [1.0] if single else list(views.ratios or [])
    return [dict(type="Resize", scale_factor=r, keep_ratio=keep_ratio) for r in ratios]


def translate_pipeline(
    steps: Any,
    *,
    key: str,
    role: str,
    norm: Normalisation,
    notes: list[str],
    with_gt: bool = True,
) -> PipelineResult:
    """Turn a 0.x pipeline into the 1.x one (a 1.x-style list passes through unchanged).

    Args:
        steps: The transform dicts.
        key: Config key of the list, for messages (``data.train.pipeline``).
        role: ``'train'`` or ``'test'`` (val and test): test pipelines load the label map last,
            at its original size, as 1.x evaluation needs.
        norm: Collects Normalize/Pad for the data preprocessor.
        notes: Receives a line for every change of meaning.
        with_gt: The dataset has label maps (test pipelines then load them).
    """
    if not isinstance(steps, (list, tuple)):
        raise ConfigError(f"Config key '{key}' must be a list of transforms, got {steps!r}.")
    if not is_legacy_pipeline(steps):
        return PipelineResult(copy.deepcopy(list(steps)))
    norm.used = True
    out: list[Any] = []
    tta: list[Any] | None = None
    packed = False
    tail = ""  # the first step that moved into the preprocessor or formatted the sample
    load_ann: dict[str, Any] | None = None
    for index, step in enumerate(steps):
        step_key = f"{key}[{index}]"
        name = bare_type(step, step_key)
        if tail and name not in FORMAT_STEPS | {"Normalize", "Pad"}:
            raise ConfigError(
                f"Config key '{step_key}': {name} comes after {tail}, which segwright runs "
                "after the whole pipeline (Normalize and Pad move into model.data_preprocessor, "
                f"formatting into PackSegInputs). Move {name} before {tail}."
            )
        if name == "Normalize":
            norm.add_normalize(step, step_key)
            tail = tail or name
        elif name == "Pad":
            norm.add_pad(step, step_key, role)
            tail = tail or name
        elif name in FORMAT_STEPS:
            meta_keys = step.get("meta_keys") if name == "Collect" else None
            if meta_keys is not None:
                notes.append(
                    f"{step_key}: Collect meta_keys dropped; PackSegInputs stores its own "
                    "metadata (img_path, ori_shape, img_shape, scale_factor, flip, ...)."
                )
            tail = tail or name
            packed = True
        elif name == "MultiScaleFlipAug":
            if role != "test":
                raise ConfigError(
                    f"Config key '{step_key}': MultiScaleFlipAug belongs in val/test pipelines."
                )
            flat, multi = _translate_msfa(step, step_key, norm, notes)
            if multi is not None:
                tta = [*copy.deepcopy(out), multi]
            out.extend(flat)
            packed = True
            tail = name
        elif name == "LoadAnnotations":
            if role == "test":
                load_ann = _loading_step(step)  # placed last: 1.x evaluates at original size
            else:
                out.append(_loading_step(step))
        elif name == "LoadImageFromFile":
            out.append(_loading_step(step))
        elif name == "Resize":
            out.append(_resize_step(step, step_key))
        elif name == "RandomFlip":
            out.append(_flip_step(step, step_key))
        else:
            out.append(copy.deepcopy(dict(step)))
    if not packed:
        notes.append(f"{key}: ends without Collect; PackSegInputs appended.")
    tail_steps: list[Any] = []
    if role == "test" and with_gt:
        tail_steps.append(load_ann or dict(type="LoadAnnotations"))
    elif load_ann is not None:
        notes.append(f"{key}: LoadAnnotations dropped: the dataset has no ann_dir.")
    tail_steps.append(dict(type="PackSegInputs"))
    if tta is not None:
        last = tta[-1]
        last["transforms"].extend([[copy.deepcopy(s)] for s in tail_steps])
    return PipelineResult(out + tail_steps, tta)


def _translate_msfa(
    step: Mapping[str, Any], key: str, norm: Normalisation, notes: list[str]
) -> tuple[list[Any], dict[str, Any] | None]:
    """The flat single-view steps, and a ``TestTimeAug`` when the step had several views."""
    views = _views(step, key)
    inner = step.get("transforms", [])
    if not isinstance(inner, (list, tuple)):
        raise ConfigError(f"Config key '{key}.transforms' must be a list of transforms.")
    multi = views.count > 1
    flat: list[Any] = []
    stages: list[list[Any]] = []
    for index, sub in enumerate(inner):
        sub_key = f"{key}.transforms[{index}]"
        name = bare_type(sub, sub_key)
        if name == "Normalize":
            norm.add_normalize(sub, sub_key)
        elif name == "Pad":
            norm.add_pad(sub, sub_key, "test")
        elif name in FORMAT_STEPS:
            continue
        elif name == "Resize":
            _check_keys(
                sub,
                ("img_scale", "multiscale_mode", "ratio_range", "keep_ratio", "min_size"),
                sub_key,
                "Resize",
            )
            if sub.get("min_size") is not None:
                raise ConfigError(f"Config key '{sub_key}.min_size' has no 1.x equivalent.")
            keep_ratio = bool(sub.get("keep_ratio", True))
            flat.extend(_resize_variants(views, keep_ratio, single=multi))
            stages.append(_resize_variants(views, keep_ratio, single=False))
        elif name == "RandomFlip":
            if views.flip:
                stages.append(
                    [dict(type="RandomFlip", prob=0.0, direction=views.directions[0])]
                    + [dict(type="RandomFlip", prob=1.0, direction=d) for d in views.directions]
                )
        elif name == "LoadAnnotations":
            raise ConfigError(
                f"Config key '{sub_key}': load annotations outside MultiScaleFlipAug, before it."
            )
        else:
            sub_out = _loading_step(sub) if name.startswith("Load") else copy.deepcopy(dict(sub))
            flat.append(sub_out)
            stages.append([copy.deepcopy(sub_out)])
    if not multi:
        return flat, None
    notes.append(
        f"{key}: MultiScaleFlipAug with {views.count} views -> a single-view test pipeline "
        "(base scale, no flip), as MMSeg 1.x configs have; the multi-scale/flip form is kept "
        "as tta_pipeline (TestTimeAug) with tta_model=dict(type='SegTTAModel'). MMSeg 0.x "
        "averaged all views during val/test."
    )
    if views.scales is None:
        notes.append(
            f"{key}: img_ratios without img_scale -> Resize(scale_factor=r, keep_ratio=True); "
            "0.x resized to (int(w*r), int(h*r)), which can differ by one pixel."
        )
    if views.flip and len(views.directions) > 1:
        notes.append(
            f"{key}: MMSeg 0.x repeated the unflipped view once per flip direction; "
            "tta_pipeline has it once."
        )
    return flat, dict(type="TestTimeAug", transforms=stages)


# -- datasets --------------------------------------------------------------------------------------


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


def translate_pipeline_variable(name: str, steps: Any) -> Any:
    """A top-level ``train_pipeline``/``test_pipeline`` helper variable in its 1.x form."""
    role = "test" if ("test" in name or "val" in name) else "train"
    return translate_pipeline(
        steps, key=name, role=role, norm=Normalisation(), notes=[], with_gt=True
    ).pipeline
