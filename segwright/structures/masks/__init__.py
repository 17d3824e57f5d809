"""Instance masks: bitmaps and polygons behind one interface (MMDetection 3.3's semantics)."""

from __future__ import annotations

from segwright.structures.masks.base import BaseInstanceMasks
from segwright.structures.masks.bitmap import BitmapMasks
from segwright.structures.masks.polygon import PolygonMasks
from segwright.structures.masks.polygon_ops import polygons_to_bitmap

__all__ = ["BaseInstanceMasks", "BitmapMasks", "PolygonMasks", "polygons_to_bitmap"]
