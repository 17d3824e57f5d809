"""Base of the heads that fuse the input with one context map per scale (APCNet, DMNet)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule
from segwright.utils.errors import ConfigError


class ContextConcatHead(BaseDecodeHead):
    """``[x, module_s(x) for s in scales]`` concatenated -> 3x3 ``bottleneck`` -> ``conv_seg``.

    Subclasses call :meth:`_build_context` with the attribute name MMSeg gives the module list
    (``acm_modules``, ``dcm_modules``), so checkpoint keys stay MMSeg's.
    """

    _context_name: str

    def _build_context(
        self, name: str, scales_key: str, scales: Any, make: Callable[..., nn.Module]
    ) -> None:
        """``make(scale, conv_cfg=, norm_cfg=, act_cfg=)`` per scale, and the ``bottleneck``.

        Raises:
            ConfigError: ``scales`` is not a list or tuple.
        """
        if not isinstance(scales, (list, tuple)):
            raise ConfigError(
                f"{type(self).__name__} {scales_key} must be a list or tuple, got {scales!r}."
            )
        layers = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self._context_name = name
        setattr(self, name, nn.ModuleList(make(s, **layers) for s in scales))
        self.bottleneck = ConvModule(
            self.in_channels + len(scales) * self.channels,  # type: ignore[operator]
            self.channels, 3, padding=1, **layers,
        )  # fmt: skip

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        context = getattr(self, self._context_name)
        return self.bottleneck(torch.cat([x, *(module(x) for module in context)], dim=1))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._forward_feature(inputs))
