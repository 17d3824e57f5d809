"""ResNet backbones (``ResNet``, ``ResNetV1c``, ``ResNetV1d``) with MMSeg's arguments and keys.

``ResNetV1c`` replaces the 7x7 stem by three 3x3 convs (keys ``stem.0`` ... ``stem.7``);
``ResNetV1d`` also downsamples through an AvgPool (SPEC §8.5). Dilated "-d8" variants set
``strides=(1, 2, 1, 1)``, ``dilations=(1, 1, 2, 4)``, ``contract_dilation=True``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.res_layer import ResLayer
from segwright.models.backbones.utils import NormEvalMixin, freeze
from segwright.models.layers import build_conv_layer, build_norm_layer
from segwright.models.layers.checkpoint import checkpointed
from segwright.models.layers.conv import compiled_op_error
from segwright.models.utils import BaseModule
from segwright.models.utils.pretrained import conv_backbone_init, init_cfg_from_pretrained
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def _check_block_options(dcn: Any, plugins: Any) -> None:
    if dcn is not None:
        raise compiled_op_error(f"dcn={dict(dcn) if isinstance(dcn, Mapping) else dcn!r}", "ResNet")
    if plugins:
        raise ConfigError(
            "ResNet plugins (ContextBlock, GeneralizedAttention, NonLocal...) are not supported; "
            "set plugins=None."
        )


class _Block(BaseModule):
    """What both residual blocks share: the norm properties and the checkpointed forward."""

    expansion = 1
    with_cp: bool
    downsample: nn.Module | None

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def inner(t: torch.Tensor) -> torch.Tensor:
            identity = t if self.downsample is None else self.downsample(t)
            return self._residual(t) + identity

        return self.relu(checkpointed(inner, x, self.with_cp))


class BasicBlock(_Block):
    """Two 3x3 convs (ResNet-18/34); ``conv1`` carries the stride and dilation."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        style: str = "pytorch",
        with_cp: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = dict(type="BN"),  # noqa: B006 - MMSeg default
        dcn: Any = None,
        plugins: Any = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        _check_block_options(dcn, plugins)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.conv1 = build_conv_layer(
            conv_cfg, inplanes, planes, 3, stride=stride, padding=dilation, dilation=dilation,
            bias=False,
        )  # fmt: skip
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride
        self.dilation = dilation
        self.with_cp = with_cp

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        return self.norm2(self.conv2(out))


