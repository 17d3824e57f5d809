"""LoadImageFromFile, LoadImageFromNDArray, LoadAnnotations."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from ds_files import tiny_label, write_png
from PIL import Image

from segwright.datasets.transforms import (
    LoadAnnotations,
    LoadImageFromFile,
    LoadImageFromNDArray,
)
from segwright.utils.errors import ConfigError, DatasetError


@pytest.fixture
def image_file(tmp_path):
    img = np.zeros((4, 6, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 10, 20, 30  # B, G, R
    return write_png(tmp_path / "img.png", img)


def test_load_image_is_bgr_uint8_with_shapes(image_file):
    out = LoadImageFromFile()(dict(img_path=image_file))
    assert out["img"].dtype == np.uint8 and out["img"][0, 0].tolist() == [10, 20, 30]
    assert out["img_shape"] == (4, 6) and out["ori_shape"] == (4, 6)
    assert LoadImageFromFile(to_float32=True)(dict(img_path=image_file))["img"].dtype == np.float32
    gray = LoadImageFromFile(color_type="grayscale")(dict(img_path=image_file))["img"]
    assert gray.shape == (4, 6)
    pil = LoadImageFromFile(imdecode_backend="pillow")(dict(img_path=image_file))["img"]
    assert np.array_equal(pil, out["img"])


def test_missing_image_raises_or_skips(tmp_path):
    with pytest.raises(DatasetError, match=r"Cannot read image .*nope.png.*ignore_empty=True"):
        LoadImageFromFile()(dict(img_path=str(tmp_path / "nope.png")))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    assert LoadImageFromFile(ignore_empty=True)(dict(img_path=str(tmp_path / "broken.png"))) is None


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="color_type='colour'"):
        LoadImageFromFile(color_type="colour")
    with pytest.raises(ConfigError, match="imdecode_backend='turbojpeg'"):
        LoadAnnotations(imdecode_backend="turbojpeg")
    with pytest.raises(ConfigError, match="local files only"):
        LoadImageFromFile(backend_args=dict(backend="petrel"))


def test_load_from_ndarray():
    img = np.ones((3, 5, 3), np.uint8)
    out = LoadImageFromNDArray()(dict(img=img))
    assert out["img_path"] is None and out["img_shape"] == (3, 5) and out["ori_shape"] == (3, 5)


def _seg(tmp_path, values):
    return write_png(tmp_path / "seg.png", tiny_label(values, size=(2, len(values))))


def test_reduce_zero_label_maps_0_to_255_and_shifts(tmp_path):
    path = _seg(tmp_path, [0, 1, 2, 254, 255])
    out = LoadAnnotations()(dict(seg_map_path=path, reduce_zero_label=True, seg_fields=[]))
    assert out["gt_seg_map"][0].tolist() == [255, 0, 1, 253, 255]
    assert out["gt_seg_map"].dtype == np.uint8 and out["seg_fields"] == ["gt_seg_map"]
    plain = LoadAnnotations()(dict(seg_map_path=path, reduce_zero_label=False))
    assert plain["gt_seg_map"][0].tolist() == [0, 1, 2, 254, 255]


def test_label_map_uses_original_values_and_applies_after_reduction(tmp_path):
    path = _seg(tmp_path, [0, 1, 2, 3])
    swap = dict(seg_map_path=path, reduce_zero_label=False, label_map={1: 2, 2: 1, 3: 255})
    assert LoadAnnotations()(swap)["gt_seg_map"][0].tolist() == [0, 2, 1, 255]
    both = dict(seg_map_path=path, reduce_zero_label=True, label_map={0: 1, 1: 0, 2: 255})
    assert LoadAnnotations()(both)["gt_seg_map"][0].tolist() == [255, 1, 0, 255]


def test_reduce_zero_label_must_agree_with_dataset(tmp_path):
    path = _seg(tmp_path, [0, 1])
    with pytest.raises(ConfigError, match="disagrees with the dataset"):
        LoadAnnotations(reduce_zero_label=True)(dict(seg_map_path=path, reduce_zero_label=False))
    standalone = LoadAnnotations(reduce_zero_label=True)(dict(seg_map_path=path))
    assert standalone["gt_seg_map"][0].tolist() == [255, 0]


def test_palette_png_gives_indices_with_pillow_and_colours_with_cv2(tmp_path):
    label = Image.fromarray(np.array([[0, 1, 15, 255]], np.uint8), mode="P")
    label.putpalette([0, 0, 0, 128, 0, 0] + [64, 64, 64] * 254)
    label.save(tmp_path / "voc.png")
    out = LoadAnnotations()(dict(seg_map_path=str(tmp_path / "voc.png")))
    assert out["gt_seg_map"].tolist() == [[0, 1, 15, 255]]
    with pytest.raises(DatasetError, match="one channel"):
        LoadAnnotations(imdecode_backend="cv2")(dict(seg_map_path=str(tmp_path / "voc.png")))


def test_16_bit_gray_png_fast_path_matches_pillow(tmp_path):
    cv2.imwrite(str(tmp_path / "deep.png"), np.array([[1, 300]], np.uint16))
    via_pillow = np.array(Image.open(tmp_path / "deep.png")).astype(np.uint8)
    out = LoadAnnotations()(dict(seg_map_path=str(tmp_path / "deep.png")))
    assert out["gt_seg_map"].tolist() == via_pillow.tolist() == [[1, 44]]


def test_missing_label_map(tmp_path):
    with pytest.raises(DatasetError, match="Label map .*gone.png does not exist"):
        LoadAnnotations()(dict(seg_map_path=str(tmp_path / "gone.png")))
