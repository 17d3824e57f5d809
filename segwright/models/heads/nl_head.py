"""NLNet's ``NLHead``: an FCN head with a non-local block between its two convs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from segwright.models.heads.fcn_head import FCNHead
from segwright.models.layers.non_local import NonLocal2d
from segwright.registry import MODELS


@MODELS.register_module()
class NLHead(FCNHead):
    """Non-local head: ``convs[0]`` -> ``nl_block`` -> ``convs[1]`` (-> ``conv_cat``).

    Args:
        reduction: Channel reduction of the non-local embeddings.
        use_scale: Scale ``embedded_gaussian`` energies by ``1/sqrt(channels // reduction)``.
        mode: Non-local pairwise function (see :class:`NonLocal2d`).
        **kwargs: :class:`FCNHead` arguments except ``num_convs`` (always 2).
    """

    def __init__(
        self,
        reduction: int = 2,
        use_scale: bool = True,
        mode: str = "embedded_gaussian",
        **kwargs: Any,
    ) -> None:
        super().__init__(num_convs=2, **kwargs)
        self.reduction = reduction
        self.use_scale = use_scale
        self.mode = mode
        self.nl_block = NonLocal2d(
            in_channels=self.channels,
            reduction=reduction,
            use_scale=use_scale,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            mode=mode,
        )

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        out = self.convs[1](self.nl_block(self.convs[0](x)))
        if self.concat_input:
            out = self.conv_cat(torch.cat([x, out], dim=1))
        return out
