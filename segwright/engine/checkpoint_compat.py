"""What a checkpoint says about how it was trained, checked against the model and data it meets.

Two mistakes load without a single shape warning, so the load table cannot show them:

* a caffe-style checkpoint (MMDetection's ``*_caffe_*`` models: stride on the first 1x1 conv,
  BGR inputs with mean ``[103.53, 116.28, 123.675]`` and std 1) in a pytorch-style model;
* a checkpoint whose stored class names differ from the dataset's: the dataset's names are
  kept, and the difference is said.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

CAFFE_MEAN = (103.53, 116.28, 123.675)
CAFFE_STD = (1.0, 1.0, 1.0)
_CAFFE_STYLE = re.compile(r"""style\s*=\s*['"]caffe['"]|['"]style['"]\s*:\s*['"]caffe['"]""")
_CAFFE_MEAN = re.compile(r"103\.53\d*\s*,\s*116\.28\d*\s*,\s*123\.675")


def _meta(checkpoint: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = checkpoint.get("meta")
    return meta if isinstance(meta, Mapping) else {}


def caffe_evidence(checkpoint: Mapping[str, Any], filename: str | os.PathLike[str]) -> list[str]:
    """Why ``checkpoint`` looks caffe-style (empty when nothing says so).

    Looks at the file name (MMDetection names caffe models ``*_caffe_*``) and the config text
    MMDetection / MMEngine store in ``meta['config']`` / ``meta['cfg']``.
    """
    evidence = []
    name = Path(str(filename).split("?")[0]).name
    if "caffe" in name.lower():
        evidence.append(f"its file name {name} says caffe")
    meta = _meta(checkpoint)
    text = " ".join(str(meta[k]) for k in ("config", "cfg") if meta.get(k))
    if _CAFFE_STYLE.search(text):
        evidence.append("its stored config sets style='caffe'")
    if _CAFFE_MEAN.search(text):
        evidence.append("its stored config normalises with caffe's mean [103.53, 116.28, 123.675]")
    return evidence


def _values(tensor: Any) -> tuple[float, ...] | None:
    if tensor is None:
        return None
    return tuple(round(float(v), 3) for v in tensor.flatten().tolist())


def pytorch_style_settings(model: nn.Module) -> list[str]:
    """The model's settings that differ from MMDetection's caffe configs (empty: caffe-style)."""
    model = getattr(model, "module", model)
    found = []
    style = getattr(getattr(model, "backbone", None), "style", None)
    if style is not None and style != "caffe":
        found.append(f"model.backbone.style={style!r}")
    pre = getattr(model, "data_preprocessor", None)
    mean, std = _values(getattr(pre, "mean", None)), _values(getattr(pre, "std", None))
    if mean is not None and std is not None and len(mean) == 3:
        if mean != CAFFE_MEAN or std != CAFFE_STD:
            found.append(f"model.data_preprocessor mean={list(mean)}, std={list(std)}")
    if getattr(pre, "channel_conversion", False):
        found.append("model.data_preprocessor.bgr_to_rgb=True")
    return found


def caffe_into_pytorch_warning(
    model: nn.Module, checkpoint: Mapping[str, Any], filename: str | os.PathLike[str]
) -> str | None:
    """A warning when a caffe-style checkpoint meets a pytorch-style model, else None."""
    evidence = caffe_evidence(checkpoint, filename)
    settings = pytorch_style_settings(model) if evidence else []
    if not settings:
        return None
    return (
        f"Checkpoint {Path(str(filename)).name} is caffe-style ({'; '.join(evidence)}), but "
        f"the model is set up pytorch-style ({'; '.join(settings)}). Every shape matches, so it "
        "loads without a warning, yet caffe-style ResNets put the stride on the first 1x1 conv "
        "of a bottleneck (pytorch style: on the 3x3) and take BGR inputs normalised with "
        "mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0]: predictions and fine-tuning start "
        "from misread features. As MMDetection's *_caffe_* configs do, set "
        "model.backbone.style='caffe' and model.data_preprocessor=dict(mean=[103.53, 116.28, "
        "123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False), or load a pytorch-style checkpoint."
    )


def checkpoint_classes(checkpoint: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Class names stored in a checkpoint: ``meta.dataset_meta.classes`` or 2.x ``meta.CLASSES``."""
    meta = _meta(checkpoint)
    dataset_meta = meta.get("dataset_meta")
    dataset_meta = dataset_meta if isinstance(dataset_meta, Mapping) else {}
    for classes in (dataset_meta.get("classes"), dataset_meta.get("CLASSES"), meta.get("CLASSES")):
        if isinstance(classes, Sequence) and not isinstance(classes, str) and classes:
            return tuple(str(c) for c in classes)
    return None


def _shown(classes: Sequence[str], limit: int = 6) -> str:
    """``8 (person, rider, ...)``."""
    names = ", ".join(map(str, list(classes)[:limit]))
    return f"{len(classes)} ({names}{', ...' if len(classes) > limit else ''})"


def classes_differ_message(
    stored: Sequence[str] | None, dataset: Sequence[str] | None, source: str, where: str, kept: str
) -> tuple[bool, str] | None:
    """``(same_count, message)`` when a checkpoint's class names differ from ``dataset``'s.

    Args:
        stored: The checkpoint's class names (None: it stores none).
        dataset: The class names they are compared with.
        source: The checkpoint's name.
        where: What ``dataset`` belongs to, e.g. ``train_dataloader.dataset``.
        kept: A sentence saying which names are used and why.
    """
    if not stored or not dataset or tuple(stored) == tuple(map(str, dataset)):
        return None
    message = (
        f"Checkpoint {Path(source).name} stores class names that differ from the data's: it has "
        f"{_shown(stored)}, {where} has {_shown(dataset)}. {kept}"
    )
    same_count = len(stored) == len(dataset)
    if same_count:
        message += (
            " The counts match, so the class heads loaded: if the two lists name the same "
            "classes in another order, reorder metainfo.classes to the checkpoint's order."
        )
    return same_count, message
