"""``GenerateEdge``: a boundary map from the label map (for edge-aware heads such as PIDNet)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from segwright.datasets.transforms.base import BaseTransform
from segwright.registry import TRANSFORMS


@TRANSFORMS.register_module()
class GenerateEdge(BaseTransform):
    """Mark pixels whose label differs from a neighbour (below, right, and both diagonals), then
    dilate with an ``edge_width`` square. Pairs touching ``ignore_index`` are not edges.

    Reads ``gt_seg_map``; writes ``gt_edge_map`` (uint8 0/1) and ``edge_width``.
    """

    def __init__(self, edge_width: int = 3, ignore_index: int = 255) -> None:
        self.edge_width = int(edge_width)
        self.ignore_index = ignore_index

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        seg = results["gt_seg_map"]
        edge = np.zeros(seg.shape, dtype=np.uint8)
        keep = seg != self.ignore_index
        # (slice of the marked pixel, slice of its neighbour) for the four directions.
        pairs = (
            ((slice(1, None), slice(None)), (slice(None, -1), slice(None))),
            ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
            ((slice(None, -1), slice(None, -1)), (slice(1, None), slice(1, None))),
            ((slice(None, -1), slice(1, None)), (slice(1, None), slice(None, -1))),
        )
        for here, there in pairs:
            differs = (seg[here] != seg[there]) & keep[here] & keep[there]
            edge[here][differs] = 1
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (self.edge_width, self.edge_width))
        results["gt_edge_map"] = cv2.dilate(edge, kernel)
        results["edge_width"] = self.edge_width
        return results
