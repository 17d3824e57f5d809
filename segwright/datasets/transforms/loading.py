"""Loading transforms: image files, label maps, and in-memory arrays."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from segwright.datasets.checks import check_label_map
from segwright.datasets.imageio import check_decode_args, read_image, read_label_map
from segwright.datasets.labels import label_lut, to_label_array
from segwright.datasets.transforms.base import BaseTransform, check_backend_args
from segwright.registry import TRANSFORMS
from segwright.utils.errors import ConfigError, DatasetError


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Read the image at ``img_path`` (BGR, uint8 unless ``to_float32``).

    Reads ``img_path``; writes ``img``, ``img_shape`` and ``ori_shape`` (``(h, w)``).

    Args:
        to_float32: Return a float32 array instead of uint8.
        color_type: ``color``, ``grayscale``, ``unchanged`` (and ``*_ignore_orientation``).
        imdecode_backend: ``cv2`` or ``pillow``.
        file_client_args: Deprecated MMCV argument; only local files are supported.
        ignore_empty: Return None (the dataset then fetches another sample) instead of raising
            when the file is missing or unreadable.
        backend_args: Only None / local backends are supported.
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

    def transform(self, results: dict[str, Any]) -> dict[str, Any] | None:
        path = results["img_path"]
        img = read_image(path, self.color_type, self.imdecode_backend)
        if img is None:
            if self.ignore_empty:
                return None
            raise DatasetError(
                f"Cannot read image {path}: the file is missing or is not an image. Check "
                "data_root and data_prefix.img_path, or pass ignore_empty=True to "
                "LoadImageFromFile to skip unreadable files."
            )
        if self.to_float32:
            img = img.astype(np.float32)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadImageFromNDArray(LoadImageFromFile):
    """Use an array already in ``img`` (inference on in-memory images).

    Reads ``img``; writes ``img``, ``img_path`` (None), ``img_shape``, ``ori_shape``.
    """

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        img = results["img"]
        if self.to_float32:
            img = img.astype(np.float32)
        results["img_path"] = None
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results


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
        check_decode_args("unchanged", imdecode_backend, type(self).__name__)
        check_backend_args(backend_args, type(self).__name__)
        self.reduce_zero_label = reduce_zero_label
        self.imdecode_backend = imdecode_backend

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
        results["gt_seg_map"] = labels
        seg_fields = results.setdefault("seg_fields", [])
        if "gt_seg_map" not in seg_fields:
            seg_fields.append("gt_seg_map")
        return results
