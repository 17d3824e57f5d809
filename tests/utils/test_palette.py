"""The automatic palette: far-apart colours, stable, and dataset palettes kept exactly."""

from __future__ import annotations

import numpy as np
import pytest

from segwright.utils.palette import (
    DISTINCT_COLOURS,
    auto_palette,
    get_palette,
    mmseg_random_palette,
    overlay_distance,
    rgb_to_lab,
)

#: MMSeg's random palette gives "background" and the next class two greens this far apart
#: (overlay distance 28.7), which a user reported as "almost the same green". Every pair among
#: the first classes must be clearly farther apart than that.
CONFUSED_PAIR_DISTANCE = overlay_distance(mmseg_random_palette(2))[0, 1]


def test_confused_pair_reference_value():
    assert CONFUSED_PAIR_DISTANCE == pytest.approx(28.65, abs=0.01)


def test_lab_conversion_of_reference_colours():
    np.testing.assert_allclose(rgb_to_lab([255, 255, 255]), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(rgb_to_lab([0, 0, 0]), [0, 0, 0], atol=0.01)
    np.testing.assert_allclose(rgb_to_lab([255, 0, 0]), [53.24, 80.09, 67.20], atol=0.05)


@pytest.mark.parametrize(
    ("count", "threshold"),
    [
        (5, 80.0),  # grey, red, green, blue, yellow: nothing in common
        (10, 40.0),  # 1.4 x the confused pair
        (20, 30.0),  # the whole hand-picked list still beats the confused pair
        (40, 25.0),  # farthest-point colours after the list
        (150, 12.0),  # ADE20K-sized: many colours, still no near-duplicates
    ],
)
def test_first_classes_are_far_apart(count, threshold):
    assert overlay_distance(auto_palette(count)).min() > threshold


def test_auto_palette_is_deterministic_nested_and_distinct():
    big = auto_palette(300)
    assert auto_palette(300) == big
    assert auto_palette(25) == big[:25]  # adding classes never repaints the others
    assert [tuple(c) for c in auto_palette(20)] == list(DISTINCT_COLOURS)
    assert len({tuple(c) for c in big}) == 300
    assert len({tuple(c) for c in auto_palette(5000)}) == 5000  # past the candidate grid
    assert auto_palette(0) == []


def test_auto_colours_avoid_white_and_black():
    lightness = rgb_to_lab(np.asarray(auto_palette(200)))[:, 0]
    assert lightness.max() <= 92  # white marks ignored pixels
    assert lightness.min() >= 14


def test_dataset_palettes_are_kept_exactly():
    from segwright.datasets.ade import ADE20KDataset
    from segwright.datasets.cityscapes import CityscapesDataset

    for dataset in (CityscapesDataset, ADE20KDataset):
        palette = dataset.METAINFO["palette"]
        assert get_palette(palette, len(palette)).tolist() == [list(c) for c in palette]
    city = CityscapesDataset.METAINFO["palette"]
    assert get_palette(city, 19)[0].tolist() == [128, 64, 128]  # road, as in MMSeg


def test_short_palette_is_completed_and_bad_palette_rejected():
    completed = get_palette([[1, 2, 3]], 4)
    assert completed.tolist() == [[1, 2, 3], *auto_palette(4)[1:]]
    with pytest.raises(ValueError, match="list of \\[R, G, B\\]"):
        get_palette([[1, 2]], 2)
    with pytest.raises(ValueError, match="0..255"):
        get_palette([[0, 0, 300]], 1)


def test_none_and_mmseg_random_palette_mean_automatic():
    assert get_palette(None, 3).tolist() == auto_palette(3)
    assert get_palette([], 3).tolist() == auto_palette(3)
    # What MMSeg (and older segwright checkpoints) stored for datasets without a palette.
    assert get_palette(mmseg_random_palette(6), 6).tolist() == auto_palette(6)
    assert get_palette(mmseg_random_palette(6)[:5] + [[1, 2, 3]], 6)[5].tolist() == [1, 2, 3]
