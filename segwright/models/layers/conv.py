"""Convolutions by name, and MMCV's ``ConvModule`` (conv + norm + activation).

Attribute names follow MMCV (``conv``, ``bn``/``gn``/``ln``/``in``, ``activate``,
``depthwise_conv``/``pointwise_conv``) so MMSegmentation checkpoints load unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from segwright.models.layers._table import lookup, split_cfg
from segwright.models.layers.activation import build_activation_layer
from segwright.models.layers.norm import build_norm_layer
from segwright.models.utils.weight_init import constant_init, kaiming_init
from segwright.utils.errors import ConfigError


class Conv2dAdaptivePadding(nn.Conv2d):
    """A conv with TensorFlow's "same" padding (MMCV's ``Conv2dAdaptivePadding``).

    The input is zero-padded (the odd pixel on the bottom/right) so that the output has
    ``ceil(size / stride)`` pixels; the padding is worked out at each call from the current
    ``stride`` and ``dilation``, and the ``padding`` argument is ignored.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, 0, dilation, groups, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s, d in zip(x.shape[-2:], self.weight.shape[-2:], self.stride, self.dilation):
            out = -(-size // s)  # ceil
            pads.append(max((out - 1) * s + (k - 1) * d + 1 - size, 0))
        pad_h, pad_w = pads
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


CONVS: dict[str, type[nn.Module]] = {
    "Conv": nn.Conv2d,
    "Conv2dAdaptivePadding": Conv2dAdaptivePadding,
    "Conv1d": nn.Conv1d,
    "Conv2d": nn.Conv2d,
    "Conv3d": nn.Conv3d,
    "deconv": nn.ConvTranspose2d,
    "deconv3d": nn.ConvTranspose3d,
}

# Layers that need MMCV's compiled CUDA ops; named so the error can say so.
COMPILED_CONVS = (
    "DCN",
    "DCNv2",
    "DCNv3",
    "DeformConv2d",
    "DeformConv2dPack",
    "ModulatedDeformConv2d",
    "ModulatedDeformConv2dPack",
    "SAC",
)

PADDINGS: dict[str, type[nn.Module]] = {
    "zero": nn.ZeroPad2d,
    "reflect": nn.ReflectionPad2d,
    "replicate": nn.ReplicationPad2d,
}


def compiled_op_error(what: str, where: str) -> ConfigError:
    """The error for configs that ask for MMCV's compiled ops (deformable convs)."""
    return ConfigError(
        f"{where} asks for {what}, which needs MMCV's compiled CUDA/C++ ops; segwright runs "
        "without compiled extensions. Remove it (dcn=None, stage_with_dcn all False, "
        "conv_cfg=None) to use plain convolutions."
    )


def build_conv_layer(cfg: Mapping[str, Any] | None, *args: Any, **kwargs: Any) -> nn.Module:
    """Build a convolution; ``cfg=None`` means ``nn.Conv2d``."""
    if cfg is None:
        return nn.Conv2d(*args, **kwargs)
    layer_type, extra = split_cfg(cfg, "conv_cfg")
    if isinstance(layer_type, str) and layer_type.split(".")[-1] in COMPILED_CONVS:
        raise compiled_op_error(f"conv type {layer_type!r}", "conv_cfg")
    cls = lookup(CONVS, layer_type, "conv")
    try:
        return cls(*args, **kwargs, **extra)
    except TypeError as exc:
        raise ConfigError(f"Cannot build conv layer {dict(cfg)!r}: {exc}.") from exc


def build_padding_layer(cfg: Mapping[str, Any], *args: Any) -> nn.Module:
    """Build an explicit padding layer (``zero``, ``reflect``, ``replicate``)."""
    layer_type, extra = split_cfg(cfg, "padding_cfg")
    cls = lookup(PADDINGS, layer_type, "padding")
    return cls(*args, **extra)


class ConvModule(nn.Module):
    """A conv, a norm and an activation, in ``order``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups: As for
            ``nn.Conv2d``.
        bias: ``'auto'`` adds a bias only when there is no norm layer.
        conv_cfg: Conv layer config (None: ``nn.Conv2d``).
        norm_cfg: Norm layer config (None: no norm).
        act_cfg: Activation config (None: no activation).
        inplace: Passed to activations that take it.
        with_spectral_norm: Wrap the conv in spectral normalization.
        padding_mode: ``'zeros'``/``'circular'`` go to the conv; others (``'reflect'``) add an
            explicit ``padding_layer``.
        order: A permutation of ``('conv', 'norm', 'act')``.

    Shapes:
        ``(N, in_channels, H, W)`` -> ``(N, out_channels, H', W')``.
    """

    _abbr_ = "conv_block"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool | str = "auto",
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = dict(type="ReLU"),  # noqa: B006 - MMCV default
        inplace: bool = True,
        with_spectral_norm: bool = False,
        padding_mode: str = "zeros",
        order: Sequence[str] = ("conv", "norm", "act"),
    ) -> None:
        super().__init__()
        order = tuple(order)
        if len(order) != 3 or set(order) != {"conv", "norm", "act"}:
            raise ConfigError(
                f"ConvModule order must be a permutation of ('conv', 'norm', 'act'), got {order}."
            )
        if bias != "auto" and not isinstance(bias, bool):
            raise ConfigError(f"ConvModule bias must be 'auto' or a bool, got {bias!r}.")
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.inplace = inplace
        self.with_spectral_norm = with_spectral_norm
        self.order = order
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        self.with_explicit_padding = padding_mode not in ("zeros", "circular")
        if bias == "auto":
            bias = not self.with_norm
        self.with_bias = bias

        if self.with_explicit_padding:
            self.padding_layer = build_padding_layer(dict(type=padding_mode), padding)
            conv_padding: Any = 0
        else:
            conv_padding = padding
        conv_kwargs: dict[str, Any] = dict(
            stride=stride, padding=conv_padding, dilation=dilation, groups=groups, bias=bias
        )
        if padding_mode == "circular":
            conv_kwargs["padding_mode"] = "circular"
        self.conv = build_conv_layer(
            conv_cfg, in_channels, out_channels, kernel_size, **conv_kwargs
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        if with_spectral_norm:
            self.conv = nn.utils.spectral_norm(self.conv)

        self.norm_name: str | None = None
        if norm_cfg is not None:
            norm_channels = (
                out_channels if order.index("norm") > order.index("conv") else in_channels
            )
            self.norm_name, norm = build_norm_layer(norm_cfg, norm_channels)
            self.add_module(self.norm_name, norm)
            if bias and isinstance(norm, (_BatchNorm, _InstanceNorm)):
                warnings.warn("Unnecessary conv bias before batch/instance norm.", stacklevel=2)

        if act_cfg is not None:
            act = dict(act_cfg)
            act.setdefault("inplace", inplace)
            self.activate = build_activation_layer(act)

        self.init_weights()

    @property
    def norm(self) -> nn.Module | None:
        """The norm layer (stored under its MMCV name), or None."""
        return getattr(self, self.norm_name) if self.norm_name else None

    def init_weights(self) -> None:
        """Kaiming init for the conv (leaky-ReLU aware), ones/zeros for the norm (MMCV's)."""
        if not hasattr(self.conv, "init_weights"):
            act_cfg = self.act_cfg or {}
            if act_cfg.get("type") == "LeakyReLU":
                nonlinearity, a = "leaky_relu", act_cfg.get("negative_slope", 0.01)
            else:
                nonlinearity, a = "relu", 0
            kaiming_init(self.conv, a=a, nonlinearity=nonlinearity)
        if self.with_norm and self.norm is not None:
            constant_init(self.norm, 1, bias=0)

    def forward(self, x: torch.Tensor, activate: bool = True, norm: bool = True) -> torch.Tensor:
        for layer in self.order:
            if layer == "conv":
                if self.with_explicit_padding:
                    x = self.padding_layer(x)
                x = self.conv(x)
            elif layer == "norm" and norm and self.with_norm:
                x = self.norm(x)  # type: ignore[misc]
            elif layer == "act" and activate and self.with_activation:
                x = self.activate(x)
        return x


class DepthwiseSeparableConvModule(nn.Module):
    """A depthwise ``ConvModule`` (groups = in_channels) then a pointwise 1x1 ``ConvModule``.

    Args:
        dw_norm_cfg, dw_act_cfg, pw_norm_cfg, pw_act_cfg: Per-part overrides; ``'default'``
            uses ``norm_cfg`` / ``act_cfg``.
        **kwargs: Other ``ConvModule`` arguments, given to both parts.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = dict(type="ReLU"),  # noqa: B006 - MMCV default
        dw_norm_cfg: Mapping[str, Any] | None | str = "default",
        dw_act_cfg: Mapping[str, Any] | None | str = "default",
        pw_norm_cfg: Mapping[str, Any] | None | str = "default",
        pw_act_cfg: Mapping[str, Any] | None | str = "default",
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if "groups" in kwargs:
            raise ConfigError("DepthwiseSeparableConvModule sets groups itself; remove 'groups'.")

        def pick(value: Any, default: Any) -> Any:
            return default if isinstance(value, str) and value == "default" else value

        self.depthwise_conv = ConvModule(
            in_channels,
            in_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=in_channels,
            norm_cfg=pick(dw_norm_cfg, norm_cfg),
            act_cfg=pick(dw_act_cfg, act_cfg),
            **kwargs,
        )
        self.pointwise_conv = ConvModule(
            in_channels,
            out_channels,
            1,
            norm_cfg=pick(pw_norm_cfg, norm_cfg),
            act_cfg=pick(pw_act_cfg, act_cfg),
            **kwargs,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))
