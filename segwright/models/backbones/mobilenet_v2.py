"""``MobileNetV2`` backbone with MMSeg's arguments and keys (``conv1``, ``layer1`` ... ``layer7``).

MMSeg's segmentation configs (``configs/mobilenet_v2/*``) use a dilated variant with output
stride 8: ``strides=(1, 2, 2, 1, 1, 1, 1)``, ``dilations=(1, 1, 1, 2, 2, 4, 4)``,
``out_indices=(1, 2, 4, 6)`` -> channels (24, 32, 96, 320) at strides (4, 8, 8, 8).
As in MMSeg, only the first block of a stage gets the stage's stride and dilation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.utils import (
    InvertedResidual,
    NormEvalMixin,
    freeze,
    make_divisible,
)
from segwright.models.layers import ConvModule
from segwright.models.utils import BaseModule
from segwright.models.utils.pretrained import conv_backbone_init, init_cfg_from_pretrained
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class MobileNetV2(NormEvalMixin, BaseModule):
    """MobileNetV2 (a 3x3 stride-2 stem, then seven stages of inverted residuals).

    Args:
        widen_factor: Channel multiplier (channels rounded to multiples of 8).
        strides, dilations: Per-stage (7 values) stride and dilation of the first block.
        out_indices: Stages (0..6) whose outputs are returned.
        frozen_stages: Freeze the stem's parameters and stages ``1..frozen_stages`` (-1: none).
        conv_cfg, norm_cfg, act_cfg: Layer configs (activation ReLU6 by default).
        norm_eval: Keep the batch norms in eval mode while training.
        with_cp: Gradient checkpointing in the blocks.
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_cfg: Initialisation config (default: Kaiming convs, constant-1 norms).

    Shapes:
        ``(N, 3, H, W)`` -> tuple of ``(N, out_channels[i], H / s_i, W / s_i)`` with
        ``s_i = out_strides[i]`` (a tuple even for one output, unlike MMSeg).
    """

    #: Per stage: expand ratio, channels, number of blocks.
    arch_settings = (
        (1, 16, 1),
        (6, 24, 2),
        (6, 32, 3),
        (6, 64, 4),
        (6, 96, 3),
        (6, 160, 3),
        (6, 320, 1),
    )

    def __init__(
        self,
        widen_factor: float = 1.0,
        strides: Sequence[int] = (1, 2, 2, 2, 1, 2, 1),
        dilations: Sequence[int] = (1, 1, 1, 1, 1, 1, 1),
        out_indices: Sequence[int] = (1, 2, 4, 6),
        frozen_stages: int = -1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: Mapping[str, Any] = dict(type="ReLU6"),  # noqa: B006 - MMSeg default
        norm_eval: bool = False,
        with_cp: bool = False,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        num_stages = len(self.arch_settings)
        self.init_cfg = init_cfg_from_pretrained(
            "MobileNetV2", pretrained, self.init_cfg, conv_backbone_init()
        )
        strides, dilations = tuple(strides), tuple(dilations)
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        if not len(strides) == len(dilations) == num_stages:
            raise ConfigError(
                f"MobileNetV2 needs {num_stages} strides and dilations (one per stage), got "
                f"strides={strides}, dilations={dilations}."
            )
        if not out_indices or any(i not in range(num_stages) for i in out_indices):
            raise ConfigError(
                f"MobileNetV2 out_indices {out_indices} must name stages 0..{num_stages - 1}."
            )
        if frozen_stages not in range(-1, num_stages + 1):
            raise ConfigError(
                f"MobileNetV2 frozen_stages must be -1..{num_stages}, got {frozen_stages!r}."
            )
        self.widen_factor = widen_factor
        self.strides = strides
        self.dilations = dilations
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self.in_channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvModule(
            3, self.in_channels, 3, stride=2, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )  # fmt: skip
        self.layers: list[str] = []
        stage_channels, stage_strides, total_stride = [], [], 2
        for i, (expand_ratio, channels, num_blocks) in enumerate(self.arch_settings):
            out_channels = make_divisible(channels * widen_factor, 8)
            layer = self.make_layer(
                out_channels, num_blocks, strides[i], dilations[i], expand_ratio
            )
            self.add_module(f"layer{i + 1}", layer)
            self.layers.append(f"layer{i + 1}")
            total_stride *= strides[i]
            stage_channels.append(out_channels)
            stage_strides.append(total_stride)
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(stage_channels[i] for i in out_indices)
        self.out_strides = tuple(stage_strides[i] for i in out_indices)
        self._freeze_stages()

    def make_layer(
        self, out_channels: int, num_blocks: int, stride: int, dilation: int, expand_ratio: float
    ) -> nn.Sequential:
        """One stage; only its first block takes ``stride`` and ``dilation`` (as in MMSeg)."""
        blocks = []
        for i in range(num_blocks):
            blocks.append(
                InvertedResidual(
                    self.in_channels,
                    out_channels,
                    stride if i == 0 else 1,
                    expand_ratio=expand_ratio,
                    dilation=dilation if i == 0 else 1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                    with_cp=self.with_cp,
                )
            )
            self.in_channels = out_channels
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.conv1(x)
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        """Stem: no gradients (its norm keeps training mode, as in MMSeg); stages: eval too."""
        if self.frozen_stages >= 0:
            for param in self.conv1.parameters():
                param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            freeze(getattr(self, f"layer{i}"))
