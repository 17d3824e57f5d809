"""``EncoderDecoder``: backbone (+ neck) -> decode head (+ auxiliary heads), SPEC §9.1."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.segmentors.base import BaseSegmentor, add_prefix
from segwright.models.utils import ModuleList
from segwright.registry import MODELS, build_if_dict
from segwright.structures import SegDataSample
from segwright.utils.errors import ConfigError
from segwright.utils.suggest import close_matches

TEST_MODES = ("whole", "slide")


def _pair(value: Any, name: str) -> tuple[int, int]:
    """An int or a 2-sequence of ints as ``(h, w)``; ints are accepted (MMSeg needs tuples)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, Sequence) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    raise ConfigError(f"test_cfg.{name} must be an int or an (h, w) pair of ints, got {value!r}.")


def check_test_cfg(test_cfg: Mapping[str, Any] | None) -> None:
    """Reject an unknown ``mode`` or a slide config without ``crop_size``/``stride`` early."""
    cfg = test_cfg or {}
    for key in cfg:  # other keys may be read by heads (PointRend's); a near-miss is a typo
        for known in close_matches(
            str(key), [k for k in ("mode", "crop_size", "stride") if k not in cfg], n=1
        ):
            raise ConfigError(f"model.test_cfg has {key!r}: did you mean {known!r}?")
    mode = cfg.get("mode", "whole")
    if mode not in TEST_MODES:
        raise ConfigError(f"model.test_cfg.mode must be 'whole' or 'slide', got {mode!r}.")
    if mode == "slide":
        for key in ("crop_size", "stride"):
            if cfg.get(key) is None:
                raise ConfigError(
                    f"model.test_cfg mode='slide' needs {key}, e.g. "
                    "test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341))."
                )
            size = _pair(cfg[key], key)
            if min(size) <= 0:
                raise ConfigError(f"model.test_cfg.{key} must be positive, got {cfg[key]!r}.")


