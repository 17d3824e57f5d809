"""``PackSegInputs``: turn a results dict into ``dict(inputs, data_samples)`` for the model."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from segwright.datasets.transforms.base import BaseTransform
from segwright.registry import TRANSFORMS
from segwright.structures import PixelData, SegDataSample

DEFAULT_META_KEYS = (
    "img_path",
    "seg_map_path",
    "ori_shape",
    "img_shape",
    "pad_shape",
    "scale_factor",
    "flip",
    "flip_direction",
    "reduce_zero_label",
)


def _label_tensor(seg: np.ndarray, key: str) -> torch.Tensor:
    if seg.ndim == 2:
        seg = seg[None]
    else:
        warnings.warn(
            f"{key} has shape {seg.shape}; label maps are usually 2-D.", UserWarning, stacklevel=3
        )
    return torch.from_numpy(np.ascontiguousarray(seg, dtype=np.int64))


@TRANSFORMS.register_module()
class PackSegInputs(BaseTransform):
    """Pack the image as a ``(C, H, W)`` tensor (dtype unchanged, usually uint8) and the labels
    and metadata into a :class:`SegDataSample`.

    Reads ``img``, ``gt_seg_map``, ``gt_edge_map`` and the ``meta_keys`` present; writes
    ``inputs`` and ``data_samples`` (a new dict). Metadata keys missing from the results are
    left out, as in MMSeg (the data preprocessor adds ``pad_shape`` when it pads).

    Args:
        meta_keys: Keys copied into ``data_samples.metainfo``.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        packed: dict[str, Any] = {}
        img = results.get("img")
        if img is not None:
            if img.ndim < 3:
                img = img[:, :, None]
            packed["inputs"] = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        sample = SegDataSample()
        if results.get("gt_seg_map") is not None:
            sample.gt_sem_seg = PixelData(_label_tensor(results["gt_seg_map"], "gt_seg_map"))
        if results.get("gt_edge_map") is not None:
            sample.gt_edge_map = PixelData(_label_tensor(results["gt_edge_map"], "gt_edge_map"))
        sample.set_metainfo({key: results[key] for key in self.meta_keys if key in results})
        packed["data_samples"] = sample
        return packed
