"""Detected instances (boxes, masks, labels, scores) drawn over an image.

Images are BGR uint8 (OpenCV's order, as datasets load them); palettes are RGB (MMDet's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from segwright.visualization.overlay import as_bgr
from segwright.visualization.palette import get_palette


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "to_ndarray"):  # BitmapMasks / PolygonMasks
        return value.to_ndarray()
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def draw_instances(
    image: np.ndarray,
    instances: Any,
    classes: Sequence[str] | None = None,
    palette: Sequence[Sequence[int]] | None = None,
    score_thr: float = 0.3,
    opacity: float = 0.5,
) -> np.ndarray:
    """``image`` with each instance's mask blended in and its box and ``label score`` drawn.

    Args:
        image: ``(H, W, 3)`` BGR uint8 (or grey) image at the instances' coordinates.
        instances: An ``InstanceData`` with ``bboxes`` and ``labels``, and optionally ``scores``
            (instances below ``score_thr`` are left out) and ``masks``.
        classes: Class names for the labels (ids are written when missing).
        palette: RGB colours per class (a generated palette when missing).
        score_thr: Lowest score drawn.
        opacity: The masks' weight in the blend.

    Shapes:
        bboxes ``(N, 4)`` as ``x1, y1, x2, y2``; masks ``(N, H, W)``.
    """
    canvas = as_bgr(image).copy()
    fields = set(instances.keys()) if hasattr(instances, "keys") else set()
    if "bboxes" not in fields or "labels" not in fields:
        return canvas
    labels = _numpy(instances.labels).astype(np.int64)
    keep = np.ones(len(labels), dtype=bool)
    scores = _numpy(instances.scores) if "scores" in fields else None
    if scores is not None:
        keep = scores >= score_thr
    count = max(len(classes or ()), int(labels.max()) + 1 if len(labels) else 1)
    colours = get_palette(palette, count)[:, ::-1].astype(np.uint8)  # RGB -> BGR
    if "masks" in fields and keep.any():
        masks = _numpy(instances.masks)[keep].astype(bool)
        painted = canvas.copy()
        for mask, label in zip(masks, labels[keep]):
            if mask.shape == canvas.shape[:2]:
                painted[mask] = colours[label]
        canvas = cv2.addWeighted(canvas, 1.0 - opacity, painted, opacity, 0.0)
    boxes = _numpy(instances.bboxes)
    for index in np.flatnonzero(keep):
        colour = tuple(int(c) for c in colours[labels[index]])
        x1, y1, x2, y2 = (int(round(float(v))) for v in boxes[index])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 1)
        name = (
            classes[labels[index]]
            if classes and labels[index] < len(classes)
            else str(labels[index])
        )
        text = name if scores is None else f"{name} {scores[index]:.2f}"
        cv2.putText(canvas, text, (x1, max(y1 - 2, 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.35, colour, 1)
    return canvas
