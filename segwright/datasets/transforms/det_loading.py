"""MMDetection's ``LoadAnnotations``: boxes, labels, instance masks and semantic maps.

Registered in the ``mmdet`` scope (the shared ``LoadAnnotations`` is MMSegmentation's).

Boxes are plain ``(N, 4)`` float32 xyxy values rather than MMDetection's ``HorizontalBoxes``:
a torch tensor for ``box_type='hbox'`` (MMDetection's boxes also hold a tensor) and a NumPy
array for ``box_type=None`` (as in MMDetection). The detection transforms take either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from segwright.datasets.imageio import read_label_map
from segwright.datasets.transforms.base import BaseTransform, check_backend_args, check_choice
from segwright.registry import TRANSFORMS
from segwright.structures.masks import BitmapMasks, PolygonMasks, polygons_to_bitmap
from segwright.utils.errors import ConfigError, DatasetError

#: What stands in for an unusable instance mask (MMDetection's: one all-zero triangle).
_FAKE_POLYGON = [np.zeros(6)]


def _pycocotools_mask() -> Any:
    try:
        import pycocotools.mask as mask_utils
    except ImportError:
        raise DatasetError(
            "The annotations hold run-length-encoded (RLE) masks, whose decoding needs "
            "pycocotools: pip install 'segwright[det]' (or pip install pycocotools). Polygon "
            "masks need nothing extra."
        ) from None
    return mask_utils


def is_valid_rle(mask: Any) -> bool:
    """A COCO RLE dict: ``size`` and ``counts`` (a list, uncompressed, or a string)."""
    return (
        isinstance(mask, Mapping)
        and mask.get("size") is not None
        and isinstance(mask.get("counts"), (list, str))
    )


def decode_mask(mask: Any, height: int, width: int, where: str) -> np.ndarray:
    """An ``(height, width)`` uint8 mask from polygons (a list) or a COCO RLE dict.

    Raises:
        DatasetError: an RLE without pycocotools, or an RLE of another size than the image.
    """
    if isinstance(mask, list):
        return polygons_to_bitmap(mask, height, width).astype(np.uint8)
    mask_utils = _pycocotools_mask()
    if isinstance(mask["counts"], list):
        rle = mask_utils.frPyObjects(dict(mask), height, width)
    else:
        rle = dict(mask)
        if isinstance(rle["counts"], str):
            rle["counts"] = rle["counts"].encode("ascii")
    decoded = mask_utils.decode(rle)
    if decoded.shape != (height, width):
        raise DatasetError(
            f"{where}: an RLE mask of size {list(mask['size'])} (height, width) on an image "
            f"file of {height}x{width} pixels; the file and the json's height/width for it "
            "disagree. Fix the json entry, or re-encode the masks at the file's size."
        )
    return decoded


@TRANSFORMS.register_module(name="LoadAnnotations", scope="mmdet")
class LoadDetAnnotations(BaseTransform):
    """Turn a sample's ``instances`` into arrays (MMDetection 3.3's ``LoadAnnotations``).

    Reads ``instances`` (``bbox``, ``bbox_label``, ``ignore_flag``, ``mask``), ``ori_shape``
    (for masks), ``seg_map_path``, ``label_map``; writes ``gt_bboxes`` (``(N, 4)`` float32),
    ``gt_ignore_flags`` (bool), ``gt_bboxes_labels`` (int64), ``gt_masks``
    (:class:`BitmapMasks` uint8 with ``poly2mask``, else :class:`PolygonMasks`), ``gt_seg_map``
    and ``ignore_index``.

    As in MMDetection, polygons with fewer than 3 points or an odd number of coordinates are
    dropped and an instance left without any, or whose mask is unusable (no ``mask``, an RLE
    with ``poly2mask=False``, a malformed RLE), becomes ignored (``ignore_flag=1``) with an
    empty mask (``CocoDataset`` already rejects malformed masks when it reads the json, naming
    the annotation). Polygons are rasterised without pycocotools
    (:func:`~segwright.structures.masks.polygons_to_bitmap`, which differs from pycocotools on a
    few outline pixels); RLE masks need it. Polygon points are float64 (MMDetection keeps the
    json's ints as ints, so its later resizes truncate them).

    Args:
        with_bbox: Load ``gt_bboxes`` and ``gt_ignore_flags``.
        with_label: Load ``gt_bboxes_labels``.
        with_mask: Load ``gt_masks``.
        with_seg: Load the semantic map at ``seg_map_path`` as ``gt_seg_map``.
        poly2mask: Rasterise masks (:class:`BitmapMasks`) or keep polygons.
        box_type: ``'hbox'`` (boxes as a torch tensor) or None (a NumPy array).
        reduce_zero_label: Semantic map: 0 becomes ``ignore_index``, the rest shift down.
        ignore_index: The ignored semantic label.
        imdecode_backend: Decoder of the semantic map (``cv2`` or ``pillow``).
        file_client_args: Removed in MMDet 3.x; only None.
        backend_args: Only None (local files).
        with_keypoints: Not supported (False).
    """

    def __init__(
        self,
        with_bbox: bool = True,
        with_label: bool = True,
        with_mask: bool = False,
        with_seg: bool = False,
        poly2mask: bool = True,
        box_type: str | None = "hbox",
        reduce_zero_label: bool = False,
        ignore_index: int = 255,
        imdecode_backend: str = "cv2",
        file_client_args: Mapping[str, Any] | None = None,
        backend_args: Mapping[str, Any] | None = None,
        with_keypoints: bool = False,
    ) -> None:
        owner = "LoadAnnotations (mmdet)"
        check_choice(box_type, "box_type", owner, ("hbox", None))
        check_choice(imdecode_backend, "imdecode_backend", owner, ("cv2", "pillow"))
        check_backend_args(backend_args or file_client_args, owner)
        if with_keypoints:
            raise ConfigError(f"{owner}: with_keypoints is not supported.")
        self.with_bbox = with_bbox
        self.with_label = with_label
        self.with_mask = with_mask
        self.with_seg = with_seg
        self.poly2mask = poly2mask
        self.box_type = box_type
        self.reduce_zero_label = reduce_zero_label
        self.ignore_index = ignore_index
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def _load_bboxes(self, results: dict[str, Any]) -> None:
        instances = results.get("instances", [])
        boxes = np.array([inst["bbox"] for inst in instances], dtype=np.float32).reshape(-1, 4)
        results["gt_bboxes"] = torch.from_numpy(boxes) if self.box_type else boxes
        results["gt_ignore_flags"] = np.array(
            [inst["ignore_flag"] for inst in instances], dtype=bool
        )

    def _load_labels(self, results: dict[str, Any]) -> None:
        labels = [inst["bbox_label"] for inst in results.get("instances", [])]
        results["gt_bboxes_labels"] = np.array(labels, dtype=np.int64)

    def _usable_mask(self, instance: dict[str, Any]) -> Any:
        """The instance's mask as MMDetection keeps it, or the fake one (instance ignored)."""
        mask = instance.get("mask")
        if isinstance(mask, list):
            polygons = [
                np.asarray(p, dtype=np.float64)
                for p in mask
                if isinstance(p, Sequence) and len(p) % 2 == 0 and len(p) >= 6
            ]
            if polygons:
                return polygons
        elif self.poly2mask and is_valid_rle(mask):
            return mask
        instance["ignore_flag"] = 1
        return list(_FAKE_POLYGON)

    def _load_masks(self, results: dict[str, Any]) -> None:
        h, w = results["ori_shape"][:2]
        instances = results.get("instances", [])
        masks = [self._usable_mask(inst) for inst in instances]
        results["gt_ignore_flags"] = np.array(
            [inst["ignore_flag"] for inst in instances], dtype=bool
        )
        if self.poly2mask:
            where = str(results.get("img_path"))
            bitmaps = [decode_mask(m, h, w, where) for m in masks]
            results["gt_masks"] = BitmapMasks(bitmaps, h, w)
        else:
            results["gt_masks"] = PolygonMasks(masks, h, w)

    def _load_seg_map(self, results: dict[str, Any]) -> None:
        path = results.get("seg_map_path")
        if path is None:
            return
        seg = read_label_map(path, self.imdecode_backend).squeeze()
        if self.reduce_zero_label:
            seg = seg.copy()
            seg[seg == 0] = self.ignore_index
            seg = seg - 1
            seg[seg == self.ignore_index - 1] = self.ignore_index
        label_map = results.get("label_map")
        if label_map is not None:
            original = seg.copy()
            for old_id, new_id in label_map.items():
                seg[original == old_id] = new_id
        results["gt_seg_map"] = seg
        results["ignore_index"] = self.ignore_index

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        if self.with_bbox:
            self._load_bboxes(results)
        if self.with_label:
            self._load_labels(results)
        if self.with_mask:
            self._load_masks(results)
        if self.with_seg:
            self._load_seg_map(results)
        return results
