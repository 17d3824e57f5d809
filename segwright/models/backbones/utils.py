"""Pieces shared by backbones: MobileNet's ``InvertedResidual``, and the token helpers of the
transformer backbones (``PatchEmbed``, ``AdaptivePadding``, stochastic-depth rates).
(``DropPath`` and the NLC <-> NCHW reshapes live in ``segwright.models.layers``.)

Attribute names follow MMSegmentation/MMCV (``conv``, ``projection``, ``norm``) so their
checkpoints load unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from segwright.models.layers import ConvModule, build_conv_layer, build_norm_layer
from segwright.models.layers.checkpoint import checkpointed
from segwright.utils.errors import ConfigError


def make_divisible(
    value: float, divisor: int, min_value: int | None = None, min_ratio: float = 0.9
) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (at least ``min_value``).

    If rounding down loses more than ``1 - min_ratio`` of ``value``, one more ``divisor`` is
    added (MobileNet's channel rule, e.g. ``make_divisible(32 * 0.5, 8) == 16``).
    """
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    if rounded < min_ratio * value:
        rounded += divisor
    return rounded


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (if ``expand_ratio != 1``), 3x3 depthwise, 1x1 project.

    The residual is added when ``stride == 1`` and the channels match. Layers live in
    ``conv`` (``conv.0``, ``conv.1``, ``conv.2``: ConvModules; the projection has no activation).

    Args:
        in_channels, out_channels: Block input/output channels.
        stride: 1 or 2, on the depthwise conv.
        expand_ratio: Hidden width is ``round(in_channels * expand_ratio)``.
        dilation: Dilation (and padding) of the depthwise conv.
        conv_cfg, norm_cfg, act_cfg: Layer configs.
        with_cp: Gradient checkpointing (saves memory, costs time).
        **kwargs: Further ``ConvModule`` arguments.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expand_ratio: float,
        dilation: int = 1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: Mapping[str, Any] | None = dict(type="ReLU6"),  # noqa: B006 - MMSeg default
        with_cp: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"InvertedResidual stride must be 1 or 2, got {stride!r}.")
        self.stride = stride
        self.with_cp = with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden = int(round(in_channels * expand_ratio))
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, **kwargs)
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvModule(in_channels, hidden, 1, act_cfg=act_cfg, **layer_args))
        layers.append(
            ConvModule(
                hidden, hidden, 3, stride=stride, padding=dilation, dilation=dilation,
                groups=hidden, act_cfg=act_cfg, **layer_args,
            )
        )  # fmt: skip
        layers.append(ConvModule(hidden, out_channels, 1, act_cfg=None, **layer_args))
        self.conv = nn.Sequential(*layers)

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_res_connect else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return checkpointed(self._inner, x, self.with_cp)


# -- transformer helpers ---------------------------------------------------------------------


class AdaptivePadding(nn.Module):
    """Pad so that a conv with this kernel/stride/dilation covers the whole input.

    ``'corner'`` pads bottom/right only; ``'same'`` splits the padding around the input.
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int] = 1,
        stride: int | tuple[int, int] = 1,
        dilation: int | tuple[int, int] = 1,
        padding: str = "corner",
    ) -> None:
        super().__init__()
        if padding not in ("same", "corner"):
            raise ConfigError(f"Adaptive padding must be 'same' or 'corner', got {padding!r}.")
        self.padding = padding
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.dilation = _pair(dilation)

    def get_pad_shape(self, input_shape: tuple[int, int]) -> tuple[int, int]:
        """Total padding ``(pad_h, pad_w)`` for an ``(H, W)`` input."""
        pads = []
        for size, k, s, d in zip(input_shape, self.kernel_size, self.stride, self.dilation):
            out = -(-size // s)  # ceil
            pads.append(max((out - 1) * s + (k - 1) * d + 1 - size, 0))
        return pads[0], pads[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad_h, pad_w = self.get_pad_shape(tuple(x.shape[-2:]))
        if pad_h == 0 and pad_w == 0:
            return x
        if self.padding == "corner":
            return F.pad(x, [0, pad_w, 0, pad_h])
        return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])


class PatchEmbed(nn.Module):
    """Image to patch tokens: a conv ``projection``, flattened, then an optional ``norm``.

    Args:
        in_channels: Input channels.
        embed_dims: Token width.
        conv_type: Conv layer name (``'Conv2d'``).
        kernel_size: Patch (kernel) size.
        stride: Defaults to ``kernel_size`` (non-overlapping patches).
        padding: An int/pair, or ``'corner'``/``'same'`` for adaptive padding.
        dilation, bias: Conv options.
        norm_cfg: Norm over the tokens (e.g. ``dict(type='LN')``), or None.

    Shapes:
        ``(N, C, H, W)`` -> ``((N, h*w, embed_dims), (h, w))``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        embed_dims: int = 768,
        conv_type: str = "Conv2d",
        kernel_size: int | tuple[int, int] = 16,
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] | str = "corner",
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        norm_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.embed_dims = embed_dims
        if stride is None:
            stride = kernel_size
        if isinstance(padding, str):
            self.adap_padding: AdaptivePadding | None = AdaptivePadding(
                kernel_size, stride, dilation, padding
            )
            padding = 0
        else:
            self.adap_padding = None
        self.projection = build_conv_layer(
            dict(type=conv_type), in_channels, embed_dims, kernel_size=kernel_size,
            stride=stride, padding=padding, dilation=dilation, bias=bias,
        )  # fmt: skip
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1] if norm_cfg is not None else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        if self.adap_padding is not None:
            x = self.adap_padding(x)
        x = self.projection(x)
        hw_shape = (x.shape[2], x.shape[3])
        if not torch.jit.is_tracing():  # traced sizes stay symbolic for dynamic ONNX export
            hw_shape = (int(hw_shape[0]), int(hw_shape[1]))
        x = x.flatten(2).transpose(1, 2)
        if self.norm is not None:
            x = self.norm(x)
        return x, hw_shape


# -- training-mode helpers ------------------------------------------------------------------


def freeze(*modules: nn.Module) -> None:
    """Put ``modules`` in eval mode and stop their gradients (``frozen_stages``)."""
    for module in modules:
        module.eval()
        for param in module.parameters():
            param.requires_grad = False


def norms_eval(module: nn.Module, norm_types: tuple[type[nn.Module], ...] = (_BatchNorm,)) -> None:
    """``norm_eval``: every ``norm_types`` layer below ``module`` in eval mode (BatchNorms in
    the conv backbones, LayerNorms in ViT/BEiT, as MMSeg)."""
    for m in module.modules():
        if isinstance(m, norm_types):
            m.eval()


class NormEvalMixin(nn.Module):
    """``train()`` of MMSeg's backbones: after switching mode, :meth:`_freeze_stages`
    re-freezes ``frozen_stages`` and, with ``norm_eval``, every :attr:`norm_eval_types` layer
    goes back to eval mode."""

    norm_eval: bool
    #: The norms ``norm_eval`` holds in eval mode.
    norm_eval_types: tuple[type[nn.Module], ...] = (_BatchNorm,)

    def _freeze_stages(self) -> None:
        """Nothing is frozen unless a backbone says so."""

    def train(self, mode: bool = True) -> NormEvalMixin:
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            norms_eval(self, self.norm_eval_types)
        return self
