"""CCNet's ``CCHead``: an FCN head with recurrent criss-cross attention between its convs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from segwright.models.heads.fcn_head import FCNHead
from segwright.models.layers.criss_cross import CrissCrossAttention
from segwright.registry import MODELS


@MODELS.register_module()
class CCHead(FCNHead):
    """Criss-cross head: ``convs[0]`` -> ``cca`` x ``recurrence`` -> ``convs[1]``.

    Two passes of the same block let every pixel reach every other one (row then column).

    Args:
        recurrence: How many times the (shared) criss-cross block is applied.
        **kwargs: :class:`FCNHead` arguments except ``num_convs`` (always 2); ``channels``
            must be at least 8.
    """

    def __init__(self, recurrence: int = 2, **kwargs: Any) -> None:
        super().__init__(num_convs=2, **kwargs)
        self.recurrence = recurrence
        self.cca = CrissCrossAttention(self.channels)

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        out = self.convs[0](x)
        for _ in range(self.recurrence):
            out = self.cca(out)
        out = self.convs[1](out)
        if self.concat_input:
            out = self.conv_cat(torch.cat([x, out], dim=1))
        return out
