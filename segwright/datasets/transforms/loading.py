"""Loading transforms: image files, label maps, and in-memory arrays."""

from __future__ import annotations

import os
import warnings
from typing import Any

import cv2
import numpy as np

from segwright.datasets.checks import check_label_map
from segwright.datasets.imageio import (
    check_decode_args,
    decode_image,
    read_label_map,
    to_pixel_range,
)
from segwright.datasets.labels import label_lut, to_label_array
from segwright.datasets.transforms.base import BaseTransform, check_backend_args
from segwright.registry import TRANSFORMS
from segwright.utils.errors import ConfigError, DatasetError


def _is_constant(img: np.ndarray) -> bool:
    flat = img.reshape(-1)
    if flat.size == 0:
        return False
    # A strided sample settles almost every real image without reading all of it.
    if np.any(flat[:: max(1, flat.size // 1024)] != flat[0]):
        return False
    return bool(np.all(flat == flat[0]))


def _range_problem(raw: np.ndarray, img: np.ndarray) -> str | None:
    """Why ``img`` (loaded with ``color``/``grayscale``) is far from the 0..255 units, or None."""
    if raw.dtype == np.uint8 or img.size == 0:
        return None
    low, high = float(img.min()), float(img.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        return "it contains NaN or infinite values, which make the loss NaN"
    if raw.dtype == np.uint16:
        if float(raw.max()) >= 8192:
            return None
        return (
            f"it is 16-bit with values {int(raw.min())}..{int(raw.max())}, a small part of "
            f"0..65535: scaled to 0..255 (x * 255 / 65535) they span {low:.3g}..{high:.3g}, "
            "almost black"
        )
    if max(abs(low), abs(high)) <= 2.0 or max(abs(low), abs(high)) > 1024.0:
        return f"it holds {raw.dtype} values {low:.3g}..{high:.3g}, kept as they are"
    return None


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Read the image at ``img_path`` (BGR; uint8 for 8-bit files, deeper ones as below).

    Reads ``img_path``; writes ``img``, ``img_shape`` and ``ori_shape`` (``(h, w)``).

    Pixel values, by the file's sample type (see :mod:`segwright.datasets.imageio`):

    * 8-bit: uint8, as MMCV gives them.
    * 16-bit: with ``color``/``grayscale``, float32 scaled to 0..255 (``x * 255 / 65535``), so
      the usual mean/std (in 0..255 units) fit; with ``unchanged``, uint16 raw values, and the
      ``data_preprocessor`` mean/std must be set in those units.
    * float (e.g. 32-bit float TIFF): float32, raw values.

    ``color`` gives ``HxWx3`` BGR, ``grayscale`` ``HxW`` (``PackSegInputs`` adds the channel
    axis), ``unchanged`` the file's own channels.

    Warnings: an image that is constant after loading (once per file); with ``color`` or
    ``grayscale``, an image whose values are far from 0..255 (a 16-bit image that uses less
    than 1/8 of its range, float values within -2..2 or beyond 1024, NaN; once per transform).

    Args:
        to_float32: Return a float32 array whatever the file's depth.
        color_type: ``color``, ``grayscale``, ``unchanged`` (and ``*_ignore_orientation``).
        imdecode_backend: ``cv2``, ``pillow``, ``tifffile`` or ``turbojpeg`` (the last two
            need their packages).
        file_client_args: Deprecated MMCV argument; only local files are supported.
        ignore_empty: Return None (the dataset then fetches another sample) instead of raising
            when the file is missing or unreadable.
        backend_args: Only None / local backends are supported.

    Raises:
        ConfigError: Unknown ``color_type``, or a backend that is unknown or not installed.
    """

    def __init__(
        self,
        to_float32: bool = False,
        color_type: str = "color",
        imdecode_backend: str = "cv2",
        file_client_args: dict | None = None,
        ignore_empty: bool = False,
        *,
        backend_args: dict | None = None,
    ) -> None:
        check_decode_args(color_type, imdecode_backend, type(self).__name__)
        check_backend_args(backend_args or file_client_args, type(self).__name__)
        self.to_float32 = to_float32
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.ignore_empty = ignore_empty
        self._warned_constant: set[str] = set()
        self._warned_range = False
        self._skipped: set[str] = set()  # files ignore_empty skipped, each reported once

    def _check_values(self, path: str, raw: np.ndarray, img: np.ndarray) -> None:
        if path not in self._warned_constant and _is_constant(img):
            self._warned_constant.add(path)
            value = img.reshape(-1)[0] if img.size else None
            warnings.warn(
                f"Image {path} is constant (every pixel is {value}) after loading with "
                f"color_type={self.color_type!r}: nothing can be learned from it. If the file "
                "is not blank, check how it was saved (bit depth, sample format).",
                UserWarning,
                stacklevel=3,
            )
        if self._warned_range or self.color_type.startswith("unchanged"):
            return
        problem = _range_problem(raw, img)
        if problem:
            self._warned_range = True
            warnings.warn(
                f"Image {path}: {problem}. The data_preprocessor mean/std are usually in 0..255 "
                "units. Load with color_type='unchanged' (raw values; also silences this "
                "warning) and set mean/std in your data's units, e.g. the mean and std of the "
                "training pixels. Further images are not reported.",
                UserWarning,
                stacklevel=3,
            )

    def transform(self, results: dict[str, Any]) -> dict[str, Any] | None:
        path = results["img_path"]
        raw = decode_image(path, self.color_type, self.imdecode_backend)
        if raw is None:
            if self.ignore_empty:
                if path not in self._skipped:
                    self._skipped.add(path)
                    warnings.warn(
                        f"LoadImageFromFile(ignore_empty=True) skipped {path}: it is missing or "
                        f"cannot be decoded ({len(self._skipped)} file(s) skipped so far by "
                        "this pipeline; another sample is drawn in its place).",
                        UserWarning,
                        stacklevel=2,
                    )
                return None
            if os.path.isfile(path):
                why = "it cannot be decoded (truncated, corrupt or not an image). Replace it"
            else:
                why = "the file does not exist. Check data_root and data_prefix (img, img_path)"
            raise DatasetError(
                f"Cannot read image {path}: {why}, or pass ignore_empty=True to "
                "LoadImageFromFile to skip unreadable files."
            )
        img = to_pixel_range(raw, self.color_type)
        self._check_values(path, raw, img)
        if self.to_float32:
            img = img.astype(np.float32, copy=False)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadImageFromNDArray(LoadImageFromFile):
    """Use an array already in ``img`` (inference on in-memory images).

    A uint16 array is scaled as a 16-bit file would be (unless ``color_type='unchanged'``), so
    a path and its decoded array give the same prediction; channels are left as they are.

    Reads ``img``; writes ``img``, ``img_path`` (None), ``img_shape``, ``ori_shape``.
    """

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        img = results["img"]
        if img.dtype == np.uint16:
            img = to_pixel_range(img, self.color_type)
        if self.to_float32:
            img = img.astype(np.float32)
        results["img_path"] = None
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results


def _check_same_size(labels: np.ndarray, results: dict[str, Any], path: str) -> None:
    """A label map has its image's size (as read, before any Resize).

    Caught here, where both files are known: later a Resize hides the difference, and with
    ``batch_size=1`` nothing else would notice (the loss compares resized maps).
    """
    shape = results.get("ori_shape")
    if shape is None or tuple(labels.shape[:2]) == tuple(shape[:2]):
        return
    raise DatasetError(
        f"Label map {path} is {labels.shape[0]}x{labels.shape[1]} (height x width) but its image "
        f"{results.get('img_path')} is {shape[0]}x{shape[1]}. Each label map must have its "
        "image's size: check that the two files belong together (data_prefix, suffixes) or "
        "re-export the label map at the image's size."
    )


@TRANSFORMS.register_module()
class LoadAnnotations(BaseTransform):
    """Read the label map at ``seg_map_path`` as ``HxW`` uint8 class indices.

    Applies ``reduce_zero_label`` (0 -> 255, k -> k-1) and then the dataset's ``label_map``
    (class subsets), and checks the values when the dataset asks for it (``label_check``).

    Reads ``seg_map_path``, ``reduce_zero_label``, ``label_map``, ``label_check``, ``seg_fields``;
    writes ``gt_seg_map`` and appends it to ``seg_fields``.

    Args:
        reduce_zero_label: None takes the dataset's setting; True/False must agree with it.
        backend_args: Only None / local backends are supported.
        imdecode_backend: ``pillow`` (MMSeg's default; palette PNGs give their indices) or
            ``cv2``.
    """

    def __init__(
        self,
        reduce_zero_label: bool | None = None,
        backend_args: dict | None = None,
        imdecode_backend: str = "pillow",
    ) -> None:
        check_decode_args("unchanged", imdecode_backend, type(self).__name__, for_labels=True)
        check_backend_args(backend_args, type(self).__name__)
        self.reduce_zero_label = reduce_zero_label
        self.imdecode_backend = imdecode_backend

    def annotation_settings(self) -> tuple[str, bool | None]:
        """``(imdecode_backend, reduce_zero_label)``: how the label checks read the masks."""
        return self.imdecode_backend, self.reduce_zero_label

    def _reduce(self, results: dict[str, Any]) -> bool:
        from_dataset = results.get("reduce_zero_label")
        if self.reduce_zero_label is None:
            return bool(from_dataset)
        if from_dataset is not None and bool(from_dataset) != bool(self.reduce_zero_label):
            raise ConfigError(
                f"LoadAnnotations(reduce_zero_label={self.reduce_zero_label}) disagrees with the "
                f"dataset's reduce_zero_label={from_dataset}. Set reduce_zero_label on the "
                "dataset only and drop it from LoadAnnotations."
            )
        return bool(self.reduce_zero_label)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        path = results["seg_map_path"]
        raw = read_label_map(path, self.imdecode_backend)
        labels = to_label_array(raw, path)
        reduce = self._reduce(results)
        lut = label_lut(reduce, results.get("label_map"))
        if lut is not None:
            labels = cv2.LUT(labels, lut)
        spec = results.get("label_check")
        if spec:
            check_label_map(labels, raw, path, spec, reduce_zero_label=reduce)
        _check_same_size(labels, results, path)
        results["gt_seg_map"] = labels
        seg_fields = results.setdefault("seg_fields", [])
        if "gt_seg_map" not in seg_fields:
            seg_fields.append("gt_seg_map")
        return results
