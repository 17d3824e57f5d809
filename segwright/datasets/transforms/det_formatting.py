"""``PackDetInputs``: a detection results dict -> ``dict(inputs, data_samples)`` (MMDet 3.3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from segwright.datasets.transforms.base import BaseTransform
from segwright.registry import TRANSFORMS
from segwright.structures import DetDataSample, InstanceData, PixelData

DEFAULT_DET_META_KEYS = (
    "img_id",
    "img_path",
    "ori_shape",
    "img_shape",
    "scale_factor",
    "flip",
    "flip_direction",
)

#: results key -> InstanceData field.
_FIELDS = {"gt_bboxes": "bboxes", "gt_bboxes_labels": "labels", "gt_masks": "masks"}


def to_tensor(value: Any) -> torch.Tensor:
    """A tensor from an array, a tensor, a sequence or a number (MMCV's ``to_tensor``)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return torch.tensor(value)
    if isinstance(value, (bool, int)):
        return torch.LongTensor([value])
    if isinstance(value, float):
        return torch.FloatTensor([value])
    raise TypeError(f"Cannot turn {type(value).__name__} into a tensor.")


def _take(value: Any, index: np.ndarray) -> Any:
    """``value[index]`` for arrays, tensors and mask containers."""
    if isinstance(value, torch.Tensor):
        return value[torch.from_numpy(index).to(value.device)]
    return value[index]


@TRANSFORMS.register_module()
class PackDetInputs(BaseTransform):
    """Pack the image as a ``(C, H, W)`` tensor (dtype kept, usually uint8) and the
    annotations and metadata into a :class:`~segwright.structures.DetDataSample`.

    With ``gt_ignore_flags``, instances flagged 0 go to ``gt_instances`` and those flagged 1
    to ``ignored_instances`` (both always set, possibly empty); without it, every instance is
    in ``gt_instances``. ``bboxes`` become float32 tensors, ``labels`` int64 tensors, ``masks``
    stay mask containers. ``gt_seg_map`` becomes ``gt_sem_seg`` (``(1, H, W)``, dtype kept),
    ``proposals``/``proposals_scores`` become ``proposals``.

    Reads ``img``, ``gt_bboxes``, ``gt_bboxes_labels``, ``gt_masks``, ``gt_ignore_flags``,
    ``gt_seg_map``, ``proposals``, ``proposals_scores`` and the ``meta_keys`` present; writes
    ``inputs`` and ``data_samples`` (a new dict).

    Args:
        meta_keys: Keys copied into the sample's metainfo when present.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_DET_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        packed: dict[str, Any] = {}
        if "img" in results:
            img = results["img"]
            if img.ndim < 3:
                img = img[:, :, None]
            packed["inputs"] = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        flags = results.get("gt_ignore_flags")
        if flags is not None:
            flags = np.asarray(flags)
            valid_idx, ignore_idx = np.where(flags == 0)[0], np.where(flags == 1)[0]
        sample = DetDataSample()
        gt_instances, ignored = InstanceData(), InstanceData()
        for key, field in _FIELDS.items():
            if key not in results:
                continue
            value = results[key]
            convert = (lambda v: v) if key == "gt_masks" else to_tensor
            if flags is None:
                setattr(gt_instances, field, convert(value))
            else:
                setattr(gt_instances, field, convert(_take(value, valid_idx)))
                setattr(ignored, field, convert(_take(value, ignore_idx)))
        sample.gt_instances = gt_instances
        sample.ignored_instances = ignored
        if "proposals" in results:
            sample.proposals = InstanceData(
                bboxes=to_tensor(results["proposals"]),
                scores=to_tensor(results["proposals_scores"]),
            )
        if "gt_seg_map" in results:
            sample.gt_sem_seg = PixelData(to_tensor(results["gt_seg_map"][None, ...].copy()))
        sample.set_metainfo({key: results[key] for key in self.meta_keys if key in results})
        packed["data_samples"] = sample
        return packed
