"""Per-sample structures shared by datasets, models and metrics (the structures room).

Segmentation: :class:`PixelData`, :class:`SegDataSample`. Detection and instance
segmentation: :class:`InstanceData`, :class:`DetDataSample`, instance masks
(:class:`BitmapMasks`, :class:`PolygonMasks`) and box helpers on plain ``(N, 4)`` tensors.
"""

from __future__ import annotations

from segwright.structures.bbox import (
    bbox2roi,
    bbox_cxcywh_to_xyxy,
    bbox_flip,
    bbox_xyxy_to_cxcywh,
    cat_boxes,
    empty_box_as,
    get_box_tensor,
    roi2bbox,
    scale_boxes,
)
from segwright.structures.data_element import BaseDataElement
from segwright.structures.det_data_sample import DetDataSample
from segwright.structures.instance_data import InstanceData
from segwright.structures.masks import BaseInstanceMasks, BitmapMasks, PolygonMasks
from segwright.structures.pixel_data import PixelData
from segwright.structures.seg_data_sample import SegDataSample

__all__ = [
    "BaseDataElement",
    "BaseInstanceMasks",
    "BitmapMasks",
    "DetDataSample",
    "InstanceData",
    "PixelData",
    "PolygonMasks",
    "SegDataSample",
    "bbox2roi",
    "bbox_cxcywh_to_xyxy",
    "bbox_flip",
    "bbox_xyxy_to_cxcywh",
    "cat_boxes",
    "empty_box_as",
    "get_box_tensor",
    "roi2bbox",
    "scale_boxes",
]
