"""DPT's ``DPTHead``: reassemble ViT tokens into a 4-level pyramid, then fuse it top-down."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, build_activation_layer, resize
from segwright.models.utils import BaseModule
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

READOUT_TYPES = ("ignore", "add", "project")


class ReassembleBlocks(BaseModule):
    """Per level: fold the class token in (``readout_type``), 1x1 ``projects.{i}``, then
    ``resize_layers.{i}``: x4 and x2 transposed convs, identity, a stride-2 3x3 conv.

    Shapes:
        4 x ``[(N, in_channels, h, w), (N, in_channels)]`` -> maps of
        ``(N, out_channels[i], h * (4, 2, 1, 1/2)[i], ...)``.
    """

    def __init__(
        self,
        in_channels: int = 768,
        out_channels: Sequence[int] = (96, 192, 384, 768),
        readout_type: str = "ignore",
        patch_size: int = 16,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if readout_type not in READOUT_TYPES:
            raise ConfigError(f"DPT readout_type must be one of {READOUT_TYPES}: {readout_type!r}")
        if len(out_channels) != 4:
            raise ConfigError(f"DPT reassembles 4 levels; post_process_channels={out_channels}.")
        self.readout_type = readout_type
        self.patch_size = patch_size
        self.projects = nn.ModuleList(
            ConvModule(in_channels, c, kernel_size=1, act_cfg=None) for c in out_channels
        )
        c = out_channels
        self.resize_layers = nn.ModuleList([
            nn.ConvTranspose2d(c[0], c[0], kernel_size=4, stride=4, padding=0),
            nn.ConvTranspose2d(c[1], c[1], kernel_size=2, stride=2, padding=0),
            nn.Identity(),
            nn.Conv2d(c[3], c[3], kernel_size=3, stride=2, padding=1),
        ])  # fmt: skip
        if readout_type == "project":
            self.readout_projects = nn.ModuleList(
                nn.Sequential(
                    nn.Linear(2 * in_channels, in_channels),
                    build_activation_layer(dict(type="GELU")),
                )
                for _ in out_channels
            )

    def forward(self, inputs: Sequence[Sequence[torch.Tensor]]) -> list[torch.Tensor]:
        outs = []
        for i, pair in enumerate(inputs):
            if len(pair) != 2:
                raise ValueError(
                    "DPTHead needs [feature, cls_token] pairs: set output_cls_token=True in the "
                    "VisionTransformer backbone."
                )
            x, cls_token = pair
            shape = x.shape
            if self.readout_type == "project":
                tokens = x.flatten(2).permute(0, 2, 1)
                readout = cls_token.unsqueeze(1).expand_as(tokens)
                x = self.readout_projects[i](torch.cat((tokens, readout), -1))
                x = x.permute(0, 2, 1).reshape(shape)
            elif self.readout_type == "add":
                x = (x.flatten(2) + cls_token.unsqueeze(-1)).reshape(shape)
            outs.append(self.resize_layers[i](self.projects[i](x)))
        return outs


class PreActResidualConvUnit(BaseModule):
    """``x + conv2(conv1(x))`` with pre-activation ConvModules (act -> conv -> norm)."""

    def __init__(
        self,
        in_channels: int,
        act_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        stride: int = 1,
        dilation: int = 1,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        order = ("act", "conv", "norm")
        self.conv1 = ConvModule(
            in_channels, in_channels, 3, stride=stride, padding=dilation, dilation=dilation,
            norm_cfg=norm_cfg, act_cfg=act_cfg, bias=False, order=order,
        )  # fmt: skip
        self.conv2 = ConvModule(
            in_channels, in_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg,
            bias=False, order=order,
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x.clone()  # an in-place first activation would overwrite x
        return self.conv2(self.conv1(x)) + identity


class FeatureFusionBlock(BaseModule):
    """Add a residual-refined skip (resized to ``x``), refine, upsample x2, 1x1 ``project``."""

    def __init__(
        self,
        in_channels: int,
        act_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        expand: bool = False,
        align_corners: bool = True,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.expand = expand
        self.align_corners = align_corners
        self.out_channels = in_channels // 2 if expand else in_channels
        self.project = ConvModule(in_channels, self.out_channels, 1, act_cfg=None, bias=True)
        self.res_conv_unit1: PreActResidualConvUnit | None = PreActResidualConvUnit(
            in_channels, act_cfg=act_cfg, norm_cfg=norm_cfg
        )
        self.res_conv_unit2 = PreActResidualConvUnit(
            in_channels, act_cfg=act_cfg, norm_cfg=norm_cfg
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        if skip is not None:
            if skip.shape != x.shape:
                skip = resize(skip, size=x.shape[2:], mode="bilinear", align_corners=False)
            if self.res_conv_unit1 is None:
                raise ValueError("This fusion block has no skip branch (res_conv_unit1).")
            x = x + self.res_conv_unit1(skip)
        x = self.res_conv_unit2(x)
        x = resize(x, scale_factor=2, mode="bilinear", align_corners=self.align_corners)
        return self.project(x)


@MODELS.register_module()
class DPTHead(BaseDecodeHead):
    """Dense Prediction Transformer head.

    Args:
        embed_dims: Width of the ViT tokens.
        post_process_channels: Channels of the four reassembled levels.
        readout_type: How the class token is used: ``'ignore'``, ``'add'``, ``'project'``.
        patch_size: Patch size of the backbone.
        expand_channels: Level ``i`` has ``post_process_channels[i] * 2**i`` channels.
        act_cfg, norm_cfg: Of the fusion blocks' residual units and the final ``project``.
        **kwargs: :class:`BaseDecodeHead` arguments (four ``multiple_select`` inputs, each a
            ``[feature, cls_token]`` pair from ``VisionTransformer(output_cls_token=True)``).

    Shapes:
        Features ``(N, embed_dims, h, w)`` -> logits ``(N, num_classes, 8h, 8w)``.
    """

    def __init__(
        self,
        embed_dims: int = 768,
        post_process_channels: Sequence[int] = (96, 192, 384, 768),
        readout_type: str = "ignore",
        patch_size: int = 16,
        expand_channels: bool = False,
        act_cfg: Mapping[str, Any] | None = dict(type="ReLU"),  # noqa: B006 - MMSeg default
        norm_cfg: Mapping[str, Any] | None = dict(type="BN"),  # noqa: B006 - MMSeg default
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.expand_channels = expand_channels
        self.reassemble_blocks = ReassembleBlocks(
            embed_dims, list(post_process_channels), readout_type, patch_size
        )
        self.post_process_channels = [
            c * 2**i if expand_channels else c for i, c in enumerate(post_process_channels)
        ]
        self.convs = nn.ModuleList(
            ConvModule(c, self.channels, 3, padding=1, act_cfg=None, bias=False)
            for c in self.post_process_channels
        )
        self.fusion_blocks = nn.ModuleList(
            FeatureFusionBlock(self.channels, act_cfg, norm_cfg) for _ in self.convs
        )
        self.fusion_blocks[0].res_conv_unit1 = None  # the coarsest level has no skip
        self.project = ConvModule(self.channels, self.channels, 3, padding=1, norm_cfg=norm_cfg)
        self.num_fusion_blocks = len(self.fusion_blocks)
        self.num_reassemble_blocks = len(self.reassemble_blocks.resize_layers)
        self.num_post_process_channels = len(self.post_process_channels)

    def forward(self, inputs: Sequence[Any]) -> torch.Tensor:
        if len(inputs) != self.num_reassemble_blocks:
            raise ValueError(f"DPTHead expects 4 inputs, got {len(inputs)}.")
        x = self.reassemble_blocks(self._transform_inputs(inputs))
        x = [conv(feature) for conv, feature in zip(self.convs, x)]
        out = self.fusion_blocks[0](x[-1])
        for i in range(1, self.num_fusion_blocks):
            out = self.fusion_blocks[i](out, x[-(i + 1)])
        return self.cls_seg(self.project(out))
