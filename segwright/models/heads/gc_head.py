"""GCNet's ``GCHead``: an FCN head with a global context block between its two convs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from segwright.models.heads.fcn_head import FCNHead
from segwright.models.layers.context_block import ContextBlock
from segwright.registry import MODELS


@MODELS.register_module()
class GCHead(FCNHead):
    """Global context head: ``convs[0]`` -> ``gc_block`` -> ``convs[1]`` (-> ``conv_cat``).

    Args:
        ratio: Bottleneck ratio of the context transform.
        pooling_type: ``'att'`` or ``'avg'`` context pooling.
        fusion_types: ``'channel_add'`` and/or ``'channel_mul'``.
        **kwargs: :class:`FCNHead` arguments except ``num_convs`` (always 2).
    """

    def __init__(
        self,
        ratio: float = 1 / 4.0,
        pooling_type: str = "att",
        fusion_types: Sequence[str] = ("channel_add",),
        **kwargs: Any,
    ) -> None:
        super().__init__(num_convs=2, **kwargs)
        self.ratio = ratio
        self.pooling_type = pooling_type
        self.fusion_types = fusion_types
        self.gc_block = ContextBlock(
            in_channels=self.channels,
            ratio=ratio,
            pooling_type=pooling_type,
            fusion_types=fusion_types,
        )

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        out = self.convs[1](self.gc_block(self.convs[0](x)))
        if self.concat_input:
            out = self.conv_cat(torch.cat([x, out], dim=1))
        return out
