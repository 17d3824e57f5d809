"""The per-sample structure of detection and instance segmentation (MMDet 3.3's names)."""

from __future__ import annotations

from typing import Any

from segwright.structures.data_element import BaseDataElement
from segwright.structures.instance_data import InstanceData
from segwright.structures.pixel_data import PixelData


def _typed_field(name: str, dtype: type, doc: str) -> property:
    """A data field that only accepts ``dtype``; unset, reading it raises AttributeError."""

    def getter(self: BaseDataElement) -> Any:
        fields = self.__dict__["_data_fields"]
        if name not in fields:
            raise AttributeError(f"{type(self).__name__}.{name} is not set.")
        return fields[name]

    def setter(self: BaseDataElement, value: Any) -> None:
        self.set_field(value, name, dtype=dtype)

    def deleter(self: BaseDataElement) -> None:
        fields = self.__dict__["_data_fields"]
        if name not in fields:
            raise AttributeError(f"{type(self).__name__}.{name} is not set.")
        del fields[name]

    return property(getter, setter, deleter, doc)


class DetDataSample(BaseDataElement):
    """One image's boxes, masks and labels: annotations, proposals and predictions.

    Data fields (each optional; ``'gt_instances' in sample`` tells whether it is set):
        gt_instances: ``bboxes`` ``(N, 4)`` xyxy, ``labels`` ``(N,)``, ``masks``
            (:class:`~segwright.structures.masks.BitmapMasks` or ``PolygonMasks``).
        ignored_instances: Crowd/ignored annotations, same fields as ``gt_instances``.
        proposals: RPN boxes fed to the RoI head (``bboxes``, ``scores``).
        pred_instances: ``bboxes``, ``scores``, ``labels`` and, for Mask R-CNN, ``masks``
            ``(N, H, W)`` bool.
        gt_sem_seg, pred_sem_seg, gt_panoptic_seg, pred_panoptic_seg: :class:`PixelData`.

    Metainfo (reachable as attributes, e.g. ``sample.img_shape``): ``img_id``, ``img_path``,
    ``ori_shape``, ``img_shape``, ``pad_shape``, ``batch_input_shape`` (all ``(h, w)``),
    ``scale_factor`` ``(w_scale, h_scale)``, ``flip``, ``flip_direction``.

    Setting a field to the wrong type raises TypeError (MMDet asserts).
    """

    proposals = _typed_field("proposals", InstanceData, "Region proposals.")
    gt_instances = _typed_field("gt_instances", InstanceData, "Annotated instances.")
    pred_instances = _typed_field("pred_instances", InstanceData, "Predicted instances.")
    ignored_instances = _typed_field(
        "ignored_instances", InstanceData, "Instances to ignore (e.g. crowd)."
    )
    gt_sem_seg = _typed_field("gt_sem_seg", PixelData, "Semantic labels, (1, H, W).")
    pred_sem_seg = _typed_field("pred_sem_seg", PixelData, "Predicted semantic labels.")
    gt_panoptic_seg = _typed_field("gt_panoptic_seg", PixelData, "Panoptic labels.")
    pred_panoptic_seg = _typed_field("pred_panoptic_seg", PixelData, "Predicted panoptic map.")
