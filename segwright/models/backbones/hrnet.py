"""HRNet (``HRNet``, ``HRModule``): parallel branches at strides 4/8/16/32 that keep exchanging.

Arguments and state-dict keys are MMSeg 1.2.2's (``conv1``/``norm1``/``conv2``/``norm2`` stem,
``layer1``, ``transition{1,2,3}``, ``stage{2,3,4}`` of ``HRModule``s with ``branches`` and
``fuse_layers``), so its HRNetV2 checkpoints (hr18, hr18s, hr48) load strictly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.res_layer import ResLayer
from segwright.models.backbones.resnet import BasicBlock, Bottleneck
from segwright.models.backbones.utils import NormEvalMixin, freeze
from segwright.models.layers import build_conv_layer, build_norm_layer, resize
from segwright.models.layers.upsample import Upsample
from segwright.models.utils import BaseModule, ModuleList, Sequential
from segwright.models.utils.pretrained import conv_backbone_init, init_cfg_from_pretrained
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

BLOCKS: dict[str, type[nn.Module]] = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}
STAGE_KEYS = ("num_modules", "num_branches", "block", "num_blocks", "num_channels")


def _conv_norm(
    conv_cfg: Mapping[str, Any] | None,
    norm_cfg: Mapping[str, Any],
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int,
    relu: bool,
    inplace: bool = False,
) -> nn.Sequential:
    """``conv -> norm (-> ReLU)`` with keys ``0``, ``1`` (the ReLU has none)."""
    layers = [
        build_conv_layer(
            conv_cfg, in_channels, out_channels, kernel_size, stride=stride,
            padding=kernel_size // 2, bias=False,
        ),
        build_norm_layer(norm_cfg, out_channels)[1],
    ]  # fmt: skip
    if relu:
        layers.append(nn.ReLU(inplace=inplace))
    return nn.Sequential(*layers)


class HRModule(BaseModule):
    """One high-resolution module: a residual branch per resolution, then the exchange.

    Output branch ``i`` sums every branch ``j`` brought to its resolution: 1x1 conv + norm and a
    bilinear upsampling for lower resolutions (``j > i``), ``i - j`` stride-2 3x3 convs for
    higher ones (``j < i``); then a ReLU.

    Args:
        num_branches: Parallel resolutions.
        blocks: ``BasicBlock`` or ``Bottleneck``.
        num_blocks: Blocks per branch.
        in_channels: Input channels per branch.
        num_channels: Block width per branch (outputs ``num_channels[i] * expansion``).
        multiscale_output: Output every branch; False: only the highest resolution.
        with_cp: Gradient checkpointing in the blocks.
        conv_cfg, norm_cfg: Layer configs.
        block_init_cfg: ``init_cfg`` of the blocks.
        init_cfg: Initialisation config.

    Shapes:
        list of ``(N, in_channels[i], H / 2**i, W / 2**i)`` -> list of
        ``(N, num_channels[i] * expansion, H / 2**i, W / 2**i)``.
    """

    def __init__(
        self,
        num_branches: int,
        blocks: type[nn.Module],
        num_blocks: Sequence[int],
        in_channels: Sequence[int],
        num_channels: Sequence[int],
        multiscale_output: bool = True,
        with_cp: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = dict(type="BN", requires_grad=True),  # noqa: B006
        block_init_cfg: Any = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        for name, values in (
            ("num_blocks", num_blocks),
            ("num_channels", num_channels),
            ("in_channels", in_channels),
        ):
            if len(values) != num_branches:
                raise ConfigError(
                    f"HRModule has num_branches={num_branches} but {len(values)} {name} "
                    f"({list(values)}): give one per branch."
                )
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.block_init_cfg = block_init_cfg
        expansion = blocks.expansion  # type: ignore[attr-defined]
        self.branches = ModuleList(
            ResLayer(
                blocks, in_channels[i], num_channels[i], num_blocks[i], conv_cfg=conv_cfg,
                norm_cfg=norm_cfg, with_cp=with_cp, init_cfg=block_init_cfg,
            )
            for i in range(num_branches)
        )  # fmt: skip
        #: Channels of each branch after its blocks (what the exchange mixes).
        self.in_channels = [c * expansion for c in num_channels]
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=False)

    def _make_fuse_layers(self) -> nn.ModuleList | None:
        if self.num_branches == 1:
            return None
        channels, cfgs = self.in_channels, (self.conv_cfg, self.norm_cfg)
        fuse_layers = nn.ModuleList()
        for i in range(self.num_branches if self.multiscale_output else 1):
            row: list[nn.Module | None] = []
            for j in range(self.num_branches):
                if j > i:
                    up = _conv_norm(*cfgs, channels[j], channels[i], 1, 1, relu=False)
                    up.append(
                        Upsample(scale_factor=2 ** (j - i), mode="bilinear", align_corners=False)
                    )
                    row.append(up)
                elif j == i:
                    row.append(None)
                else:  # i - j stride-2 convs; only the last one changes channels, without ReLU
                    steps = [
                        _conv_norm(*cfgs, channels[j], channels[j], 3, 2, relu=True)
                        for _ in range(i - j - 1)
                    ]
                    steps.append(_conv_norm(*cfgs, channels[j], channels[i], 3, 2, relu=False))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(nn.ModuleList(row))
        return fuse_layers

    def forward(self, x: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        outs = [branch(t) for branch, t in zip(self.branches, x)]
        if self.fuse_layers is None:
            return outs
        fused = []
        for i, row in enumerate(self.fuse_layers):
            y = outs[i]
            for j, layer in enumerate(row):
                if j > i:
                    # upsampling by 2**(j-i) can overshoot an odd size: resize to branch i's
                    y = y + resize(
                        layer(outs[j]), size=outs[i].shape[2:], mode="bilinear",
                        align_corners=False,
                    )  # fmt: skip
                elif j < i:
                    y = y + layer(outs[j])
            fused.append(self.relu(y))
        return fused


def _check_extra(extra: Any) -> None:
    if not isinstance(extra, Mapping):
        raise ConfigError(f"HRNet extra must be a dict of stage1..stage4, got {extra!r}.")
    for s in range(1, 5):
        stage = extra.get(f"stage{s}")
        if not isinstance(stage, Mapping) or any(k not in stage for k in STAGE_KEYS):
            raise ConfigError(
                f"HRNet extra.stage{s} must be a dict with keys {list(STAGE_KEYS)}, got {stage!r}."
            )
        branches = stage["num_branches"]
        if len(stage["num_blocks"]) != branches or len(stage["num_channels"]) != branches:
            raise ConfigError(
                f"HRNet extra.stage{s}: num_blocks {tuple(stage['num_blocks'])} and num_channels "
                f"{tuple(stage['num_channels'])} need num_branches={branches} items each."
            )
        if stage["block"] not in BLOCKS:
            raise ConfigError(
                f"HRNet extra.stage{s}.block must be one of {sorted(BLOCKS)}, got "
                f"{stage['block']!r}."
            )


@MODELS.register_module()
class HRNet(NormEvalMixin, BaseModule):
    """HRNet(V2) backbone: a stride-4 stem, a Bottleneck stage, then 3 multi-branch stages.

    Args:
        extra: ``stage1`` ... ``stage4`` dicts with ``num_modules``, ``num_branches``, ``block``
            (``'BASIC'``/``'BOTTLENECK'``), ``num_blocks`` and ``num_channels`` (one per branch).
        in_channels: Input image channels.
        conv_cfg, norm_cfg: Layer configs.
        norm_eval: Keep the norm layers in eval mode while training.
        with_cp: Gradient checkpointing in the blocks.
        frozen_stages: Freeze the stem and stages ``1..frozen_stages`` (-1: none).
        zero_init_residual: Accepted for MMSeg's signature; as in MMSeg 1.2.2 it has no effect.
        multiscale_output: Return every branch of stage 4; False: only the stride-4 one.
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_cfg: Initialisation config.

    Shapes:
        ``(N, in_channels, H, W)`` -> tuple of ``(N, out_channels[i], H / s_i, W / s_i)``,
        ``s_i = out_strides[i] = 4 * 2**i`` (sizes rounded up).
    """

    blocks_dict = BLOCKS

    def __init__(
        self,
        extra: Mapping[str, Any],
        in_channels: int = 3,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = dict(type="BN", requires_grad=True),  # noqa: B006
        norm_eval: bool = False,
        with_cp: bool = False,
        frozen_stages: int = -1,
        zero_init_residual: bool = False,
        multiscale_output: bool = True,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.init_cfg = init_cfg_from_pretrained(
            "HRNet", pretrained, self.init_cfg, conv_backbone_init()
        )
        _check_extra(extra)
        self.pretrained = pretrained
        self.extra = extra
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.frozen_stages = frozen_stages
        self.zero_init_residual = zero_init_residual

        # stem: two stride-2 3x3 convs at 64 channels
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, 64, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, 64, postfix=2)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, 64, 3, stride=2, padding=1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, 64, 64, 3, stride=2, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)

        self.stage1_cfg = extra["stage1"]
        block = BLOCKS[self.stage1_cfg["block"]]
        width = self.stage1_cfg["num_channels"][0]
        self.layer1 = ResLayer(
            block, 64, width, self.stage1_cfg["num_blocks"][0], conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, with_cp=with_cp,
        )  # fmt: skip
        channels = [width * block.expansion]  # type: ignore[attr-defined]
        for s in (2, 3, 4):
            cfg = extra[f"stage{s}"]
            setattr(self, f"stage{s}_cfg", cfg)
            expansion = BLOCKS[cfg["block"]].expansion  # type: ignore[attr-defined]
            wanted = [c * expansion for c in cfg["num_channels"]]
            self.add_module(f"transition{s - 1}", self._make_transition_layer(channels, wanted))
            multiscale = multiscale_output if s == 4 else True
            stage, channels = self._make_stage(cfg, wanted, multiscale_output=multiscale)
            self.add_module(f"stage{s}", stage)

        outs = channels if multiscale_output else channels[:1]
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(outs)
        self.out_strides = tuple(4 * 2**i for i in range(len(outs)))
        self._freeze_stages()

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def _make_transition_layer(
        self, pre_channels: Sequence[int], cur_channels: Sequence[int]
    ) -> nn.ModuleList:
        """Per new-stage branch: None (same channels), a 3x3 conv (new channels), or for a new
        branch stride-2 3x3 convs from the lowest resolution."""
        cfgs = (self.conv_cfg, self.norm_cfg)
        layers: list[nn.Module | None] = []
        for i, cur in enumerate(cur_channels):
            if i < len(pre_channels):
                same = cur == pre_channels[i]
                layers.append(
                    None if same else _conv_norm(*cfgs, pre_channels[i], cur, 3, 1, True, True)
                )
                continue
            last = pre_channels[-1]
            steps = i + 1 - len(pre_channels)
            layers.append(
                nn.Sequential(
                    *(
                        _conv_norm(*cfgs, last, cur if k == steps - 1 else last, 3, 2, True, True)
                        for k in range(steps)
                    )
                )
            )
        return nn.ModuleList(layers)

    def _make_stage(
        self, layer_config: Mapping[str, Any], in_channels: Sequence[int],
        multiscale_output: bool = True,
    ) -> tuple[Sequential, list[int]]:  # fmt: skip
        """``num_modules`` HRModules; only the last one may drop the low-resolution outputs."""
        num_modules = layer_config["num_modules"]
        modules = []
        channels = list(in_channels)
        for i in range(num_modules):
            module = HRModule(
                layer_config["num_branches"],
                BLOCKS[layer_config["block"]],
                layer_config["num_blocks"],
                channels,
                layer_config["num_channels"],
                multiscale_output or i < num_modules - 1,
                with_cp=self.with_cp,
                norm_cfg=self.norm_cfg,
                conv_cfg=self.conv_cfg,
            )
            channels = list(module.in_channels)
            modules.append(module)
        return Sequential(*modules), channels

    def _freeze_stages(self) -> None:
        """Put the stem and the first ``frozen_stages`` stages in eval mode, without gradients."""
        if self.frozen_stages < 0:
            return
        frozen: list[nn.Module] = [self.conv1, self.norm1, self.conv2, self.norm2]
        for i in range(1, self.frozen_stages + 1):
            frozen.append(self.layer1 if i == 1 else getattr(self, f"stage{i}"))
            if i < 4:
                frozen.append(getattr(self, f"transition{i}"))
        freeze(*frozen)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        ys = [self.layer1(x)]
        for s in (2, 3, 4):
            transition = getattr(self, f"transition{s - 1}")
            branches = getattr(self, f"stage{s}_cfg")["num_branches"]
            # as in MMSeg, every transition (a channel change too) reads the last branch
            xs = [
                ys[i] if transition[i] is None else transition[i](ys[-1]) for i in range(branches)
            ]
            ys = getattr(self, f"stage{s}")(xs)
        return tuple(ys)
