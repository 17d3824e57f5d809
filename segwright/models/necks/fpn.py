"""Feature Pyramid Network neck (``FPN``) with MMSeg's arguments and keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.layers import ConvModule, resize
from segwright.models.utils import BaseModule
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

EXTRA_SOURCES = ("on_input", "on_lateral", "on_output")


@MODELS.register_module()
class FPN(BaseModule):
    """Top-down feature pyramid: 1x1 ``lateral_convs``, upsample-and-add, 3x3 ``fpn_convs``.

    Args:
        in_channels: Channels of each input level.
        out_channels: Channels of every output level.
        num_outs: Number of outputs; levels beyond the inputs come from stride-2 max pooling
            or, with ``add_extra_convs``, from extra stride-2 3x3 convs.
        start_level: First input level used.
        end_level: Input level after the last one used (-1: all).
        add_extra_convs: False, True (``'on_output'``, or ``'on_input'`` with
            ``extra_convs_on_inputs``), or the source name ``'on_input'``/``'on_lateral'``/
            ``'on_output'``.
        extra_convs_on_inputs: Legacy switch for ``add_extra_convs=True``.
        relu_before_extra_convs: ReLU before every extra conv but the first.
        no_norm_on_lateral: No norm in the lateral convs.
        conv_cfg, norm_cfg, act_cfg: Layer configs.
        upsample_cfg: ``F.interpolate`` arguments of the top-down path.
        init_cfg: Default: Xavier-uniform for every ``Conv2d``.

    Shapes:
        A tuple of ``num_outs`` maps with ``out_channels`` channels.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        num_outs: int,
        start_level: int = 0,
        end_level: int = -1,
        add_extra_convs: bool | str = False,
        extra_convs_on_inputs: bool = False,
        relu_before_extra_convs: bool = False,
        no_norm_on_lateral: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = None,
        upsample_cfg: Mapping[str, Any] = dict(mode="nearest"),  # noqa: B006 - MMSeg default
        init_cfg: Any = dict(type="Xavier", layer="Conv2d", distribution="uniform"),  # noqa: B006
    ) -> None:
        super().__init__(init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise ConfigError(f"FPN in_channels must be a list, got {in_channels!r}.")
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.no_norm_on_lateral = no_norm_on_lateral
        self.upsample_cfg = dict(upsample_cfg)

        if end_level == -1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ConfigError(
                    f"FPN num_outs ({num_outs}) must be at least the number of used inputs "
                    f"({self.num_ins - start_level})."
                )
        else:
            self.backbone_end_level = end_level
            if end_level > self.num_ins or num_outs != end_level - start_level:
                raise ConfigError(
                    f"FPN end_level={end_level} must be <= len(in_channels)={self.num_ins} and "
                    f"num_outs ({num_outs}) must equal end_level - start_level "
                    f"({end_level - start_level})."
                )
        self.start_level = start_level
        self.end_level = end_level

        if isinstance(add_extra_convs, str):
            if add_extra_convs not in EXTRA_SOURCES:
                raise ConfigError(
                    f"FPN add_extra_convs must be a bool or one of {EXTRA_SOURCES}, got "
                    f"{add_extra_convs!r}."
                )
        elif not isinstance(add_extra_convs, bool):
            raise ConfigError(
                f"FPN add_extra_convs must be a bool or a string, got {add_extra_convs!r}."
            )
        elif add_extra_convs:
            add_extra_convs = "on_input" if extra_convs_on_inputs else "on_output"
        self.add_extra_convs = add_extra_convs

        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        layer_args = dict(conv_cfg=conv_cfg, act_cfg=act_cfg, inplace=False)
        for i in range(start_level, self.backbone_end_level):
            self.lateral_convs.append(
                ConvModule(
                    in_channels[i], out_channels, 1,
                    norm_cfg=None if no_norm_on_lateral else norm_cfg, **layer_args,
                )
            )  # fmt: skip
            self.fpn_convs.append(
                ConvModule(
                    out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, **layer_args
                )
            )
        extra_levels = num_outs - self.backbone_end_level + start_level
        if self.add_extra_convs and extra_levels >= 1:
            for i in range(extra_levels):
                if i == 0 and self.add_extra_convs == "on_input":
                    channels = self.in_channels[self.backbone_end_level - 1]
                else:
                    channels = out_channels
                self.fpn_convs.append(
                    ConvModule(
                        channels, out_channels, 3, stride=2, padding=1, norm_cfg=norm_cfg,
                        **layer_args,
                    )
                )  # fmt: skip

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if len(inputs) != len(self.in_channels):
            raise ValueError(
                f"FPN expects {len(self.in_channels)} input levels, got {len(inputs)}."
            )
        laterals = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        levels = len(laterals)
        for i in range(levels - 1, 0, -1):
            if "scale_factor" in self.upsample_cfg:
                up = resize(laterals[i], **self.upsample_cfg)
            else:
                up = resize(laterals[i], size=laterals[i - 1].shape[2:], **self.upsample_cfg)
            laterals[i - 1] = laterals[i - 1] + up
        outs = [self.fpn_convs[i](laterals[i]) for i in range(levels)]
        if self.num_outs > len(outs):
            if not self.add_extra_convs:
                for _ in range(self.num_outs - levels):
                    outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            else:
                source = {
                    "on_input": lambda: inputs[self.backbone_end_level - 1],
                    "on_lateral": lambda: laterals[-1],
                    "on_output": lambda: outs[-1],
                }[self.add_extra_convs]()  # type: ignore[index]
                outs.append(self.fpn_convs[levels](source))
                for i in range(levels + 1, self.num_outs):
                    x = F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]
                    outs.append(self.fpn_convs[i](x))
        return tuple(outs)
