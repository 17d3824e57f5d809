"""Titled panels, the colour legend and class names written on regions."""

from __future__ import annotations

import numpy as np
import pytest

from segwright.utils.palette import auto_palette, get_palette
from segwright.visualization import (
    LegendEntry,
    draw_class_labels,
    legend_entries,
    prediction_grid,
    side_by_side,
)
from segwright.visualization.labels import region_anchors
from segwright.visualization.legend import draw_legend
from segwright.visualization.panels import MIN_PANEL_HEIGHT
from segwright.visualization.text import Font

CLASSES = ("background", "shelf", "bottle")


def _scene(size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    image = np.full((size, size, 3), 90, np.uint8)
    truth = np.zeros((size, size), np.int64)
    truth[8:40, 8:56] = 1
    truth[44:60, 20:36] = 2
    prediction = truth.copy()
    prediction[44:60, 20:36] = 1
    return image, truth, prediction


def test_legend_lists_all_classes_when_few_and_only_present_ones_when_many():
    palette = get_palette(None, 40)
    mask = np.array([[0, 3], [3, 255]])
    few = legend_entries([mask], palette, CLASSES + ("can",))
    assert [e.name for e in few] == ["background", "shelf", "bottle", "can", "ignored"]
    assert few[1] == LegendEntry(1, "shelf", tuple(auto_palette(2)[1]))
    assert few[-1] == LegendEntry(None, "ignored", (255, 255, 255))
    many = legend_entries([mask, np.array([[7]])], palette, num_classes=40)
    assert [e.index for e in many] == [0, 3, 7, None]
    assert many[2].name == "class 7"


def test_legend_strip_wraps_entries_into_lines():
    entries = [LegendEntry(i, f"class number {i}", (200, 0, 0)) for i in range(8)]
    font = Font(14)
    one_line = draw_legend(entries[:1], 600, font)
    wrapped = draw_legend(entries, 300, font)
    assert one_line.shape[1] == 600 and wrapped.shape[1] == 300
    assert wrapped.shape[0] > 3 * one_line.shape[0]
    swatch = np.all(one_line == (0, 0, 200), axis=-1)  # the red swatch, BGR
    assert swatch.sum() > 100
    assert draw_legend([], 300, font).shape == (0, 300, 3)


def test_panels_get_titles_on_top_and_legend_below():
    image, truth, prediction = _scene()
    plain = side_by_side(image, truth, prediction, titles=False, legend=False, min_height=0)
    assert plain.shape == (64, 3 * 64 + 2 * 4, 3)
    full = side_by_side(image, truth, prediction, classes=CLASSES, min_height=0)
    assert full.shape[1] == plain.shape[1]
    # The plain panels sit unchanged between a title band and the legend.
    offsets = [r for r in range(len(full) - 63) if np.array_equal(full[r : r + 64], plain)]
    assert len(offsets) == 1 and offsets[0] > 20
    titles, legend = full[: offsets[0]], full[offsets[0] + 64 :]
    assert (titles < 128).any() and (titles == 255).mean() > 0.8  # dark text on white
    assert legend.shape[0] > 20
    for rgb in auto_palette(3):  # one swatch per class
        assert np.all(legend == rgb[::-1], axis=-1).sum() > 50


def test_small_panels_are_enlarged_for_text_and_titles_follow_columns():
    image, _, prediction = _scene(32)
    picture = prediction_grid([(image, None, prediction)], classes=CLASSES, show_image=False)
    factor = -(-MIN_PANEL_HEIGHT // 32)
    assert picture.shape[1] == 32 * factor
    assert picture.shape[0] > 32 * factor
    with pytest.raises(ValueError, match="at least one"):
        prediction_grid([])


def test_grid_has_one_title_band_and_one_legend_for_all_rows():
    image, truth, prediction = _scene()
    one = prediction_grid([(image, truth, prediction)], classes=CLASSES, gap=6)
    three = prediction_grid([(image, truth, prediction)] * 3, classes=CLASSES, gap=6)
    panel = 64 * 3  # enlarged to MIN_PANEL_HEIGHT
    assert three.shape[0] == one.shape[0] + 2 * (panel + 6)


def test_region_anchors_fall_inside_their_regions():
    mask = np.zeros((80, 80), np.int64)
    yy, xx = np.mgrid[:80, :80]
    ring = (np.hypot(yy - 40, xx - 40) < 30) & (np.hypot(yy - 40, xx - 40) > 18)
    mask[ring] = 1  # a ring: its centroid is in the hole, class 0
    mask[0:4, 0:4] = 2  # tiny region still gets its tag (largest region of its class)
    anchors = region_anchors(mask)
    ids = [class_id for class_id, _ in anchors]
    assert ids == [0, 0, 1, 2]  # largest class first; class 0 outside and inside the ring
    for class_id, (x, y) in anchors:
        assert mask[y, x] == class_id


def test_with_labels_writes_names_where_the_regions_are():
    image, _, prediction = _scene(256)
    palette = get_palette(None, 3)
    from segwright.visualization import overlay_mask

    base = overlay_mask(image, prediction, palette, 0.5)
    labelled = draw_class_labels(base.copy(), prediction, palette, CLASSES)
    changed = np.any(labelled != base, axis=-1)
    assert changed.any()
    for _, (x, y) in region_anchors(prediction):
        assert changed[y - 3 : y + 4, x - 20 : x + 21].any()
    assert changed.mean() < 0.15  # tags, not a repaint
