"""MMSeg 0.x pipelines in 1.x form: Resize, RandomFlip, MultiScaleFlipAug (SPEC §11, §13)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from segwright.config.legacy.common import (
    FORMAT_STEPS,
    _check_keys,
    _is_scale,
    _scales,
    bare_type,
)
from segwright.config.legacy.preprocessor import Normalisation
from segwright.registry import split_scope
from segwright.utils.errors import ConfigError

#: Steps that exist only in 0.x pipelines (``Resize``/``Pad``/``RandomFlip`` exist in both).
_LEGACY_ONLY_STEPS = FORMAT_STEPS | {"Normalize", "MultiScaleFlipAug"}


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
    keep_ratio = bool(step.get("keep_ratio", True))
    scales = _scales(step.get("img_scale"), key)
    min_size = _min_size(step, key, keep_ratio)
    if min_size is not None:
        if scales is None or len(scales) != 1 or step.get("ratio_range") is not None:
            raise ConfigError(
                f"Config key '{key}.min_size': 0.x Resize's min_size is translated for one fixed "
                "img_scale only (a random scale floored at min_size has no 1.x transform). "
                "Remove min_size, or resize with ResizeShortestEdge in the 1.x form."
            )
        return _short_edge_resize(scales[0], min_size)
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


def _min_size(step: Mapping[str, Any], key: str, keep_ratio: bool) -> int | None:
    """0.x ``Resize.min_size`` (read only with ``keep_ratio=True``, as MMSeg 0.30 did)."""
    min_size = step.get("min_size")
    if min_size is None or not keep_ratio:
        return None  # keep_ratio=False: MMSeg 0.30 never read min_size; the caller notes it
    if not isinstance(min_size, int) or isinstance(min_size, bool) or min_size <= 0:
        raise ConfigError(
            f"Config key '{key}.min_size' must be a positive int (MMSeg 0.30 read it as one "
            f"short-edge length), got {min_size!r}."
        )
    return min_size


def _short_edge_resize(scale: tuple[int, int], min_size: int) -> dict[str, Any]:
    """0.30 ``Resize(img_scale=scale, keep_ratio=True, min_size=m)`` as one 1.x transform.

    MMSeg 0.30 then ignored the long edge of ``scale``: it rescaled the image so that its short
    edge is ``max(min(scale), m)``, long edge unbounded, which is ``ResizeShortestEdge``
    without ``max_size`` (the same rounding: ``int(x + 0.5)`` of the exact ratio).
    """
    return dict(type="ResizeShortestEdge", scale=max(min(scale), min_size), max_size=None)


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


def _resize_variants(
    views: _Views, keep_ratio: bool, single: bool, min_size: int | None = None
) -> list[dict[str, Any]]:
    """One Resize per scale (or ratio); ``single``: only the base scale (ratio 1).

    ``min_size`` (0.30 ``Resize.min_size``, needs ``views.scales``): a short-edge resize each.
    """
    if views.scales is not None:
        scales = views.scales
        if single:
            if views.ratios is not None and 1.0 in views.ratios:
                scales = [views.scales[views.ratios.index(1.0)]]
            else:
                scales = scales[:1]
        if min_size is not None:
            return [_short_edge_resize(s, min_size) for s in scales]
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
            if step.get("min_size") is not None:
                notes.append(
                    f"{step_key}: Resize min_size={step['min_size']!r} "
                    + (
                        "-> ResizeShortestEdge (short edge max(min(img_scale), min_size), long "
                        "edge unbounded), as MMSeg 0.30 resized."
                        if out[-1]["type"] == "ResizeShortestEdge"
                        else "dropped: MMSeg 0.30 read it only with keep_ratio=True."
                    )
                )
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
            keep_ratio = bool(sub.get("keep_ratio", True))
            min_size = _min_size(sub, sub_key, keep_ratio)
            if min_size is not None:
                if views.scales is None:
                    raise ConfigError(
                        f"Config key '{sub_key}.min_size': with img_ratios and no img_scale the "
                        "0.x short edge is max(ratio * image short edge, min_size), which no 1.x "
                        "transform computes. Give MultiScaleFlipAug an img_scale, or remove "
                        "min_size."
                    )
                notes.append(
                    f"{sub_key}: Resize(keep_ratio=True, min_size={min_size}) -> "
                    f"ResizeShortestEdge per view (short edge max(min(scale), {min_size}), long "
                    "edge unbounded), as MMSeg 0.30 resized."
                )
            elif sub.get("min_size") is not None:
                notes.append(
                    f"{sub_key}.min_size dropped: MMSeg 0.30 read it only with keep_ratio=True."
                )
            flat.extend(_resize_variants(views, keep_ratio, single=multi, min_size=min_size))
            stages.append(_resize_variants(views, keep_ratio, single=False, min_size=min_size))
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


def translate_pipeline_variable(name: str, steps: Any) -> Any:
    """A top-level ``train_pipeline``/``test_pipeline`` helper variable in its 1.x form."""
    role = "test" if ("test" in name or "val" in name) else "train"
    return translate_pipeline(
        steps, key=name, role=role, norm=Normalisation(), notes=[], with_gt=True
    ).pipeline