class Bottleneck(_Block):
    """1x1 -> 3x3 -> 1x1 (x4 channels) block (ResNet-50/101/152).

    ``style='pytorch'`` puts the stride on the 3x3 conv, ``'caffe'`` on the first 1x1.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        style: str = "pytorch",
        with_cp: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = dict(type="BN"),  # noqa: B006 - MMSeg default
        dcn: Any = None,
        plugins: Any = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        _check_block_options(dcn, plugins)
        if style not in ("pytorch", "caffe"):
            raise ConfigError(f"ResNet style must be 'pytorch' or 'caffe', got {style!r}.")
        self.inplanes = inplanes
        self.planes = planes
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.with_cp = with_cp
        conv1_stride, conv2_stride = (1, stride) if style == "pytorch" else (stride, 1)
        self.conv1_stride, self.conv2_stride = conv1_stride, conv2_stride

        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(
            conv_cfg, inplanes, planes, 1, stride=conv1_stride, bias=False
        )
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(
            conv_cfg, planes, planes, 3, stride=conv2_stride, padding=dilation,
            dilation=dilation, bias=False,
        )  # fmt: skip
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, planes, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    @property
    def norm3(self) -> nn.Module:
        return getattr(self, self.norm3_name)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        return self.norm3(self.conv3(out))


@MODELS.register_module()
class ResNet(NormEvalMixin, BaseModule):
    """ResNet (V1b: 7x7 stem, stride on the 3x3 conv) with MMSeg's options.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: Input image channels.
        stem_channels: Stem output channels.
        base_channels: Width of the first stage; stage ``i`` has ``base_channels * 2**i``.
        num_stages: 1 to 4.
        strides, dilations: Per-stage first-block stride and dilation.
        out_indices: Stages whose outputs are returned.
        style: ``'pytorch'`` or ``'caffe'``.
        deep_stem: Three 3x3 convs instead of the 7x7 one (V1c, V1d).
        avg_down: AvgPool in the downsample path (V1d).
        frozen_stages: Freeze the stem and stages ``1..frozen_stages`` (-1: none).
        conv_cfg, norm_cfg: Layer configs (norm: BN, SyncBN, GN...).
        norm_eval: Keep the norm layers in eval mode while training.
        dcn, stage_with_dcn, plugins: Must stay off (they need compiled ops).
        multi_grid: Dilations of the last stage's blocks.
        contract_dilation: Halve the first block's dilation in dilated stages.
        with_cp: Gradient checkpointing in the blocks (saves memory, costs time).
        zero_init_residual: Zero-init the last norm of each block.
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_cfg: Initialisation config.

    Shapes:
        ``(N, in_channels, H, W)`` -> tuple of ``(N, out_channels[i], H / s_i, W / s_i)`` with
        ``s_i = out_strides[i]``.
    """

    arch_settings: dict[int, tuple[type[_Block], tuple[int, ...]]] = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        depth: int,
        in_channels: int = 3,
        stem_channels: int = 64,
        base_channels: int = 64,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        style: str = "pytorch",
        deep_stem: bool = False,
        avg_down: bool = False,
        frozen_stages: int = -1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = dict(type="BN", requires_grad=True),  # noqa: B006
        norm_eval: bool = False,
        dcn: Any = None,
        stage_with_dcn: Sequence[bool] = (False, False, False, False),
        plugins: Any = None,
        multi_grid: Sequence[int] | None = None,
        contract_dilation: bool = False,
        with_cp: bool = False,
        zero_init_residual: bool = True,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise ConfigError(
                f"{name} depth must be one of {sorted(self.arch_settings)}, got {depth!r}."
            )
        self.init_cfg = init_cfg_from_pretrained(
            name, pretrained, self.init_cfg, conv_backbone_init()
        )
        if not 1 <= num_stages <= 4:
            raise ConfigError(f"{name} num_stages must be 1 to 4, got {num_stages}.")
        strides, dilations, out_indices = tuple(strides), tuple(dilations), tuple(out_indices)
        if not len(strides) == len(dilations) == num_stages:
            raise ConfigError(
                f"{name} needs one stride and one dilation per stage: num_stages={num_stages}, "
                f"strides={strides}, dilations={dilations}."
            )
        if not out_indices or max(out_indices) >= num_stages or min(out_indices) < 0:
            raise ConfigError(
                f"{name} out_indices {out_indices} must name stages 0..{num_stages - 1}."
            )
        _check_block_options(dcn, plugins)
        block, stage_blocks = self.arch_settings[depth]
        stage_blocks = stage_blocks[:num_stages]
        if multi_grid is not None and len(multi_grid) != stage_blocks[-1]:
            raise ConfigError(
                f"{name} multi_grid {tuple(multi_grid)} must give one dilation per block of the "
                f"last stage ({stage_blocks[-1]} blocks for depth {depth})."
            )

        block_init_cfg = None
        if init_cfg is None and pretrained is None and zero_init_residual:
            last = "norm2" if block is BasicBlock else "norm3"
            block_init_cfg = dict(type="Constant", val=0, override=dict(name=last))

        self.depth = depth
        self.stem_channels = stem_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.strides = strides
        self.dilations = dilations
        self.out_indices = out_indices
        self.style = style
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.with_cp = with_cp
        self.norm_eval = norm_eval
        self.multi_grid = multi_grid
        self.contract_dilation = contract_dilation
        self.zero_init_residual = zero_init_residual
        self.block = block
        self.stage_blocks = stage_blocks

        self._make_stem_layer(in_channels, stem_channels)
        self.res_layers: list[str] = []
        inplanes = stem_channels
        stage_channels, stage_strides, total_stride = [], [], 4
        for i, num_blocks in enumerate(stage_blocks):
            planes = base_channels * 2**i
            res_layer = self.make_res_layer(
                block=block,
                inplanes=inplanes,
                planes=planes,
                num_blocks=num_blocks,
                stride=strides[i],
                dilation=dilations[i],
                avg_down=avg_down,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                multi_grid=multi_grid if i == len(stage_blocks) - 1 else None,
                contract_dilation=contract_dilation,
                style=style,
                with_cp=with_cp,
                init_cfg=block_init_cfg,
            )
            inplanes = planes * block.expansion
            layer_name = f"layer{i + 1}"
            self.add_module(layer_name, res_layer)
            self.res_layers.append(layer_name)
            total_stride *= strides[i]
            stage_channels.append(inplanes)
            stage_strides.append(total_stride)

        self.feat_dim = inplanes
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(stage_channels[i] for i in out_indices)
        self.out_strides = tuple(stage_strides[i] for i in out_indices)
        self._freeze_stages()

    def make_res_layer(self, **kwargs: Any) -> ResLayer:
        """One stage; variants (ResNeSt) override it to pass their block options."""
        return ResLayer(**kwargs)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        conv_cfg, norm_cfg = self.conv_cfg, self.norm_cfg
        if self.deep_stem:
            half = stem_channels // 2
            self.stem = nn.Sequential(
                build_conv_layer(conv_cfg, in_channels, half, 3, stride=2, padding=1, bias=False),
                build_norm_layer(norm_cfg, half)[1],
                nn.ReLU(inplace=True),
                build_conv_layer(conv_cfg, half, half, 3, stride=1, padding=1, bias=False),
                build_norm_layer(norm_cfg, half)[1],
                nn.ReLU(inplace=True),
                build_conv_layer(conv_cfg, half, stem_channels, 3, stride=1, padding=1, bias=False),
                build_norm_layer(norm_cfg, stem_channels)[1],
                nn.ReLU(inplace=True),
            )
        else:
            self.conv1 = build_conv_layer(
                conv_cfg, in_channels, stem_channels, 7, stride=2, padding=3, bias=False
            )
            self.norm1_name, norm1 = build_norm_layer(norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def _freeze_stages(self) -> None:
        """Put the stem and the first ``frozen_stages`` stages in eval mode, without gradients."""
        if self.frozen_stages < 0:
            return
        frozen: list[nn.Module] = [self.stem] if self.deep_stem else [self.conv1, self.norm1]
        frozen += [getattr(self, f"layer{i}") for i in range(1, self.frozen_stages + 1)]
        freeze(*frozen)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


def _variant_signature(fixed: tuple[str, ...]) -> inspect.Signature:
    """ResNet's signature without the arguments a variant fixes (so configs are checked)."""
    sig = inspect.signature(ResNet.__init__)
    params = [p for name, p in sig.parameters.items() if name not in fixed and name != "self"]
    return sig.replace(parameters=params)


@MODELS.register_module()
class ResNetV1c(ResNet):
    """ResNet with a deep 3x3 stem (``deep_stem=True``, ``avg_down=False``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@MODELS.register_module()
class ResNetV1d(ResNet):
    """ResNet with a deep stem and AvgPool downsampling (``deep_stem=True``, ``avg_down=True``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(deep_stem=True, avg_down=True, **kwargs)


ResNetV1c.__signature__ = _variant_signature(("deep_stem", "avg_down"))  # type: ignore[attr-defined]
ResNetV1d.__signature__ = _variant_signature(("deep_stem", "avg_down"))  # type: ignore[attr-defined]
