"""Detected instances (boxes, masks, labels, scores) drawn over an image.

Every picture of instances goes through :func:`draw_instances`: ``DetVisualizationHook``,
``segwright demo --task instance``, ``show_result`` and ``segwright infer`` on a detector,
``segwright test --show-dir`` and ``segwright browse-dataset`` on a detection config.

Images are BGR uint8 (OpenCV's order, as datasets load them); palettes are RGB (MMDet's).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch

from segwright.structures import InstanceData
from segwright.utils.palette import get_palette
from segwright.visualization.overlay import as_bgr, display_image
from segwright.visualization.panels import MIN_PANEL_HEIGHT, _title_band
from segwright.visualization.text import Font, font_for, put_text, readable_on


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
    font = font_for(min(canvas.shape[:2]), 1 / 32, smallest=7, largest=14)
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
        _label(canvas, text, x1, y1, colour, font)
    return canvas


def _label(
    canvas: np.ndarray, text: str, x: int, y: int, colour: tuple[int, ...], font: Font
) -> None:
    """``text`` on a box of ``colour`` (BGR) above ``(x, y)``, or just below when no room."""
    width, height = font.size(text)
    width, height = width + 2, height + 2
    top = y - height if y - height >= 0 else max(y, 0)
    left = int(np.clip(x, 0, max(0, canvas.shape[1] - width)))
    cv2.rectangle(canvas, (left, top), (left + width, top + height), colour, -1)
    put_text(canvas, text, (left + 1, top + 1), font, readable_on(colour[::-1]))


def zoom_instances(instances: Any, zoom: int) -> InstanceData:
    """Boxes scaled and masks enlarged ``zoom`` times, for drawing on an image enlarged as much.

    Keeps ``bboxes``, ``labels`` and, when present, ``scores`` and ``masks`` (on the CPU).
    """
    fields = set(instances.keys()) if hasattr(instances, "keys") else set()
    out = InstanceData(
        bboxes=torch.as_tensor(_numpy(instances.bboxes)).reshape(-1, 4).float() * zoom,
        labels=torch.as_tensor(_numpy(instances.labels)),
    )
    if "scores" in fields:
        out.scores = torch.as_tensor(_numpy(instances.scores))
    if "masks" in fields:
        masks = np.asarray(_numpy(instances.masks), dtype=bool)
        out.masks = masks.repeat(zoom, axis=1).repeat(zoom, axis=2)
    return out


def instance_panels(
    image: np.ndarray,
    panels: Sequence[tuple[str, Any]],
    classes: Sequence[str] | None = None,
    palette: Sequence[Sequence[int]] | None = None,
    score_thr: float = 0.3,
    opacity: float = 0.5,
    gap: int = 4,
    min_height: int = MIN_PANEL_HEIGHT,
) -> np.ndarray:
    """Titled copies of ``image`` side by side, each with its instances drawn.

    ``segwright test --show-dir`` draws ``ground truth | prediction``, ``segwright
    browse-dataset`` ``image | ground truth``; each panel through :func:`draw_instances`.

    Args:
        image: BGR (or grey) image at the instances' coordinates.
        panels: ``(title, instances or None)`` per panel; None shows the image alone.
        min_height: Enlarge smaller images (whole-pixel steps) to about this height so labels
            and titles stay readable; 0 never.

    Returns:
        One BGR picture, white between panels and behind the titles.
    """
    if not panels:
        raise ValueError("instance_panels needs at least one (title, instances) panel.")
    base = display_image(image)
    zoom = max(1, math.ceil(min_height / max(1, base.shape[0]))) if min_height else 1
    if zoom > 1:
        base = cv2.resize(base, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    drawn, spans, left = [], [], 0
    for index, (_, instances) in enumerate(panels):
        if index:
            drawn.append(np.full((base.shape[0], gap, 3), 255, dtype=np.uint8))
            left += gap
        if instances is None:
            picture = as_bgr(base)
        else:
            shown = zoom_instances(instances, zoom) if zoom > 1 else instances
            picture = draw_instances(base, shown, classes, palette, score_thr, opacity)
        drawn.append(picture)
        spans.append((left, left + picture.shape[1]))
        left += picture.shape[1]
    row = np.concatenate(drawn, axis=1)
    font = font_for(row.shape[0], 1 / 14, smallest=13, largest=40)
    band = _title_band([title for title, _ in panels], spans, row.shape[1], font)
    return np.ascontiguousarray(np.concatenate([band, row], axis=0))
