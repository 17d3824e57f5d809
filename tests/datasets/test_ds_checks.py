"""Label checks: out-of-range values name the file, the values and the fix."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
from ds_files import tiny_image, tiny_label, write_png

from segwright.datasets import BaseSegDataset, RepeatDataset, check_dataset_labels
from segwright.datasets.checks import count_invalid
from segwright.testing import ToySegDataset
from segwright.utils.errors import DatasetError

LOAD = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations")]


def _dataset(tmp_path, masks, classes=("bg", "fg"), **kw):
    """One image per mask in ``masks`` (name -> array)."""
    for name, mask in masks.items():
        write_png(tmp_path / "img" / f"{name}.png", tiny_image(0, mask.shape[:2]))
        write_png(tmp_path / "ann" / f"{name}.png", mask)
    return BaseSegDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img_path="img", seg_map_path="ann"),
        img_suffix=".png",
        metainfo=dict(classes=classes),
        pipeline=LOAD,
        **kw,
    )


def test_count_invalid_fast_path_matches_numpy():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 256, size=(33, 17), dtype=np.uint8)
    for num_classes, ignore in [(19, 255), (2, 255), (150, 0), (5, 100), (256, 255)]:
        expected = np.count_nonzero((labels >= num_classes) & (labels != ignore))
        assert count_invalid(labels, num_classes, ignore) == expected


def test_per_image_check_raises_with_file_values_and_reduce_hint(tmp_path):
    ds = _dataset(tmp_path, {"a": tiny_label((0, 1, 2))})
    with pytest.raises(DatasetError) as err:
        ds[0]
    message = str(err.value)
    assert str(tmp_path / "ann" / "a.png") in message
    assert "values {2}" in message and "Values in the file: {0, 1, 2}" in message
    assert "set reduce_zero_label=True" in message and "label_check='warn'" in message


def test_warn_and_off_modes(tmp_path):
    ds = _dataset(tmp_path, {"a": tiny_label((0, 7))}, label_check="warn")
    with pytest.warns(UserWarning, match=r"values \{7\}"):
        ds[0]
    quiet = _dataset(tmp_path, {"a": tiny_label((0, 7))}, label_check="off")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert quiet[0]["gt_seg_map"].max() == 7
        assert check_dataset_labels(quiet).num_checked == 0


def test_reduce_zero_label_values_are_checked_after_reduction(tmp_path):
    ok = _dataset(tmp_path, {"a": tiny_label((0, 1, 2, 255))}, reduce_zero_label=True)
    assert ok[0]["gt_seg_map"][0, :4].tolist() == [255, 0, 1, 255]
    bad = _dataset(tmp_path / "b", {"a": tiny_label((0, 1, 3))}, reduce_zero_label=True)
    with pytest.raises(DatasetError, match=r"after reduce_zero_label=True.*value 3 becomes 2"):
        bad[0]


def test_binary_0_255_masks_are_caught_before_training(tmp_path):
    ds = _dataset(tmp_path, {"a": tiny_label((0, 255)), "b": tiny_label((255, 0))})
    ds[0]  # a single mask with {0, 255} is legal (255 = ignore) ...
    with pytest.raises(DatasetError, match=r"0/255.*divide by 255"):
        check_dataset_labels(ds)  # ... but every mask being 0/255 with 2 classes is not
    ignoring_other = _dataset(tmp_path / "c", {"a": tiny_label((0, 255))}, ignore_index=100)
    with pytest.raises(DatasetError, match=r"go up to 255 with 2 classes.*0/255"):
        ignoring_other[0]


def test_reduce_zero_label_on_0_1_masks_suggests_false(tmp_path):
    ds = _dataset(tmp_path, {"a": tiny_label((0, 1))}, reduce_zero_label=True)
    with pytest.raises(DatasetError, match="(?i)did you mean reduce_zero_label=False"):
        check_dataset_labels(ds)
    all_ignored = _dataset(tmp_path / "z", {"a": tiny_label((0,))}, reduce_zero_label=True)
    with pytest.raises(DatasetError, match="only ignore_index=255.*reduce_zero_label=False"):
        check_dataset_labels(all_ignored)


def test_image_like_masks_and_colour_masks(tmp_path):
    gradient = np.tile(np.arange(0, 200, 5, dtype=np.uint8), (4, 1))
    ds = _dataset(tmp_path, {"a": gradient})
    with pytest.raises(DatasetError, match="look like an image"):
        ds[0]
    colour = _dataset(tmp_path / "c", {"a": np.zeros((4, 6, 3), np.uint8) + 1})
    with pytest.raises(DatasetError, match=r"shape \(4, 6, 3\).*one channel"):
        colour[0]


def test_16_bit_masks_that_would_wrap(tmp_path):
    write_png(tmp_path / "img" / "a.png", np.zeros((4, 6, 3), np.uint8))
    (tmp_path / "ann").mkdir()
    cv2.imwrite(str(tmp_path / "ann" / "a.png"), np.full((4, 6), 257, np.uint16))
    ds = BaseSegDataset(
        data_root=str(tmp_path),
        img_suffix=".png",
        pipeline=LOAD,
        data_prefix=dict(img_path="img", seg_map_path="ann"),
        metainfo=dict(classes=("a", "b")),
    )
    with pytest.raises(DatasetError, match="16-bit"):
        ds[0]


def test_check_dataset_labels_reports_and_counts_problems(tmp_path):
    masks = {f"m{i}": tiny_label((0, 1, 255)) for i in range(4)}
    masks["m9"] = tiny_label((0, 5))
    ds = _dataset(tmp_path, masks, label_check="off")
    with pytest.raises(DatasetError, match=r"m9.png.*values \{5\}"):
        check_dataset_labels(ds, mode="raise")
    with pytest.warns(UserWarning):
        report = check_dataset_labels(RepeatDataset(ds, times=2), num_samples=3, mode="warn")
    assert report.num_checked == 3 and len(report.problems) == 1
    assert report.values == [0, 1, 5, 255]


def test_check_dataset_labels_on_a_generic_dataset():
    report = check_dataset_labels(ToySegDataset(num_samples=3, size=(8, 8), ignore_border=True))
    assert report.num_checked == 3 and report.values == [0, 1, 255]


def test_hints_of_metainfo_datasets_still_name_metainfo(tmp_path):
    ds = _dataset(tmp_path, {"a": tiny_label((0, 1, 3))})
    with pytest.raises(DatasetError, match=r"in the dataset's metainfo=dict\(classes=\(\.\.\.\)\)"):
        ds[0]


def _zero_share_masks(zeros_per_row, width=12, rows=4):
    """Masks whose first ``zeros_per_row`` columns are 0, the rest 1 and 2 in turn."""
    mask = np.tile(np.array([1 + i % 2 for i in range(width)], np.uint8), (rows, 1))
    mask[:, :zeros_per_row] = 0
    return {"m0": mask, "m1": mask.copy()}


def test_reduce_zero_label_ignoring_a_large_share_is_reported(tmp_path):
    # 0 is a real class here: 7 of 12 columns (58 %) become ignored with reduce_zero_label.
    classes = ("road", "car")
    ds = _dataset(tmp_path, _zero_share_masks(7), classes=classes, reduce_zero_label=True)
    report = check_dataset_labels(ds)
    assert report.pixel_counts == {0: 16, 1: 24, 255: 56}  # 2 maps of 4 x 12
    (warning,) = report.warnings
    assert warning.startswith(
        "BaseSegDataset(reduce_zero_label=True) turns label 0 into ignore_index=255: 58% of the "
        "pixels of the 2 checked label maps are 0"
    )
    assert "set the dataset's reduce_zero_label to False" in warning
    assert "metainfo=dict(classes=(...))" in warning
    # A thin 'unlabelled' border (3 of 12 columns: 25 %) is what reduce_zero_label is for.
    thin = _dataset(tmp_path / "t", _zero_share_masks(3), classes=classes, reduce_zero_label=True)
    assert check_dataset_labels(thin).warnings == []
    plain = _dataset(tmp_path / "p", {"m": tiny_label((0, 1))})
    assert check_dataset_labels(plain).warnings == []  # without reduce_zero_label: no warning
