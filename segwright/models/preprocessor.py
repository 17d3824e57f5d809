"""``SegDataPreProcessor``: channel swap, normalisation, padding and batching (SPEC §9.7).

Training pads every image bottom/right to a common size (``size``, else the largest image
rounded up to ``size_divisor``) with ``pad_val``, and its ``gt_sem_seg`` with ``seg_pad_val``,
recording ``img_shape``, ``pad_shape`` and ``padding_size`` (left, right, top, bottom) in the
samples' metainfo. Inference pads only when ``test_cfg`` has ``size``/``size_divisor``; the
segmentor crops that padding off again before resizing to ``ori_shape``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from segwright.engine.model import BaseDataPreprocessor, cast_to_device
from segwright.registry import MODELS, build_if_dict
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError


def _size_pair(size: Any, name: str) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool):
        return size, size
    if isinstance(size, Sequence) and len(size) == 2 and all(isinstance(s, int) for s in size):
        return int(size[0]), int(size[1])
    raise ConfigError(f"{name} must be an (h, w) pair of ints, got {size!r}.")


def _round_up(value: int, divisor: int | None) -> int:
    if not divisor or divisor <= 1:
        return value
    return (value + divisor - 1) // divisor * divisor


def image_list(inputs: Any) -> list[torch.Tensor]:
    """A batch's ``inputs`` as a list of ``(C, H, W)`` tensors (a stacked batch is split).

    Raises:
        ConfigError: ``inputs`` is neither a tensor nor a non-empty list.
    """
    if isinstance(inputs, torch.Tensor):
        return list(inputs) if inputs.dim() == 4 else [inputs]
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ConfigError(
            f"The batch's 'inputs' must be a non-empty list of (C, H, W) tensors, got "
            f"{type(inputs).__name__}."
        )
    return list(inputs)


def pad_batch(
    inputs: Sequence[torch.Tensor],
    size: tuple[int, int] | None = None,
    size_divisor: int | None = None,
    pad_val: float = 0,
) -> tuple[torch.Tensor, list[tuple[int, int, int, int]]]:
    """Pad ``(C, H, W)`` images bottom/right to one size and stack them.

    The target is ``size`` (grown to the largest image if one is bigger), else the largest
    image; ``size_divisor`` then rounds it up to a multiple.

    Returns:
        The ``(N, C, H', W')`` batch and each image's ``(left, right, top, bottom)`` padding.
    """
    max_h = max(int(t.shape[-2]) for t in inputs)
    max_w = max(int(t.shape[-1]) for t in inputs)
    if size is not None:
        max_h, max_w = max(max_h, size[0]), max(max_w, size[1])
    target_h, target_w = _round_up(max_h, size_divisor), _round_up(max_w, size_divisor)
    padded, paddings = [], []
    for tensor in inputs:
        padding = (0, target_w - int(tensor.shape[-1]), 0, target_h - int(tensor.shape[-2]))
        padded.append(F.pad(tensor, padding, value=pad_val) if any(padding) else tensor)
        paddings.append(padding)
    return torch.stack(padded, dim=0), paddings


@MODELS.register_module()
class SegDataPreProcessor(BaseDataPreprocessor):
    """Normalise, pad and batch images (and pad their labels) for a segmentor.

    Args:
        mean: Per-channel mean subtracted (None: no normalisation).
        std: Per-channel std divided by (needed with ``mean``).
        size: Training pad size ``(h, w)``.
        size_divisor: Pad so that height and width are multiples of it.
        pad_val: Image padding value (applied after normalisation, as MMSeg does).
        seg_pad_val: Label padding value (255 = ignored).
        bgr_to_rgb, rgb_to_bgr: Swap the channels of 3-channel images.
        batch_augments: A callable ``(inputs, data_samples) -> (inputs, data_samples)``, or a
            list of them (config dicts are built from MODELS), applied when training.
        test_cfg: ``dict(size=...)`` or ``dict(size_divisor=...)`` to pad at inference.
        non_blocking: Asynchronous host-to-device copies; None (default): when the model is
            on CUDA (see ``BaseDataPreprocessor``); False: never, as MMEngine's default.

    Shapes:
        ``inputs``: list of ``(C, H, W)`` (uint8 or float) -> ``(N, C, H', W')`` float.
    """

    def __init__(
        self,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        size: Sequence[int] | None = None,
        size_divisor: int | None = None,
        pad_val: float = 0,
        seg_pad_val: float = 255,
        bgr_to_rgb: bool = False,
        rgb_to_bgr: bool = False,
        batch_augments: Any = None,
        test_cfg: Mapping[str, Any] | None = None,
        non_blocking: bool | None = None,
    ) -> None:
        super().__init__(non_blocking=non_blocking)
        if bgr_to_rgb and rgb_to_bgr:
            raise ConfigError(
                "data_preprocessor: set bgr_to_rgb or rgb_to_bgr, not both (each swaps channels)."
            )
        self.size = _size_pair(size, "data_preprocessor.size")
        if size_divisor is not None and (not isinstance(size_divisor, int) or size_divisor < 1):
            raise ConfigError(
                f"data_preprocessor.size_divisor must be a positive int, got {size_divisor!r}."
            )
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.channel_conversion = bgr_to_rgb or rgb_to_bgr
        self._enable_normalize = mean is not None
        if mean is not None:
            if std is None:
                raise ConfigError("data_preprocessor: mean is set but std is not; set both.")
            # one value for all channels or one per channel (6 for change detection's pairs)
            if not mean or not std or len(mean) != len(std) and 1 not in (len(mean), len(std)):
                raise ConfigError(
                    f"data_preprocessor mean/std need 1 value or one per channel each, got "
                    f"mean={list(mean)}, std={list(std)}."
                )
            # Not saved in checkpoints (MMSeg's keys have no data_preprocessor entries).
            self.register_buffer("mean", torch.tensor(mean).view(-1, 1, 1), persistent=False)
            if any(not value > 0 for value in std):
                raise ConfigError(
                    f"data_preprocessor.std must be > 0 (it divides), got {list(std)}."
                )
            self.register_buffer("std", torch.tensor(std).view(-1, 1, 1), persistent=False)
        self.batch_augments = self._build_augments(batch_augments)
        self.test_cfg = dict(test_cfg) if test_cfg else None
        if self.test_cfg:
            _size_pair(self.test_cfg.get("size"), "data_preprocessor.test_cfg.size")

    @staticmethod
    def _build_augments(batch_augments: Any) -> list[Callable[..., Any]] | None:
        if batch_augments is None:
            return None
        items = batch_augments if isinstance(batch_augments, (list, tuple)) else [batch_augments]
        built = [
            build_if_dict(item, MODELS, key=f"data_preprocessor.batch_augments[{i}]")
            for i, item in enumerate(items)
        ]
        for item in built:
            if not callable(item):
                raise ConfigError(f"batch_augments entries must be callables, got {item!r}.")
        return built

    def _normalize(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        result = []
        for img in inputs:
            if self.channel_conversion and img.shape[0] == 3:
                img = img[[2, 1, 0], ...]
            img = img.float()
            if self._enable_normalize:
                img = (img - self.mean) / self.std
            result.append(img)
        return result

    def forward(self, data: Mapping[str, Any], training: bool = False) -> dict[str, Any]:
        """Return ``dict(inputs=(N, C, H, W) float tensor, data_samples=[...])``."""
        data = cast_to_device(dict(data), self.device, self.non_blocking)
        inputs = image_list(data.get("inputs"))
        data_samples: list[SegDataSample] | None = data.get("data_samples")
        inputs = self._normalize(inputs)

        if training:
            if data_samples is None:
                raise ConfigError("Training batches need data_samples (with gt_sem_seg).")
            batch, paddings = pad_batch(inputs, self.size, self.size_divisor, self.pad_val)
            for sample, img, padding in zip(data_samples, inputs, paddings):
                self._pad_labels(sample, padding)
                sample.set_metainfo(
                    {
                        "img_shape": tuple(int(s) for s in img.shape[-2:]),
                        "pad_shape": tuple(int(s) for s in batch.shape[-2:]),
                        "padding_size": padding,
                    }
                )
            if self.batch_augments:
                for augment in self.batch_augments:
                    batch, data_samples = augment(batch, data_samples)
            return dict(inputs=batch, data_samples=data_samples)

        shapes = {tuple(img.shape[-2:]) for img in inputs}
        if len(shapes) > 1:
            raise ConfigError(
                f"At inference all images of a batch must have the same size, got {sorted(shapes)}. "
                "Use batch_size=1 for validation/test, or resize to a fixed scale."
            )
        if self.test_cfg and (self.test_cfg.get("size") or self.test_cfg.get("size_divisor")):
            size = _size_pair(self.test_cfg.get("size"), "data_preprocessor.test_cfg.size")
            batch, paddings = pad_batch(
                inputs, size, self.test_cfg.get("size_divisor"), self.pad_val
            )
            for sample, padding in zip(data_samples or [], paddings):
                sample.set_metainfo(
                    {
                        "padding_size": padding,
                        "pad_shape": tuple(int(s) for s in batch.shape[-2:]),
                    }
                )
        else:
            batch = torch.stack(inputs, dim=0)
        return dict(inputs=batch, data_samples=data_samples)

    def _pad_labels(self, sample: SegDataSample, padding: tuple[int, int, int, int]) -> None:
        for name in ("gt_sem_seg", "gt_edge_map"):
            field = getattr(sample, name, None)
            if field is None:
                continue
            if any(padding):
                setattr(sample, name, PixelData(F.pad(field.data, padding, value=self.seg_pad_val)))
