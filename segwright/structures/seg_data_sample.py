"""The per-sample structure that datasets, models and metrics share (STYLE point 7).

A :class:`SegDataSample` carries one image's ground truth (``gt_sem_seg``), predictions
(``pred_sem_seg``, ``seg_logits``) and metadata (``img_shape``, ``ori_shape``, ...), with
MMSeg 1.x's attribute names so users' metrics and hooks port unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segwright.structures.pixel_data import PixelData


@dataclass
class SegDataSample:
    """One sample's annotations, predictions and metadata.

    Attributes:
        gt_sem_seg: Ground-truth labels, ``(1, H, W)`` long.
        pred_sem_seg: Predicted labels, ``(1, H, W)`` long.
        seg_logits: Logits, ``(C, H, W)`` float.
        metainfo: ``img_path``, ``seg_map_path``, ``img_shape``, ``ori_shape``, ``pad_shape``,
            ``scale_factor``, ``flip``, ``flip_direction``, ``reduce_zero_label``, ...
    """

    gt_sem_seg: PixelData | None = None
    pred_sem_seg: PixelData | None = None
    seg_logits: PixelData | None = None
    gt_edge_map: PixelData | None = None
    metainfo: dict[str, Any] = field(default_factory=dict)

    def set_metainfo(self, info: dict[str, Any]) -> None:
        self.metainfo.update(info)

    def __getattr__(self, name: str) -> Any:
        # MMEngine data samples expose metainfo keys as attributes (sample.img_shape).
        metainfo = self.__dict__.get("metainfo", {})
        if name in metainfo:
            return metainfo[name]
        raise AttributeError(f"SegDataSample has no field or metainfo key {name!r}.")

    def to(self, *args: Any, **kwargs: Any) -> SegDataSample:
        """A copy with every field's ``.to(*args, **kwargs)`` (``non_blocking`` included)."""
        return self._map(lambda value: value.to(*args, **kwargs))

    def pin_memory(self) -> SegDataSample:
        """A copy with every field in page-locked memory, so its copy to the GPU is async.

        A DataLoader with ``pin_memory=True`` calls it for each sample of a batch; the labels
        (int64, more bytes than the uint8 image) then copy without blocking too.
        """
        return self._map(lambda value: value.pin_memory())

    def _map(self, fn: Any) -> SegDataSample:
        moved = {
            name: fn(getattr(self, name)) if getattr(self, name) is not None else None
            for name in ("gt_sem_seg", "pred_sem_seg", "seg_logits", "gt_edge_map")
        }
        return SegDataSample(**moved, metainfo=dict(self.metainfo))
