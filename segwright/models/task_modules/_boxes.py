"""Box tensors as the task modules see them: (..., 4) ``x1, y1, x2, y2`` in pixels."""

from __future__ import annotations

from typing import Any

import torch


def box_tensor(boxes: Any) -> Any:
    """The plain tensor of ``boxes``: a box-structure object's ``.tensor``, a tensor as is."""
    if not isinstance(boxes, torch.Tensor) and isinstance(
        getattr(boxes, "tensor", None), torch.Tensor
    ):
        return boxes.tensor
    return boxes


def check_boxes(boxes: Any, name: str, owner: str, widths: tuple[int, ...] = (4,)) -> torch.Tensor:
    """Return ``boxes`` as a tensor of shape (..., K), K in ``widths``, or raise a ValueError.

    An empty tensor of another width, e.g. ``torch.empty(0)``, is read as (0, 4).

    Shapes:
        boxes (..., K) -> (..., K); an empty 0-/1-D tensor -> (0, 4).
    """
    boxes = box_tensor(boxes)
    if not isinstance(boxes, torch.Tensor):
        raise ValueError(
            f"{owner}: {name} must be a tensor of boxes (x1, y1, x2, y2), "
            f"got {type(boxes).__name__}."
        )
    if boxes.numel() == 0 and (boxes.dim() < 2 or boxes.size(-1) not in widths):
        return boxes.reshape(0, 4)
    if boxes.dim() < 2 or boxes.size(-1) not in widths:
        expected = " or ".join(str(w) for w in widths)
        raise ValueError(
            f"{owner}: {name} must have shape (..., N, {expected}) with boxes as "
            f"(x1, y1, x2, y2), got shape {tuple(boxes.shape)}."
        )
    return boxes


def instance_field(instances: Any, names: tuple[str, ...], owner: str, role: str) -> Any:
    """The first of ``names`` that ``instances`` has (``.priors`` or ``.bboxes``), else raise."""
    for name in names:
        value = getattr(instances, name, None)
        if value is not None:
            return value
    wanted = " or ".join(f".{n}" for n in names)
    raise ValueError(f"{owner}: {role} must have {wanted}, got {type(instances).__name__}.")
