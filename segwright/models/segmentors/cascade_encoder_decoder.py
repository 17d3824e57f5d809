"""``CascadeEncoderDecoder``: decode heads in a chain, each refining the previous output."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from segwright.models.segmentors.base import add_prefix
from segwright.models.segmentors.encoder_decoder import EncoderDecoder, _metas_for
from segwright.models.utils import ModuleList
from segwright.registry import MODELS, build_if_dict
from segwright.structures import SegDataSample
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class CascadeEncoderDecoder(EncoderDecoder):
    """Encoder-decoder with ``num_stages`` decode heads (e.g. OCRNet: FCN then OCR head).

    Head ``i > 0`` is called as ``head(inputs, prev_output)``; losses are logged as
    ``decode_0.*``, ``decode_1.*``, ...; predictions come from the last head.

    Args:
        num_stages: Number of decode heads.
        decode_head: A list of ``num_stages`` modules or config dicts.
        **kwargs: :class:`EncoderDecoder` arguments.
    """

    def __init__(self, num_stages: int, decode_head: Sequence[Any], **kwargs: Any) -> None:
        self.num_stages = num_stages
        super().__init__(decode_head=decode_head, **kwargs)

    def _init_decode_head(self, decode_head: Any) -> None:
        if not isinstance(decode_head, (list, tuple)) or len(decode_head) != self.num_stages:
            raise ConfigError(
                f"CascadeEncoderDecoder needs a list of num_stages={self.num_stages} decode "
                f"heads, got {decode_head!r}."
            )
        self.decode_head = ModuleList(
            build_if_dict(cfg, MODELS, key=f"decode_head[{i}]") for i, cfg in enumerate(decode_head)
        )
        last = self.decode_head[-1]
        self.align_corners = last.align_corners
        self.num_classes = last.num_classes
        self.out_channels = last.out_channels

    def _cascade(self, x: Any) -> torch.Tensor:
        """Output of heads ``0 .. num_stages - 2``."""
        out = self.decode_head[0].forward(x)
        for i in range(1, self.num_stages - 1):
            out = self.decode_head[i].forward(x, out)
        return out

    def encode_decode(
        self, inputs: torch.Tensor, batch_img_metas: Sequence[Mapping[str, Any]]
    ) -> torch.Tensor:
        x = self.extract_feat(inputs)
        prev = self._cascade(x)
        return self.decode_head[-1].predict(
            x, prev, _metas_for(inputs, batch_img_metas), self.test_cfg
        )

    def _forward(
        self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample] | None = None
    ) -> torch.Tensor:
        x = self.extract_feat(inputs)
        return self.decode_head[-1].forward(x, self._cascade(x))

    def loss(
        self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        if data_samples is None:
            raise ConfigError("mode='loss' needs data_samples with gt_sem_seg.")
        x = self.extract_feat(inputs)
        losses = add_prefix(self.decode_head[0].loss(x, data_samples, self.train_cfg), "decode_0")
        prev = None
        for i in range(1, self.num_stages):
            # The previous head's raw logits, as MMSeg 0.x passes them (1.x resizes them first).
            head = self.decode_head[i - 1]
            prev = head.forward(x) if i == 1 else head.forward(x, prev)
            stage = self.decode_head[i].loss(x, prev, data_samples, self.train_cfg)
            losses.update(add_prefix(stage, f"decode_{i}"))
        losses.update(self._auxiliary_losses(x, data_samples))
        return losses
