"""``DetDataPreprocessor``: MMDetection 3.3's batching of images, boxes and instance masks.

Images are normalised and padded bottom/right to the largest image of the batch rounded up to
``pad_size_divisor`` (with :func:`~segwright.models.preprocessor.pad_batch`, the semantic
side's padding). Each sample's metainfo gets ``batch_input_shape`` (the padded batch size)
and ``pad_shape`` (its own size rounded up to the divisor, as MMDetection records it). When
training, ``pad_mask`` pads the ground-truth instance masks to the batch size and ``pad_seg``
pads a ``gt_sem_seg``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from segwright.engine.model import BaseDataPreprocessor, cast_to_device
from segwright.models.preprocessor import image_list, pad_batch
from segwright.registry import MODELS, build_if_dict
from segwright.structures import PixelData
from segwright.utils.errors import ConfigError


def _channel_values(values: Sequence[float] | None, name: str) -> torch.Tensor | None:
    if values is None:
        return None
    if not isinstance(values, Sequence) or len(values) not in (1, 3):
        raise ConfigError(f"data_preprocessor.{name} needs 1 or 3 values, got {values!r}.")
    return torch.tensor([float(v) for v in values]).view(-1, 1, 1)


@MODELS.register_module()
class DetDataPreprocessor(BaseDataPreprocessor):
    """Normalise and pad images, pad instance masks, as MMDetection 3.3's preprocessor.

    Args:
        mean: Per-channel mean subtracted (None: no normalisation).
        std: Per-channel std divided by (needed with ``mean``).
        pad_size_divisor: Pad height and width up to multiples of it.
        pad_value: Image padding value (applied after normalisation).
        pad_mask: Pad ``gt_instances.masks`` to the batch size when training.
        mask_pad_value: Mask padding value.
        pad_seg: Pad ``gt_sem_seg`` to the batch size when training.
        seg_pad_value: Semantic label padding value.
        bgr_to_rgb, rgb_to_bgr: Swap the channels of 3-channel images.
        boxtype2tensor: Accepted for MMDetection configs; boxes are plain ``(N, 4)`` tensors
            here already.
        non_blocking: Asynchronous host-to-device copies; None (default): when the model is
            on CUDA (see ``BaseDataPreprocessor``); False: never, as MMEngine's default.
        batch_augments: Callables (or MODELS config dicts) ``(inputs, samples) -> (inputs,
            samples)`` applied when training.

    Shapes:
        ``inputs``: list of ``(C, H, W)`` (uint8 or float) -> ``(N, C, H', W')`` float.
    """

    def __init__(
        self,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        pad_size_divisor: int = 1,
        pad_value: float = 0,
        pad_mask: bool = False,
        mask_pad_value: int = 0,
        pad_seg: bool = False,
        seg_pad_value: int = 255,
        bgr_to_rgb: bool = False,
        rgb_to_bgr: bool = False,
        boxtype2tensor: bool = True,
        non_blocking: bool | None = None,
        batch_augments: Sequence[Any] | None = None,
    ) -> None:
        super().__init__(non_blocking=non_blocking)
        if bgr_to_rgb and rgb_to_bgr:
            raise ConfigError(
                "data_preprocessor: set bgr_to_rgb or rgb_to_bgr, not both (each swaps channels)."
            )
        if (mean is None) != (std is None):
            raise ConfigError("data_preprocessor: set both mean and std, or neither.")
        if not isinstance(pad_size_divisor, int) or pad_size_divisor < 1:
            raise ConfigError(
                f"data_preprocessor.pad_size_divisor must be a positive int, got "
                f"{pad_size_divisor!r}."
            )
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value
        self.pad_mask = bool(pad_mask)
        self.mask_pad_value = mask_pad_value
        self.pad_seg = bool(pad_seg)
        self.seg_pad_value = seg_pad_value
        self.channel_conversion = bool(bgr_to_rgb or rgb_to_bgr)
        self.boxtype2tensor = boxtype2tensor
        self._enable_normalize = mean is not None
        if mean is not None:
            # Not in checkpoints: MMDetection's state dicts have no data_preprocessor keys.
            self.register_buffer("mean", _channel_values(mean, "mean"), persistent=False)
            self.register_buffer("std", _channel_values(std, "std"), persistent=False)
        items = batch_augments if isinstance(batch_augments, (list, tuple)) else [batch_augments]
        self.batch_augments = [
            build_if_dict(item, MODELS, key=f"data_preprocessor.batch_augments[{i}]")
            for i, item in enumerate(items)
            if item is not None
        ]

    def _pad_shape(self, img: torch.Tensor) -> tuple[int, int]:
        divisor = self.pad_size_divisor
        h, w = int(img.shape[-2]), int(img.shape[-1])
        return math.ceil(h / divisor) * divisor, math.ceil(w / divisor) * divisor

    def _normalize(self, img: torch.Tensor) -> torch.Tensor:
        if self.channel_conversion and img.shape[0] == 3:
            img = img[[2, 1, 0], ...]
        img = img.float()
        if self._enable_normalize:
            if self.mean.shape[0] == 3 and img.shape[0] != 3:
                raise ConfigError(
                    f"data_preprocessor mean/std have 3 values but an image has "
                    f"{img.shape[0]} channels; give one value each for greyscale images."
                )
            img = (img - self.mean) / self.std
        return img

    def forward(self, data: Mapping[str, Any], training: bool = False) -> dict[str, Any]:
        """Return ``dict(inputs=(N, C, H, W) float tensor, data_samples=[DetDataSample])``."""
        data = cast_to_device(dict(data), self.device, self.non_blocking)
        inputs = image_list(data.get("inputs"))
        pad_shapes = [self._pad_shape(img) for img in inputs]
        batch, _ = pad_batch(
            [self._normalize(img) for img in inputs], None, self.pad_size_divisor, self.pad_value
        )
        samples = data.get("data_samples")
        if samples is not None:
            batch_input_shape = tuple(int(s) for s in batch.shape[-2:])
            for sample, pad_shape in zip(samples, pad_shapes):
                sample.set_metainfo(
                    {"batch_input_shape": batch_input_shape, "pad_shape": pad_shape}
                )
            if training and self.pad_mask:
                self._pad_gt_masks(samples, batch_input_shape)
            if training and self.pad_seg:
                self._pad_gt_sem_seg(samples, batch_input_shape)
        if training:
            for augment in self.batch_augments:
                batch, samples = augment(batch, samples)
        return dict(inputs=batch, data_samples=samples)

    def _pad_gt_masks(self, samples: Sequence[Any], shape: tuple[int, int]) -> None:
        for sample in samples:
            instances = getattr(sample, "gt_instances", None)
            masks = getattr(instances, "masks", None) if instances is not None else None
            if masks is not None:
                instances.masks = masks.pad(shape, pad_val=self.mask_pad_value)

    def _pad_gt_sem_seg(self, samples: Sequence[Any], shape: tuple[int, int]) -> None:
        for sample in samples:
            seg = getattr(sample, "gt_sem_seg", None)
            if seg is None:
                continue
            h, w = seg.data.shape[-2:]
            padding = (0, shape[1] - int(w), 0, shape[0] - int(h))
            sample.gt_sem_seg = PixelData(F.pad(seg.data, padding, value=self.seg_pad_value))
