"""``FCNHead``: a few convs (optionally concatenated with the input) then ``conv_seg``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class FCNHead(BaseDecodeHead):
    """Fully convolutional head; MMSeg's usual auxiliary head (``num_convs=1``).

    Args:
        num_convs: ConvModules before the classifier (0: identity, needs
            ``in_channels == channels``).
        kernel_size: Their kernel size (padding ``(k // 2) * dilation``).
        concat_input: Fuse ``[input, convs(input)]`` with a k x k ``conv_cat``.
        dilation: Their dilation.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(
        self,
        num_convs: int = 2,
        kernel_size: int = 3,
        concat_input: bool = True,
        dilation: int = 1,
        **kwargs: Any,
    ) -> None:
        if not isinstance(num_convs, int) or num_convs < 0:
            raise ConfigError(f"FCNHead num_convs must be an int >= 0, got {num_convs!r}.")
        if not isinstance(dilation, int) or dilation <= 0:
            raise ConfigError(f"FCNHead dilation must be an int > 0, got {dilation!r}.")
        super().__init__(**kwargs)
        self.num_convs = num_convs
        self.concat_input = concat_input
        self.kernel_size = kernel_size
        if num_convs == 0 and self.in_channels != self.channels:
            raise ConfigError(
                f"FCNHead with num_convs=0 passes its input through, so in_channels "
                f"({self.in_channels}) must equal channels ({self.channels})."
            )
        padding = (kernel_size // 2) * dilation
        layer_args = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        convs: list[nn.Module] = [
            ConvModule(
                self.in_channels if i == 0 else self.channels,  # type: ignore[arg-type]
                self.channels, kernel_size, padding=padding, dilation=dilation, **layer_args,
            )
            for i in range(num_convs)
        ]  # fmt: skip
        self.convs = nn.Sequential(*convs) if convs else nn.Identity()
        if concat_input:
            self.conv_cat = ConvModule(
                self.in_channels + self.channels,  # type: ignore[operator]
                self.channels, kernel_size, padding=kernel_size // 2, **layer_args,
            )  # fmt: skip

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        feats = self.convs(x)
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._forward_feature(inputs))
