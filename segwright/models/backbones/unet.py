"""``UNet`` backbone (encoder + decoder) with MMSeg's arguments and keys.

Keys: ``encoder.{i}`` (``encoder.{i}.0`` is a MaxPool when stage ``i`` downsamples by pooling,
then the ``BasicConvBlock`` with ``convs.{j}``), ``decoder.{i}`` (``UpConvBlock`` with
``upsample`` and ``conv_block``). The output is the decoder's maps from deepest to shallowest,
so MMSeg's UNet configs put the decode head on ``in_index=4`` (``base_channels``) and the
auxiliary head on ``in_index=3``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.utils import NormEvalMixin
from segwright.models.layers import ConvModule, build_activation_layer, build_norm_layer
from segwright.models.layers.checkpoint import checkpointed
from segwright.models.layers.conv import compiled_op_error
from segwright.models.layers.upsample import Upsample
from segwright.models.utils import BaseModule
from segwright.models.utils.pretrained import conv_backbone_init, init_cfg_from_pretrained
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_BN = dict(type="BN")
_RELU = dict(type="ReLU")


def _check_options(dcn: Any, plugins: Any, where: str) -> None:
    if dcn is not None:
        raise compiled_op_error(f"dcn={dict(dcn) if isinstance(dcn, Mapping) else dcn!r}", where)
    if plugins is not None:
        raise ConfigError(f"{where} plugins are not supported (nor by MMSeg); set plugins=None.")


class BasicConvBlock(nn.Module):
    """``num_convs`` 3x3 ConvModules in ``convs``; the first takes ``stride``, the others
    ``dilation``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_convs: int = 2,
        stride: int = 1,
        dilation: int = 1,
        with_cp: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = _BN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        dcn: Any = None,
        plugins: Any = None,
    ) -> None:
        super().__init__()
        _check_options(dcn, plugins, "BasicConvBlock")
        self.with_cp = with_cp
        self.convs = nn.Sequential(
            *(
                ConvModule(
                    in_channels if i == 0 else out_channels,
                    out_channels,
                    3,
                    stride=stride if i == 0 else 1,
                    dilation=1 if i == 0 else dilation,
                    padding=1 if i == 0 else dilation,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
                for i in range(num_convs)
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return checkpointed(self.convs, x, self.with_cp)


@MODELS.register_module()
class DeconvModule(nn.Module):
    """x2 upsampling by a transposed conv, norm and activation (``deconv_upsamping``, MMSeg's
    spelling).

    Args:
        kernel_size, scale_factor: ``kernel_size - scale_factor`` must be even and >= 0.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        with_cp: bool = False,
        norm_cfg: Mapping[str, Any] = _BN,
        act_cfg: Mapping[str, Any] = _RELU,
        *,
        kernel_size: int = 4,
        scale_factor: int = 2,
    ) -> None:
        super().__init__()
        if kernel_size < scale_factor or (kernel_size - scale_factor) % 2:
            raise ConfigError(
                f"DeconvModule kernel_size - scale_factor must be even and >= 0, got "
                f"kernel_size={kernel_size}, scale_factor={scale_factor}."
            )
        self.with_cp = with_cp
        deconv = nn.ConvTranspose2d(
            in_channels, out_channels, kernel_size, stride=scale_factor,
            padding=(kernel_size - scale_factor) // 2,
        )  # fmt: skip
        norm = build_norm_layer(norm_cfg, out_channels)[1]
        self.deconv_upsamping = nn.Sequential(deconv, norm, build_activation_layer(act_cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return checkpointed(self.deconv_upsamping, x, self.with_cp)


@MODELS.register_module()
class InterpConv(nn.Module):
    """Bilinear x2 upsampling then a ConvModule (``interp_upsample``; conv first if
    ``conv_first``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        with_cp: bool = False,
        norm_cfg: Mapping[str, Any] | None = _BN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        *,
        conv_cfg: Mapping[str, Any] | None = None,
        conv_first: bool = False,
        kernel_size: int = 1,
        stride: int = 1,
        padding: int = 0,
        upsample_cfg: Mapping[str, Any] = dict(  # noqa: B006 - MMSeg default
            scale_factor=2, mode="bilinear", align_corners=False
        ),
    ) -> None:
        super().__init__()
        self.with_cp = with_cp
        conv = ConvModule(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip
        upsample = Upsample(**upsample_cfg)
        parts = (conv, upsample) if conv_first else (upsample, conv)
        self.interp_upsample = nn.Sequential(*parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return checkpointed(self.interp_upsample, x, self.with_cp)


class UpConvBlock(nn.Module):
    """Decoder step: ``upsample`` the deeper map to ``skip_channels``, concatenate the skip
    connection, then ``conv_block``.

    ``upsample_cfg=None`` means no upsampling: a 1x1 ConvModule maps the channels instead.
    """

    def __init__(
        self,
        conv_block: type[nn.Module],
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        num_convs: int = 2,
        stride: int = 1,
        dilation: int = 1,
        with_cp: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = _BN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        upsample_cfg: Mapping[str, Any] | None = dict(type="InterpConv"),  # noqa: B006
        dcn: Any = None,
        plugins: Any = None,
    ) -> None:
        super().__init__()
        _check_options(dcn, plugins, "UpConvBlock")
        self.conv_block = conv_block(
            in_channels=2 * skip_channels, out_channels=out_channels, num_convs=num_convs,
            stride=stride, dilation=dilation, with_cp=with_cp, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip
        if upsample_cfg is not None:
            self.upsample = MODELS.build(
                upsample_cfg,
                default_args=dict(
                    in_channels=in_channels, out_channels=skip_channels, with_cp=with_cp,
                    norm_cfg=norm_cfg, act_cfg=act_cfg,
                ),
                key="upsample_cfg",
            )  # fmt: skip
        else:
            self.upsample = ConvModule(
                in_channels, skip_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                act_cfg=act_cfg,
            )  # fmt: skip

    def forward(self, skip: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        x = self.upsample(x)
        return self.conv_block(torch.cat([skip, x], dim=1))


@MODELS.register_module()
class UNet(NormEvalMixin, BaseModule):
    """UNet: ``num_stages`` encoder stages, ``num_stages - 1`` decoder steps with skips.

    Stage ``i > 0`` halves the resolution when ``strides[i] == 2`` (strided conv) or
    ``downsamples[i - 1]`` (MaxPool, when ``strides[i] == 1``); the matching decoder step
    upsamples by 2. Stage ``i`` has ``base_channels * 2**i`` channels.

    Args:
        in_channels: Input image channels.
        base_channels: Width of the first stage.
        num_stages: Encoder stages.
        strides: Per-stage stride (1 or 2) of the first conv.
        enc_num_convs, dec_num_convs: Convs per encoder stage / decoder step.
        downsamples: Whether stage ``i + 1`` downsamples (``num_stages - 1`` values).
        enc_dilations, dec_dilations: Dilation of the non-first convs.
        with_cp: Gradient checkpointing in the conv blocks.
        conv_cfg, norm_cfg, act_cfg: Layer configs.
        upsample_cfg: Decoder upsampling (``InterpConv`` or ``DeconvModule``).
        norm_eval: Keep the batch norms in eval mode while training.
        dcn, plugins: Must stay None (as in MMSeg).
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_cfg: Initialisation config (default: Kaiming convs, constant-1 norms).

    Shapes:
        ``(N, in_channels, H, W)`` with H and W multiples of ``size_divisor`` -> tuple of
        ``num_stages`` maps, deepest first: ``out_channels[i]`` channels at ``out_strides[i]``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        num_stages: int = 5,
        strides: Sequence[int] = (1, 1, 1, 1, 1),
        enc_num_convs: Sequence[int] = (2, 2, 2, 2, 2),
        dec_num_convs: Sequence[int] = (2, 2, 2, 2),
        downsamples: Sequence[bool] = (True, True, True, True),
        enc_dilations: Sequence[int] = (1, 1, 1, 1, 1),
        dec_dilations: Sequence[int] = (1, 1, 1, 1),
        with_cp: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = _BN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        upsample_cfg: Mapping[str, Any] | None = dict(type="InterpConv"),  # noqa: B006
        norm_eval: bool = False,
        dcn: Any = None,
        plugins: Any = None,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        _check_options(dcn, plugins, "UNet")
        self.init_cfg = init_cfg_from_pretrained(
            "UNet", pretrained, self.init_cfg, conv_backbone_init()
        )
        strides, downsamples = tuple(strides), tuple(downsamples)
        enc_num_convs, dec_num_convs = tuple(enc_num_convs), tuple(dec_num_convs)
        enc_dilations, dec_dilations = tuple(enc_dilations), tuple(dec_dilations)
        if not isinstance(num_stages, int) or num_stages < 2:
            raise ConfigError(f"UNet num_stages must be an int >= 2, got {num_stages!r}.")
        for name, value, length in (
            ("strides", strides, num_stages),
            ("enc_num_convs", enc_num_convs, num_stages),
            ("enc_dilations", enc_dilations, num_stages),
            ("downsamples", downsamples, num_stages - 1),
            ("dec_num_convs", dec_num_convs, num_stages - 1),
            ("dec_dilations", dec_dilations, num_stages - 1),
        ):
            if len(value) != length:
                raise ConfigError(
                    f"UNet {name} must have {length} values (num_stages={num_stages}), "
                    f"got {len(value)}: {value}."
                )
        if any(s not in (1, 2) for s in strides):
            raise ConfigError(
                f"UNet strides must be 1 or 2 (the decoder upsamples by 2), got {strides}."
            )
        self.num_stages = num_stages
        self.strides = strides
        self.downsamples = downsamples
        self.norm_eval = norm_eval
        self.base_channels = base_channels

        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()
        layer_args = dict(with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        stage_strides, total_stride = [], strides[0]
        for i in range(num_stages):
            stage: list[nn.Module] = []
            if i != 0:
                if strides[i] == 1 and downsamples[i - 1]:
                    stage.append(nn.MaxPool2d(kernel_size=2))
                upsample = strides[i] != 1 or downsamples[i - 1]
                total_stride *= 2 if upsample else 1
                self.decoder.append(
                    UpConvBlock(
                        conv_block=BasicConvBlock,
                        in_channels=base_channels * 2**i,
                        skip_channels=base_channels * 2 ** (i - 1),
                        out_channels=base_channels * 2 ** (i - 1),
                        num_convs=dec_num_convs[i - 1],
                        stride=1,
                        dilation=dec_dilations[i - 1],
                        upsample_cfg=upsample_cfg if upsample else None,
                        **layer_args,
                    )
                )
            stage.append(
                BasicConvBlock(
                    in_channels,
                    base_channels * 2**i,
                    num_convs=enc_num_convs[i],
                    stride=strides[i],
                    dilation=enc_dilations[i],
                    **layer_args,
                )
            )
            self.encoder.append(nn.Sequential(*stage))
            in_channels = base_channels * 2**i
            stage_strides.append(total_stride)

        #: Input H and W must be multiples of this (MMSeg's divisibility rule).
        self.size_divisor = stage_strides[-1] // strides[0]
        #: Channels and strides (w.r.t. the input) of the outputs, deepest first.
        self.out_channels = tuple(base_channels * 2**i for i in reversed(range(num_stages)))
        self.out_strides = tuple(reversed(stage_strides))

    def _check_input_divisible(self, x: torch.Tensor) -> None:
        h, w = (int(s) for s in x.shape[-2:])
        k = self.size_divisor
        if h % k or w % k:
            raise ConfigError(
                f"UNet input height and width must be multiples of {k} (2 ** the number of "
                f"downsampling stages), got {h}x{w}. Crop or pad inputs to a multiple of {k}: "
                f"for training, a crop_size that is a multiple of {k} (or "
                f"model.data_preprocessor.size_divisor={k}, which pads training batches only); "
                f"for validation, test and inference, "
                f"model.data_preprocessor.test_cfg=dict(size_divisor={k}) (predictions are "
                f"cropped back to the image), or model.test_cfg=dict(mode='slide', crop_size=..., "
                f"stride=...) with a crop_size that is a multiple of {k}."
            )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        self._check_input_divisible(x)
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        outs = [x]
        for i in reversed(range(len(self.decoder))):
            x = self.decoder[i](skips[i], x)
            outs.append(x)
        return tuple(outs)