@MODELS.register_module()
class EncoderDecoder(BaseSegmentor):
    """Backbone, optional neck, a decode head and optional auxiliary head(s).

    Args:
        backbone: Module or config dict.
        decode_head: Module or config dict.
        neck: Module or config dict, or None.
        auxiliary_head: Module, config dict, or a list of them (logged as ``aux_0.``, ...).
        train_cfg: Passed to the heads' ``loss``.
        test_cfg: ``dict(mode='whole')`` or ``dict(mode='slide', crop_size, stride)``;
            ``crop_size``/``stride`` may be ints or ``(h, w)`` pairs.
        data_preprocessor: Module or config dict (e.g. ``SegDataPreProcessor``).
        pretrained: Legacy backbone weights path, moved to ``backbone.pretrained``.
        init_cfg: Initialisation config.
    """

    def __init__(
        self,
        backbone: nn.Module | Mapping[str, Any],
        decode_head: nn.Module | Mapping[str, Any],
        neck: nn.Module | Mapping[str, Any] | None = None,
        auxiliary_head: Any = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        data_preprocessor: Any = None,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if pretrained is not None:
            if not isinstance(backbone, Mapping):
                raise ConfigError(
                    "EncoderDecoder pretrained= needs the backbone as a config dict; for a "
                    "built backbone, load its weights yourself."
                )
            if backbone.get("pretrained") is not None:
                raise ConfigError(
                    "Both model.pretrained and model.backbone.pretrained are set; keep one."
                )
            backbone = {**backbone, "pretrained": pretrained}
        self.backbone = build_if_dict(backbone, MODELS, key="backbone")
        if neck is not None:
            self.neck = build_if_dict(neck, MODELS, key="neck")
        self._init_decode_head(decode_head)
        self._init_auxiliary_head(auxiliary_head)
        check_test_cfg(test_cfg)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    def _init_decode_head(self, decode_head: Any) -> None:
        if decode_head is None:
            raise ConfigError("EncoderDecoder needs a decode_head.")
        if isinstance(decode_head, (list, tuple)):
            raise ConfigError(
                "EncoderDecoder takes one decode_head (a dict), got a list. Heads that refine "
                "each other need type='CascadeEncoderDecoder' with num_stages=len(decode_head)."
            )
        self.decode_head = build_if_dict(decode_head, MODELS, key="decode_head")
        self.align_corners = self.decode_head.align_corners
        self.num_classes = self.decode_head.num_classes
        self.out_channels = self.decode_head.out_channels

    def _init_auxiliary_head(self, auxiliary_head: Any) -> None:
        if auxiliary_head is None:
            return
        if isinstance(auxiliary_head, (list, tuple)):
            # A BaseModule list, so init_weights reaches these heads (MMSeg's nn.ModuleList
            # leaves them at PyTorch's default init).
            self.auxiliary_head = ModuleList(
                build_if_dict(cfg, MODELS, key=f"auxiliary_head[{i}]")
                for i, cfg in enumerate(auxiliary_head)
            )
        else:
            self.auxiliary_head = build_if_dict(auxiliary_head, MODELS, key="auxiliary_head")

    # -- features and logits -----------------------------------------------------------------

    def extract_feat(self, inputs: torch.Tensor) -> Any:
        """Backbone (then neck) features: a tuple of maps."""
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    def encode_decode(
        self, inputs: torch.Tensor, batch_img_metas: Sequence[Mapping[str, Any]]
    ) -> torch.Tensor:
        """Decode-head logits resized to the input size.

        Shapes:
            inputs ``(N, C, H, W)`` -> ``(N, out_channels, H, W)``.
        """
        x = self.extract_feat(inputs)
        return self.decode_head.predict(x, _metas_for(inputs, batch_img_metas), self.test_cfg)

    def _forward(
        self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample] | None = None
    ) -> torch.Tensor:
        """Raw decode-head logits (``mode='tensor'``), at the head's resolution."""
        return self.decode_head.forward(self.extract_feat(inputs))

    # -- training ----------------------------------------------------------------------------

    def loss(
        self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        """Losses of the decode head (``decode.*``) and auxiliary heads (``aux.*``/``aux_i.*``)."""
        if data_samples is None:
            raise ConfigError("mode='loss' needs data_samples with gt_sem_seg.")
        x = self.extract_feat(inputs)
        losses = add_prefix(self.decode_head.loss(x, data_samples, self.train_cfg), "decode")
        losses.update(self._auxiliary_losses(x, data_samples))
        return losses

    def _auxiliary_losses(
        self, x: Any, data_samples: Sequence[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        """Auxiliary losses, prefixed ``aux.`` (one head) or ``aux_0.``, ``aux_1.`` (a list)."""
        losses: dict[str, torch.Tensor] = {}
        if not self.with_auxiliary_head:
            return losses
        if isinstance(self.auxiliary_head, nn.ModuleList):
            for i, head in enumerate(self.auxiliary_head):
                losses.update(add_prefix(head.loss(x, data_samples, self.train_cfg), f"aux_{i}"))
        else:
            aux = self.auxiliary_head.loss(x, data_samples, self.train_cfg)
            losses.update(add_prefix(aux, "aux"))
        return losses

    # -- inference ---------------------------------------------------------------------------

    def predict(
        self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample] | None = None
    ) -> list[SegDataSample]:
        """Predictions in data samples (see :meth:`postprocess_result`)."""
        if data_samples is not None:
            metas = [dict(sample.metainfo) for sample in data_samples]
        else:
            shape = tuple(inputs.shape[2:])
            metas = [
                dict(ori_shape=shape, img_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
                for _ in range(inputs.shape[0])
            ]
        return self.postprocess_result(self.inference(inputs, metas), data_samples)

    def inference(
        self, inputs: torch.Tensor, batch_img_metas: Sequence[Mapping[str, Any]]
    ) -> torch.Tensor:
        """Logits at the input size, by ``test_cfg.mode`` ('whole' or 'slide')."""
        mode = (self.test_cfg or {}).get("mode", "whole")
        if mode == "slide":
            return self.slide_inference(inputs, batch_img_metas)
        return self.whole_inference(inputs, batch_img_metas)

    def whole_inference(
        self, inputs: torch.Tensor, batch_img_metas: Sequence[Mapping[str, Any]]
    ) -> torch.Tensor:
        """Logits of the whole image at once."""
        return self.encode_decode(inputs, batch_img_metas)

    def slide_inference(
        self, inputs: torch.Tensor, batch_img_metas: Sequence[Mapping[str, Any]]
    ) -> torch.Tensor:
        """Average the logits of overlapping crops (SPEC §9.1).

        Windows start every ``stride`` pixels; the last row/column of windows is shifted back
        to end at the border; an image smaller than the crop is used whole. Each pixel's
        logits are the mean over the windows covering it.
        """
        cfg = self.test_cfg or {}
        h_stride, w_stride = _pair(cfg.get("stride"), "stride")
        h_crop, w_crop = _pair(cfg.get("crop_size"), "crop_size")
        batch, _, h_img, w_img = inputs.shape
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        preds = inputs.new_zeros((batch, self.out_channels, h_img, w_img))
        count = inputs.new_zeros((batch, 1, h_img, w_img))
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y2 = min(h_idx * h_stride + h_crop, h_img)
                x2 = min(w_idx * w_stride + w_crop, w_img)
                y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
                crop = inputs[:, :, y1:y2, x1:x2]
                logits = self.encode_decode(crop, batch_img_metas)
                preds += F.pad(logits, (x1, w_img - x2, y1, h_img - y2))
                count[:, :, y1:y2, x1:x2] += 1
        if (count == 0).any():  # cannot happen with positive strides; kept as a guard
            raise RuntimeError("Slide inference left pixels uncovered.")
        return preds / count


def _metas_for(
    inputs: torch.Tensor, batch_img_metas: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Copies of the metas whose image size is ``inputs``' (heads resize logits to it)."""
    size = torch.Size(inputs.shape[2:])
    metas = list(batch_img_metas) or [{}]
    return [{**meta, "img_shape": size, "pad_shape": size} for meta in metas]
