"""Titled ``image | ground truth | prediction`` panels with a colour legend underneath.

Every picture of predictions goes through :func:`prediction_grid`: ``segwright demo``'s
``predictions.png``, ``segwright test --show-dir``, ``SegVisualizationHook``, ``segwright
infer`` overlays and ``show_result``, so they share colours, titles and legend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from segwright.utils.palette import get_palette
from segwright.visualization.labels import draw_class_labels
from segwright.visualization.legend import draw_legend, legend_entries
from segwright.visualization.overlay import as_bgr, overlay_mask
from segwright.visualization.text import Font, font_for, put_text

#: Panels lower than this are enlarged (whole-pixel steps, nearest neighbour) so text fits.
MIN_PANEL_HEIGHT = 192
IMAGE_TITLE, TRUTH_TITLE, PREDICTION_TITLE = "image", "ground truth", "prediction"
_MISSING_BGR = (235, 235, 235)  # a truth panel for a row without ground truth

Row = tuple[np.ndarray, "np.ndarray | None", np.ndarray]


def prediction_grid(
    rows: Sequence[Row],
    palette: Sequence[Sequence[int]] | None = None,
    classes: Sequence[str] | None = None,
    num_classes: int | None = None,
    opacity: float = 0.6,
    gap: int = 4,
    titles: bool | Sequence[str] = True,
    legend: bool = True,
    show_image: bool = True,
    with_labels: bool = False,
    min_height: int = MIN_PANEL_HEIGHT,
    ignore_index: int = 255,
) -> np.ndarray:
    """Rows of ``image | ground truth | prediction`` under column titles, with a legend below.

    The truth column appears when some row has a truth; the image column when ``show_image``.
    Masks are blended over the image with ``opacity``; ignored pixels are white.

    Args:
        rows: ``(image, truth or None, prediction)``: a BGR (or grey) image and class-id maps.
        palette: RGB colours; None (or MMSeg's random fallback) uses the automatic palette.
        classes: Class names for the legend and labels; None writes ``class <id>``.
        num_classes: Number of classes when ``classes`` is None.
        titles: True for the default column titles, False for none, or one title per column.
        legend: Add the colour legend (all classes when few, else those in the masks).
        with_labels: Write class names on the regions of the painted masks.
        min_height: Enlarge smaller rows to about this height so text stays readable; 0 never.

    Returns:
        One BGR picture, white between panels.
    """
    if not rows:
        raise ValueError("prediction_grid needs at least one (image, truth, prediction) row.")
    masks = [np.asarray(m).squeeze() for row in rows for m in row[1:] if m is not None]
    total = len(classes) if classes is not None else (num_classes or 0)
    valid_ids = [int(m[m != ignore_index].max()) + 1 for m in masks if (m != ignore_index).any()]
    colours = get_palette(palette, max([total, *valid_ids]))
    with_truth = any(row[1] is not None for row in rows)

    painted = [
        _paint_row(
            row,
            colours,
            classes,
            opacity,
            gap,
            with_truth,
            show_image,
            with_labels,
            min_height,
            ignore_index,
        )
        for row in rows
    ]
    width = max(row.shape[1] for row, _ in painted)
    font = font_for(painted[0][0].shape[0], 1 / 14, smallest=13, largest=40)
    parts: list[np.ndarray] = []
    if titles is not False:
        names = list(titles) if titles is not True else _default_titles(with_truth, show_image)
        parts.append(_title_band(names, painted[0][1], width, font))
    for index, (row, _) in enumerate(painted):
        if index:
            parts.append(np.full((gap, width, 3), 255, dtype=np.uint8))
        parts.append(_pad_right(row, width))
    if legend:
        entries = legend_entries(masks, colours, classes, total or None, ignore_index)
        parts.append(draw_legend(entries, width, Font(max(12, round(font.height * 0.85)))))
    return np.ascontiguousarray(np.concatenate(parts, axis=0))


def side_by_side(
    image: np.ndarray,
    truth: np.ndarray | None,
    prediction: np.ndarray,
    palette: Sequence[Sequence[int]] | None = None,
    num_classes: int | None = None,
    opacity: float = 0.6,
    gap: int = 4,
    classes: Sequence[str] | None = None,
    titles: bool | Sequence[str] = True,
    legend: bool = True,
    min_height: int = MIN_PANEL_HEIGHT,
) -> np.ndarray:
    """``image | ground truth | prediction`` (truth left out when None), titled, with legend.

    One row of :func:`prediction_grid`; see there for the arguments.
    """
    return prediction_grid(
        [(image, truth, prediction)],
        palette,
        classes,
        num_classes,
        opacity,
        gap,
        titles=titles,
        legend=legend,
        min_height=min_height,
    )


def _default_titles(with_truth: bool, show_image: bool) -> list[str]:
    names = [IMAGE_TITLE] if show_image else []
    return [*names, TRUTH_TITLE, PREDICTION_TITLE] if with_truth else [*names, PREDICTION_TITLE]


def _paint_row(
    row: Row,
    colours: np.ndarray,
    classes: Sequence[str] | None,
    opacity: float,
    gap: int,
    with_truth: bool,
    show_image: bool,
    with_labels: bool,
    min_height: int,
    ignore_index: int,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """One row of panels and each panel's ``(left, right)`` columns."""
    image, truth, prediction = row
    image = as_bgr(image)
    prediction = np.asarray(prediction).squeeze()
    height, width = prediction.shape
    if image.shape[:2] != (height, width):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    factor = math.ceil(min_height / height) if 0 < height < min_height else 1
    if factor > 1:
        image = _enlarge(image, factor)
    panels = [image] if show_image else []
    for mask in ([truth] if with_truth else []) + [prediction]:
        if mask is None:
            panels.append(np.full_like(image, _MISSING_BGR))
            continue
        mask = np.asarray(mask).squeeze()
        if mask.shape != (height, width):
            rows_at = np.arange(height) * mask.shape[0] // height  # nearest neighbour, any dtype
            mask = mask[rows_at][:, np.arange(width) * mask.shape[1] // width]
        mask = _enlarge(mask, factor)
        panel = overlay_mask(image, mask, colours, opacity, len(colours), ignore_index)
        if with_labels:
            draw_class_labels(panel, mask, colours, classes, ignore_index)
        panels.append(panel)
    spacer = np.full((image.shape[0], gap, 3), 255, dtype=np.uint8)
    pieces: list[np.ndarray] = []
    spans: list[tuple[int, int]] = []
    left = 0
    for index, panel in enumerate(panels):
        if index:
            pieces.append(spacer)
            left += gap
        pieces.append(panel)
        spans.append((left, left + panel.shape[1]))
        left += panel.shape[1]
    return np.concatenate(pieces, axis=1), spans


def _enlarge(array: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return array
    return np.repeat(np.repeat(array, factor, axis=0), factor, axis=1)


def _title_band(
    titles: Sequence[str], spans: Sequence[tuple[int, int]], width: int, font: Font
) -> np.ndarray:
    band = np.full((round(font.height * 2.2), width, 3), 255, dtype=np.uint8)
    top = (band.shape[0] - font.height) // 2
    for title, (left, right) in zip(titles, spans):
        text = font.fit(str(title), right - left)
        text_width = font.size(text)[0]
        put_text(band, text, (left + (right - left - text_width) // 2, top), font)
    return band


def _pad_right(row: np.ndarray, width: int) -> np.ndarray:
    if row.shape[1] == width:
        return row
    pad = np.full((row.shape[0], width - row.shape[1], 3), 255, dtype=np.uint8)
    return np.concatenate([row, pad], axis=1)
