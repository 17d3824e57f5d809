"""LoadImageFromFile, LoadImageFromNDArray, LoadAnnotations."""

from __future__ import annotations

import os
import warnings

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
    img[-1, -1] = 0  # not constant (a constant image warns)
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


# --- 16-bit and float images -------------------------------------------------------------------

GREY16 = np.array([[0, 257, 32768, 65535]], np.uint16)
FLOAT32 = np.array([[-1.5, 0.25, 100.75, 300.0]], np.float32)


def _tiff(tmp_path, name, array):
    path = str(tmp_path / name)
    assert cv2.imwrite(path, array)
    return path


def _load(path, **kwargs):
    return LoadImageFromFile(**kwargs)(dict(img_path=path))["img"]


def _scaled(array):
    return (array.astype(np.float64) * 255 / 65535).astype(np.float32)


@pytest.mark.parametrize("backend", ["cv2", "pillow"])
def test_16_bit_grey_tiff_scales_to_0_255_float(tmp_path, backend):
    path = _tiff(tmp_path, "g16.tif", GREY16)
    color = LoadImageFromFile(imdecode_backend=backend)(dict(img_path=path))["img"]
    assert color.dtype == np.float32 and color.shape == (1, 4, 3)
    assert color[0, :, 0].tolist() == [0.0, 1.0, np.float32(32768 * 255 / 65535), 255.0]
    assert np.array_equal(color[..., 0], color[..., 2])
    grey = _load(path, color_type="grayscale", imdecode_backend=backend)
    assert grey.dtype == np.float32 and grey.shape == (1, 4)
    assert np.array_equal(grey, _scaled(GREY16))
    raw = _load(path, color_type="unchanged", imdecode_backend=backend)
    assert raw.dtype == np.uint16 and raw.tolist() == GREY16.tolist()


