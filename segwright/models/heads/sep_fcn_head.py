"""``DepthwiseSeparableFCNHead``: ``FCNHead`` with depthwise-separable convs (Fast-SCNN's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.models.heads.fcn_head import FCNHead
from segwright.models.layers import DepthwiseSeparableConvModule
from segwright.registry import MODELS


@MODELS.register_module()
class DepthwiseSeparableFCNHead(FCNHead):
    """An ``FCNHead`` whose convs (and ``conv_cat``) are depthwise-separable.

    As in MMSeg, the separable convs take the head's ``norm_cfg`` only: their pointwise part
    always ends in ReLU, and they are not dilated.

    Args:
        dw_act_cfg: Activation after the depthwise part (None: none; ``'default'``: ReLU).
        **kwargs: :class:`FCNHead` arguments.
    """

    def __init__(self, dw_act_cfg: Mapping[str, Any] | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        k = self.kernel_size

        def separable(in_channels: int) -> DepthwiseSeparableConvModule:
            return DepthwiseSeparableConvModule(
                in_channels, self.channels, kernel_size=k, padding=k // 2,
                norm_cfg=self.norm_cfg, dw_act_cfg=dw_act_cfg,
            )  # fmt: skip

        for i in range(self.num_convs):
            self.convs[i] = separable(self.in_channels if i == 0 else self.channels)  # type: ignore[arg-type]
        if self.concat_input:
            self.conv_cat = separable(self.in_channels + self.channels)  # type: ignore[operator]
