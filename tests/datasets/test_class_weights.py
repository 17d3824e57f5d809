"""Class weights from label pixels: counts as the dataset decodes masks, and both formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ds_files import tiny_image, write_png

from segwright.datasets import BaseSegDataset, ConcatDataset, FolderSegDataset
from segwright.datasets.class_weights import (
    ClassPixelStats,
    class_frequencies,
    class_histogram,
    compute_class_weights,
    count_class_pixels,
    format_class_weight,
    inverse_log_frequency_weights,
    median_frequency_weights,
)
from segwright.testing import ToySegDataset
from segwright.utils.errors import ConfigError, DatasetError

CLASSES = ("a", "b", "c", "d")

# Three 4x4 masks. Class 0: 12 + 8 px, class 1: 4 + 16 px, class 2: 4 px, class 3: never.
MASKS = [
    np.array([[0, 0, 0, 1]] * 4, dtype=np.uint8),  # 12 x 0, 4 x 1        (16 labelled)
    np.array([[0, 0, 2, 255]] * 4, dtype=np.uint8),  # 8 x 0, 4 x 2, 4 ign (12 labelled)
    np.full((4, 4), 1, dtype=np.uint8),  # 16 x 1                           (16 labelled)
]


class FourClassDataset(BaseSegDataset):
    """A dataset family with four classes (for class subsets); not registered."""

    METAINFO = dict(classes=CLASSES)


@pytest.fixture
def data_root(tmp_path):
    for i, mask in enumerate(MASKS):
        write_png(tmp_path / "images" / f"{i}.png", tiny_image(i, (4, 4)))
        write_png(tmp_path / "masks" / f"{i}.png", mask)
    return str(tmp_path)


def test_counts_and_median_frequency_weights(data_root):
    stats = count_class_pixels(FolderSegDataset(data_root=data_root, classes=CLASSES))
    assert stats.num_maps == 3
    assert stats.pixels.tolist() == [20, 20, 4, 0]
    # labelled pixels of the maps each class appears in: 0 in maps 0, 1; 1 in 0, 2; 2 in 1
    assert stats.image_pixels.tolist() == [16 + 12, 16 + 16, 12, 0]
    assert stats.maps_with_class.tolist() == [2, 2, 1, 0]
    assert (stats.ignored_pixels, stats.invalid_pixels, stats.labelled_pixels) == (4, 0, 44)
    assert stats.missing == [3]

    # freq = 20/28, 20/32, 4/12; median = 0.625 -> 0.875, 1, 1.875; class 3 absent -> 0
    with pytest.warns(UserWarning, match=r"class 3 \('d'\) never appears in the 3 label map"):
        weights = compute_class_weights(stats, "median")
    np.testing.assert_allclose(weights, [0.875, 1.0, 1.875, 0.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(class_frequencies(stats, "median"), [20 / 28, 0.625, 1 / 3, 0])
    assert format_class_weight(weights) == "class_weight=[0.8750, 1.0000, 1.8750, 0.0000]"


def test_inverse_log_frequency_weights(data_root):
    stats = count_class_pixels(FolderSegDataset(data_root=data_root, classes=CLASSES))
    with pytest.warns(UserWarning, match="never appears"):
        weights = compute_class_weights(stats, "log")
    expected = [1 / math.log(1.02 + p) for p in (20 / 44, 20 / 44, 4 / 44)] + [0.0]
    np.testing.assert_allclose(weights, expected, rtol=1e-12)
    assert format_class_weight(weights) == "class_weight=[2.5750, 2.5750, 9.5076, 0.0000]"
    np.testing.assert_allclose(class_frequencies(stats, "log"), [20 / 44, 20 / 44, 4 / 44, 0])


def test_reduce_zero_label_as_the_dataset_decodes(data_root):
    dataset = FolderSegDataset(data_root=data_root, classes=("x", "y"), reduce_zero_label=True)
    stats = count_class_pixels(dataset)
    # 0 -> ignored, 1 -> 0, 2 -> 1, 255 stays ignored
    assert stats.pixels.tolist() == [20, 4]
    assert stats.ignored_pixels == 20 + 4
    assert stats.image_pixels.tolist() == [4 + 16, 4]  # labelled: 4 in map 0, 4 in 1, 16 in 2


def test_pipeline_load_annotations_overrides_reduce_zero_label(data_root):
    dataset = FolderSegDataset(
        data_root=data_root,
        classes=("x", "y"),
        pipeline=[dict(type="LoadAnnotations", reduce_zero_label=True)],
    )
    assert count_class_pixels(dataset).pixels.tolist() == [20, 4]


def test_class_subset_is_remapped(data_root):
    dataset = FourClassDataset(
        data_root=data_root,
        data_prefix=dict(img_path="images", seg_map_path="masks"),
        img_suffix=".png",
        metainfo=dict(classes=("a", "c")),
    )
    stats = count_class_pixels(dataset)
    assert stats.classes == ("a", "c")
    assert stats.pixels.tolist() == [20, 4]  # b became ignored
    assert stats.ignored_pixels == 4 + 20


def test_num_samples_spreads_over_the_dataset(data_root):
    dataset = FolderSegDataset(data_root=data_root, classes=CLASSES)
    stats = count_class_pixels(dataset, num_samples=2)  # maps 0 and 2
    assert stats.num_maps == 2
    assert stats.pixels.tolist() == [12, 20, 0, 0]
    with pytest.warns(UserWarning) as caught:
        weights = compute_class_weights(stats)
    assert [str(w.message)[:13] for w in caught] == ["class 2 ('c')", "class 3 ('d')"]
    # freq = 12/16, 20/32; median 0.6875
    np.testing.assert_allclose(weights, [0.6875 / 0.75, 0.6875 / 0.625, 0, 0])
    with pytest.raises(ConfigError, match="positive"):
        count_class_pixels(dataset, num_samples=0)


def test_concat_dataset_counts_each_part(data_root):
    part = dict(type="FolderSegDataset", data_root=data_root, classes=CLASSES)
    stats = count_class_pixels(ConcatDataset(datasets=[part, part]))
    assert stats.num_maps == 6
    assert stats.pixels.tolist() == [40, 40, 8, 0]
    stats = count_class_pixels(ConcatDataset(datasets=[part, part]), num_samples=3)
    assert stats.num_maps == 3  # global indices 0, 2 (first part) and 5 (second part)
    assert stats.pixels.tolist() == [12, 36, 0, 0]


def test_dataset_without_files_uses_packed_labels():
    dataset = ToySegDataset(num_samples=3, size=(8, 8), ignore_border=True)
    stats = count_class_pixels(dataset)
    masks = [dataset.sample_arrays(i)[1] for i in range(3)]
    expected = [sum(int((m == c).sum()) for m in masks) for c in (0, 1)]
    assert stats.pixels.tolist() == expected
    assert stats.ignored_pixels == 3 * (64 - 36)


def test_class_histogram_ignore_and_invalid_values():
    labels = np.array([[0, 1, 2, 7], [255, 255, 1, 1]], dtype=np.uint8)
    counts, ignored, invalid = class_histogram(labels, 3, 255)
    assert (counts.tolist(), ignored, invalid) == ([1, 3, 1], 2, 1)
    # ignore_index inside the class range: those pixels count for no class
    counts, ignored, invalid = class_histogram(labels, 3, 1)
    assert (counts.tolist(), ignored, invalid) == ([1, 0, 1], 3, 3)
    # int64 maps (packed gt_sem_seg) give the same counts
    counts, ignored, invalid = class_histogram(labels.astype(np.int64), 3, 255)
    assert (counts.tolist(), ignored, invalid) == ([1, 3, 1], 2, 1)


def test_formulas_on_plain_counts():
    np.testing.assert_allclose(median_frequency_weights([10, 30, 0], [40, 40, 0]), [2.0, 2 / 3, 0])
    np.testing.assert_allclose(
        inverse_log_frequency_weights([1, 3]), [1 / math.log(1.27), 1 / math.log(1.77)]
    )
    assert median_frequency_weights([0, 0], [0, 0]).tolist() == [0.0, 0.0]


def test_errors_name_the_problem(tmp_path):
    stats = ClassPixelStats(classes=("a", "b"))
    stats.add(np.full((2, 2), 255, dtype=np.uint8))
    with pytest.raises(DatasetError, match="no labelled pixel"):
        compute_class_weights(stats)
    with pytest.raises(ConfigError, match="'median'.*'log'"):
        compute_class_weights(stats, "sqrt")
    write_png(tmp_path / "images" / "0.png", tiny_image(0, (4, 4)))
    with pytest.raises(DatasetError, match="no label maps"):
        count_class_pixels(
            BaseSegDataset(
                data_root=str(tmp_path),
                data_prefix=dict(img_path="images"),
                img_suffix=".png",
                metainfo=dict(classes=("a", "b")),
            )
        )
