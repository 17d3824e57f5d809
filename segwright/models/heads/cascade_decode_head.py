"""``BaseCascadeDecodeHead``: a decode head that also reads the previous stage's logits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.structures import SegDataSample


class BaseCascadeDecodeHead(BaseDecodeHead):
    """Base of the later stages of a ``CascadeEncoderDecoder`` (e.g. ``OCRHead``).

    ``forward``, ``loss`` and ``predict`` take ``prev_output``, the logits of the stage before,
    as the segmentor passes them; everything else is :class:`BaseDecodeHead`'s.
    """

    def forward(  # type: ignore[override]
        self, inputs: Sequence[torch.Tensor], prev_output: torch.Tensor
    ) -> torch.Tensor:
        """Logits ``(N, out_channels, h, w)`` from the features and the previous logits."""
        raise NotImplementedError

    def loss(  # type: ignore[override]
        self,
        inputs: Sequence[torch.Tensor],
        prev_output: torch.Tensor,
        batch_data_samples: Sequence[SegDataSample],
        train_cfg: Any = None,
    ) -> dict[str, torch.Tensor]:
        """Forward, then the losses against the samples' ``gt_sem_seg``."""
        return self.loss_by_feat(self.forward(inputs, prev_output), batch_data_samples)

    def predict(  # type: ignore[override]
        self,
        inputs: Sequence[torch.Tensor],
        prev_output: torch.Tensor,
        batch_img_metas: Sequence[Mapping[str, Any]],
        test_cfg: Any = None,
    ) -> torch.Tensor:
        """Logits resized to the (padded) image size of the metas."""
        return self.predict_by_feat(self.forward(inputs, prev_output), batch_img_metas)