def test_16_bit_colour_tiff_and_png_keep_bgr_order_and_depth(tmp_path):
    bgr = np.stack([GREY16, GREY16 // 2, GREY16 // 4], axis=-1)
    for name in ("c16.tif", "c16.png"):
        path = _tiff(tmp_path, name, bgr)
        img = LoadImageFromFile()(dict(img_path=path))["img"]
        assert img.dtype == np.float32 and np.array_equal(img, _scaled(bgr)), name
        raw = LoadImageFromFile(color_type="unchanged")(dict(img_path=path))["img"]
        assert raw.dtype == np.uint16 and raw.tolist() == bgr.tolist(), name


def test_16_bit_colour_with_pillow_warns_that_depth_is_lost(tmp_path):
    path = _tiff(tmp_path, "c16_pillow.png", np.stack([GREY16] * 3, axis=-1))
    with pytest.warns(UserWarning, match=r"c16_pillow.png is a 16-bit colour image.*'cv2'"):
        LoadImageFromFile(imdecode_backend="pillow")(dict(img_path=path))


@pytest.mark.parametrize("backend", ["cv2", "pillow"])
def test_float32_tiff_keeps_raw_values(tmp_path, backend):
    path = _tiff(tmp_path, "f32.tif", FLOAT32)
    for color_type, shape in (("color", (1, 4, 3)), ("grayscale", (1, 4)), ("unchanged", (1, 4))):
        img = _load(path, color_type=color_type, imdecode_backend=backend)
        assert img.dtype == np.float32 and img.shape == shape, color_type
        assert img.reshape(-1, shape[2] if len(shape) == 3 else 1)[:, 0].tolist() == (
            FLOAT32[0].tolist()
        )


def test_float32_colour_tiff_to_grey_and_back(tmp_path):
    bgr = np.stack([FLOAT32, FLOAT32 * 2, FLOAT32 * 3], axis=-1)
    path = _tiff(tmp_path, "c32.tif", bgr)
    color = LoadImageFromFile()(dict(img_path=path))["img"]
    assert color.dtype == np.float32 and color.tolist() == bgr.tolist()
    grey = LoadImageFromFile(color_type="grayscale")(dict(img_path=path))["img"]
    expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    assert grey.shape == (1, 4) and np.array_equal(grey, expected)


def test_8_bit_results_do_not_change(image_file, tmp_path):
    # The deeper decoding paths must leave 8-bit files exactly as OpenCV's own flags give them.
    for color_type in ("color", "grayscale", "unchanged", "color_ignore_orientation"):
        out = LoadImageFromFile(color_type=color_type)(dict(img_path=image_file))["img"]
        flag = {"color": cv2.IMREAD_COLOR, "grayscale": cv2.IMREAD_GRAYSCALE}.get(
            color_type, cv2.IMREAD_UNCHANGED if color_type == "unchanged" else cv2.IMREAD_COLOR
        )
        assert out.dtype == np.uint8 and np.array_equal(out, cv2.imread(image_file, flag))
    tif = _tiff(tmp_path, "rgb8.tif", cv2.imread(image_file))
    out = LoadImageFromFile()(dict(img_path=tif))["img"]
    assert out.dtype == np.uint8 and out[0, 0].tolist() == [10, 20, 30]
    grey = LoadImageFromFile(color_type="grayscale")(dict(img_path=tif))["img"]
    assert grey.dtype == np.uint8 and grey.shape == (4, 6)


def test_to_float32_after_the_depth_rule(tmp_path):
    path = _tiff(tmp_path, "g16.tif", GREY16)
    raw = LoadImageFromFile(color_type="unchanged", to_float32=True)(dict(img_path=path))["img"]
    assert raw.dtype == np.float32 and raw.tolist() == GREY16.astype(np.float32).tolist()


def test_ndarray_uint16_is_scaled_like_a_file():
    out = LoadImageFromNDArray()(dict(img=GREY16.copy()))["img"]
    assert out.dtype == np.float32 and np.array_equal(out, _scaled(GREY16))
    raw = LoadImageFromNDArray(color_type="unchanged")(dict(img=GREY16.copy()))["img"]
    assert raw.dtype == np.uint16


def test_constant_image_warns_once_per_file(tmp_path):
    flat = write_png(tmp_path / "flat.png", np.full((4, 6, 3), 7, np.uint8))
    other = write_png(tmp_path / "other.png", np.zeros((4, 6, 3), np.uint8))
    load = LoadImageFromFile()
    with pytest.warns(UserWarning, match=r"Image .*flat.png is constant \(every pixel is 7\)"):
        load(dict(img_path=flat))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(dict(img_path=flat))
        load(dict(img_path=other))
    assert [str(w.message).split(" is ")[0] for w in caught] == [f"Image {other}"]


def test_low_range_16_bit_and_odd_float_ranges_warn_once(tmp_path):
    dim = _tiff(tmp_path, "dim.tif", np.array([[0, 100, 4095]], np.uint16))
    load = LoadImageFromFile()
    with pytest.warns(UserWarning, match=r"dim.tif: it is 16-bit with values 0..4095.*'unchanged'"):
        img = load(dict(img_path=dim))["img"]
    assert 15.9 < img.max() < 15.94
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(dict(img_path=dim))  # once per transform
        LoadImageFromFile(color_type="unchanged")(dict(img_path=dim))  # raw values asked for
        full = _tiff(tmp_path, "full.tif", GREY16)
        LoadImageFromFile()(dict(img_path=full))
        LoadImageFromFile()(dict(img_path=_tiff(tmp_path, "f.tif", FLOAT32)))
    unit = _tiff(tmp_path, "unit.tif", np.array([[0.0, 0.5, 1.0]], np.float32))
    with pytest.warns(UserWarning, match=r"unit.tif: it holds float32 values 0..1"):
        LoadImageFromFile()(dict(img_path=unit))
    nan = _tiff(tmp_path, "nan.tif", np.array([[0.0, np.nan, 1.0]], np.float32))
    with pytest.warns(UserWarning, match="NaN"):
        LoadImageFromFile()(dict(img_path=nan))


def test_optional_backends_name_their_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tifffile", None)
    with pytest.raises(ConfigError, match=r"'tifffile' needs the tifffile package.*pip install"):
        LoadImageFromFile(imdecode_backend="tifffile")
    with pytest.raises(ConfigError, match="tifffile"):
        LoadAnnotations(imdecode_backend="tifffile")
    monkeypatch.setitem(sys.modules, "turbojpeg", None)
    from segwright.datasets import imageio

    imageio._turbojpeg.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"'turbojpeg' needs the PyTurboJPEG package"):
            LoadImageFromFile(imdecode_backend="turbojpeg")
    finally:
        imageio._turbojpeg.cache_clear()
    with pytest.raises(ConfigError, match="colour or greyscale only"):
        LoadImageFromFile(imdecode_backend="turbojpeg", color_type="unchanged")
    with pytest.raises(ConfigError, match="unfit for label maps"):
        LoadAnnotations(imdecode_backend="turbojpeg")


def test_tifffile_backend_converts_rgb_and_planar_layouts(tmp_path, monkeypatch):
    import sys
    import types

    stored = {}
    fake = types.ModuleType("tifffile")
    fake.imread = lambda path: stored[path]
    monkeypatch.setitem(sys.modules, "tifffile", fake)
    rgb = np.tile(np.stack([GREY16, GREY16 // 2, GREY16 // 4], axis=-1), (1, 2, 1))  # RGB
    for name, array in (("hwc.tif", rgb), ("chw.tif", np.moveaxis(rgb, -1, 0).copy())):
        path = str(tmp_path / name)
        open(path, "wb").close()
        stored[path] = array
        img = LoadImageFromFile(imdecode_backend="tifffile")(dict(img_path=path))["img"]
        assert np.array_equal(img, _scaled(rgb[..., ::-1])), name
    stack = str(tmp_path / "stack.tif")
    open(stack, "wb").close()
    stored[stack] = np.zeros((5, 2, 4, 4), np.uint16)
    with pytest.raises(DatasetError, match=r"stack.tif has shape \(5, 2, 4, 4\).*volumes"):
        LoadImageFromFile(imdecode_backend="tifffile")(dict(img_path=stack))
    stored[str(tmp_path / "lab.tif")] = np.array([[0, 300]], np.uint16)
    open(tmp_path / "lab.tif", "wb").close()
    raw = LoadAnnotations(imdecode_backend="tifffile")(dict(seg_map_path=str(tmp_path / "lab.tif")))
    assert raw["gt_seg_map"].tolist() == [[0, 44]]


# --- 16-bit label maps -------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["pillow", "cv2"])
def test_16_bit_tiff_label_map_keeps_its_values(tmp_path, backend):
    path = _tiff(tmp_path, "mask.tif", np.array([[0, 1, 183, 255]], np.uint16))
    out = LoadAnnotations(imdecode_backend=backend)(dict(seg_map_path=path))
    assert out["gt_seg_map"].dtype == np.uint8 and out["gt_seg_map"].tolist() == [[0, 1, 183, 255]]


def test_instance_ids_above_255_are_reported_not_wrapped(tmp_path):
    path = _tiff(tmp_path, "instances.tif", np.array([[0, 1, 2, 300]], np.uint16))
    spec = dict(mode="raise", num_classes=2, ignore_index=255, classes=("bg", "nucleus"))
    with pytest.raises(DatasetError, match=r"instances.tif.*up to 300 \(16-bit\).*mask > 0"):
        LoadAnnotations()(dict(seg_map_path=path, label_check=spec))


def test_real_16_bit_nuclei_tiff_loads_its_values():
    """The stardist nuclei image (16-bit, values 0..235) used to load as all zeros."""
    path = "/work/shared/data/nuclei/img2d.tif"
    if not os.path.isfile(path):
        pytest.skip(f"{path} not found")
    raw = LoadImageFromFile(color_type="unchanged")(dict(img_path=path))["img"]
    assert raw.dtype == np.uint16 and raw.shape == (512, 512)
    assert raw.min() == 0 and raw.max() == 235 and raw.std() > 10
    with pytest.warns(UserWarning, match=r"img2d.tif: it is 16-bit with values 0..235"):
        color = LoadImageFromFile()(dict(img_path=path))["img"]
    assert color.shape == (512, 512, 3) and np.array_equal(color[..., 1], _scaled(raw))
    mask = LoadAnnotations()(dict(seg_map_path="/work/shared/data/nuclei/mask2d.tif"))
    assert mask["gt_seg_map"].max() == 183 and 0.1 < (mask["gt_seg_map"] > 0).mean() < 0.5
