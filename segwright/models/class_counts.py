"""Where a built segmentor or detector keeps its ``num_classes``.

Read by the pre-flight checks (every head against the dataset) and by the inference API (the
class names a prediction is labelled with); both sit above the models, so this lives here.
"""

from __future__ import annotations

from typing import Any

from torch import nn


def model_num_classes(model: Any) -> int | None:
    """``num_classes`` of a segmentor (its decode head's), or None when it has none."""
    model = getattr(model, "module", model)
    value = getattr(model, "num_classes", None)
    if value is None:
        value = getattr(getattr(model, "decode_head", None), "num_classes", None)
    return int(value) if isinstance(value, int) else None


def decode_heads(model: Any) -> list[tuple[str, Any]]:
    """``(config key, head)`` of every decode and auxiliary head (lists give ``[i]`` keys)."""
    model = getattr(model, "module", model)
    found = []
    for name in ("decode_head", "auxiliary_head"):
        head = getattr(model, name, None)
        if isinstance(head, nn.ModuleList):
            found += [(f"model.{name}[{i}]", h) for i, h in enumerate(head)]
        elif head is not None:
            found.append((f"model.{name}", head))
    return found


#: The heads of a detector that classify, by their config key under ``model`` (MMDetection's
#: names): each must predict as many classes as the dataset has.
DETECTOR_CLASS_HEADS = ("roi_head.bbox_head", "roi_head.mask_head", "bbox_head")


def detector_num_classes(model: Any) -> list[tuple[str, int]]:
    """``(config key, num_classes)`` of each classifying head of a detector (none for others)."""
    model = getattr(model, "module", model)
    found = []
    for key in DETECTOR_CLASS_HEADS:
        node = model
        for part in key.split("."):
            node = getattr(node, part, None)
        value = getattr(node, "num_classes", None)
        if isinstance(value, int) and not isinstance(value, bool):
            found.append((f"model.{key}.num_classes", value))
    return found
