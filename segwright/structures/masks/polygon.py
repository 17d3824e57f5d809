"""Instance masks as polygons (MMDetection 3.3's ``PolygonMasks``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from segwright.structures.masks.base import (
    BaseInstanceMasks,
    as_index_array,
    check_box_type,
    check_flip_direction,
    clip_crop_box,
)
from segwright.structures.masks.bitmap import BitmapMasks
from segwright.structures.masks.polygon_ops import clip_polygon, polygon_area, polygons_to_bitmap
from segwright.utils.image_ops import rescale_size

Polygons = list[list[np.ndarray]]


class PolygonMasks(BaseInstanceMasks):
    """``N`` instances, each a list of flat ``[x0, y0, x1, y1, ...]`` polygons (COCO's form).

    Coordinates are continuous: pixel ``(r, c)`` covers ``[c, c + 1) x [r, r + 1)``, so a
    horizontal flip maps ``x -> width - x``. Geometric methods move the points and never
    rasterise; :meth:`to_ndarray` / :meth:`to_bitmap` do (see ``polygon_ops`` for how that
    differs from pycocotools).

    Args:
        masks: ``list`` (instances) of ``list`` (polygons) of 1-D arrays.
        height: Canvas height.
        width: Canvas width.
    """

    def __init__(self, masks: Polygons, height: int, width: int):
        if not isinstance(masks, list):
            raise TypeError(f"PolygonMasks takes a list of instances, got {type(masks).__name__}.")
        for polys in masks:
            if not isinstance(polys, list) or not all(isinstance(p, np.ndarray) for p in polys):
                raise TypeError(
                    "PolygonMasks takes, per instance, a list of 1-D arrays [x0, y0, x1, y1, ...]."
                )
        self.height = height
        self.width = width
        self.masks = masks

    def __getitem__(self, index: Any) -> PolygonMasks:
        index = as_index_array(index)
        if isinstance(index, np.ndarray):
            if index.dtype == np.bool_:
                if len(index) != len(self):
                    raise IndexError(
                        f"A bool mask of length {len(index)} cannot index {len(self)}."
                    )
                index = np.nonzero(index)[0]
            masks = [self.masks[i] for i in index.reshape(-1).tolist()]
        elif isinstance(index, slice):
            masks = self.masks[index]
        elif isinstance(index, (int, np.integer)):
            masks = [self.masks[index]]
        else:
            raise TypeError(f"PolygonMasks cannot be indexed by {type(index).__name__}.")
        return PolygonMasks(masks, self.height, self.width)

    def _map_points(self, fn: Any, height: int, width: int) -> PolygonMasks:
        """A new PolygonMasks with ``fn(xs, ys) -> (xs, ys)`` applied to every polygon."""
        out = []
        for polys in self.masks:
            moved = []
            for p in polys:
                q = p.copy()
                q[0::2], q[1::2] = fn(p[0::2], p[1::2])
                moved.append(q)
            out.append(moved)
        return PolygonMasks(out, height, width)

    def rescale(self, scale: float | tuple[int, int], interpolation: Any = None) -> PolygonMasks:
        (new_w, new_h), _ = rescale_size((self.width, self.height), scale)
        return self.resize((new_h, new_w))

    def resize(self, out_shape: tuple[int, int], interpolation: Any = None) -> PolygonMasks:
        out_h, out_w = out_shape
        sy, sx = out_h / self.height, out_w / self.width
        return self._map_points(lambda xs, ys: (xs * sx, ys * sy), out_h, out_w)

    def flip(self, flip_direction: str = "horizontal") -> PolygonMasks:
        check_flip_direction(flip_direction)
        fx = flip_direction in ("horizontal", "diagonal")
        fy = flip_direction in ("vertical", "diagonal")
        w, h = self.width, self.height
        return self._map_points(
            lambda xs, ys: (w - xs if fx else xs, h - ys if fy else ys), self.height, self.width
        )

    def pad(self, out_shape: tuple[int, int], pad_val: int = 0) -> PolygonMasks:
        return PolygonMasks(self.masks, *out_shape)

    def crop(self, bbox: np.ndarray) -> PolygonMasks:
        """Clip every polygon to the box and shift it to the box's origin.

        An instance left with nothing keeps a dummy zero-area polygon ``[0, 0, 0, 0, 0, 0]``
        (as in MMDetection) so masks stay aligned with their boxes. MMDetection clips with
        shapely after ``buffer(0)``, which also repairs self-intersecting polygons; we clip
        them as given, so only such polygons can come out differently.
        """
        x1, y1, x2, y2, w, h = clip_crop_box(bbox, self.height, self.width, integer=False)
        cropped = []
        for polys in self.masks:
            kept = []
            for p in polys:
                clipped = clip_polygon(p, (x1, y1, x2, y2))
                if clipped is not None:
                    kept.append((clipped - [x1, y1]).reshape(-1))
            cropped.append(kept or [np.zeros(6, dtype=np.float64)])
        return PolygonMasks(cropped, h, w)

    def crop_and_resize(
        self,
        bboxes: np.ndarray | torch.Tensor,
        out_shape: tuple[int, int],
        inds: np.ndarray | torch.Tensor,
        device: str | torch.device = "cpu",
        interpolation: str = "bilinear",
        binarize: bool = True,
    ) -> PolygonMasks:
        """Polygon ``inds[i]`` moved into box ``i`` and scaled to ``out_shape`` (not rasterised).

        As in MMDetection the result is still polygons; ``to_ndarray()`` rasterises (points
        outside the box are cut off there). ``device`` and ``interpolation`` are unused.

        Raises:
            ValueError: ``binarize=False`` (polygons are always binary).
        """
        out_h, out_w = out_shape
        if len(self) == 0:
            return PolygonMasks([], out_h, out_w)
        if not binarize:
            raise ValueError("PolygonMasks are always binary; binarize=False is unsupported.")
        bboxes = np.asarray(torch.as_tensor(bboxes).cpu(), dtype=np.float64).reshape(-1, 4)
        inds = np.asarray(torch.as_tensor(inds).cpu()).reshape(-1)
        out = []
        for (x1, y1, x2, y2), i in zip(bboxes, inds.tolist(), strict=True):
            sx = out_w / max(max(x2 - x1, 1.0), 0.1)
            sy = out_h / max(max(y2 - y1, 1.0), 0.1)
            moved = []
            for p in self.masks[i]:
                q = np.asarray(p, dtype=np.float64).copy()
                q[0::2] = (q[0::2] - x1) * sx
                q[1::2] = (q[1::2] - y1) * sy
                moved.append(q)
            out.append(moved)
        return PolygonMasks(out, out_h, out_w)

    def expand(self, expanded_h: int, expanded_w: int, top: int, left: int) -> PolygonMasks:
        """Move the points by ``(left, top)`` on the larger canvas (MMDet leaves this out)."""
        return self._map_points(lambda xs, ys: (xs + left, ys + top), expanded_h, expanded_w)

    @property
    def areas(self) -> np.ndarray:
        """Shoelace area per instance (sum over its polygons; holes are not subtracted)."""
        return np.asarray([sum(polygon_area(p) for p in polys) for polys in self.masks])

    def to_ndarray(self) -> np.ndarray:
        """``(N, h, w)`` bool (uint8 when empty, as in MMDetection)."""
        if len(self) == 0:
            return np.empty((0, self.height, self.width), dtype=np.uint8)
        return np.stack([polygons_to_bitmap(p, self.height, self.width) for p in self.masks])

    def to_bitmap(self) -> BitmapMasks:
        return BitmapMasks(self.to_ndarray(), self.height, self.width)

    def to_tensor(self, dtype: torch.dtype, device: str | torch.device) -> torch.Tensor:
        return torch.tensor(self.to_ndarray(), dtype=dtype, device=device)

    def get_bboxes(self, dst_type: Any = "hbb") -> torch.Tensor:
        """Min/max of each instance's points (MMDetection's rule, including its lower bound 0)."""
        check_box_type(dst_type)
        boxes = np.zeros((len(self), 4), dtype=np.float32)
        for i, polys in enumerate(self.masks):
            lo = np.array([self.width * 2, self.height * 2], dtype=np.float32)
            hi = np.zeros(2, dtype=np.float32)
            for p in polys:
                xy = np.asarray(p, dtype=np.float32).reshape(-1, 2)
                lo = np.minimum(lo, xy.min(axis=0))
                hi = np.maximum(hi, xy.max(axis=0))
            boxes[i, :2], boxes[i, 2:] = lo, hi
        return torch.from_numpy(boxes)

    @classmethod
    def _cat(cls, masks: Sequence[PolygonMasks]) -> PolygonMasks:
        return cls([polys for m in masks for polys in m.masks], masks[0].height, masks[0].width)
