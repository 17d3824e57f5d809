"""Normalization layers by name, with MMCV's attribute names (``bn``, ``gn``, ``ln``, ``in``).

The attribute name decides the state-dict keys (``bn1.weight`` in a ResNet block,
``bn.running_mean`` in a ConvModule), so it must match MMCV's for checkpoints to load.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from segwright.models.layers._table import lookup, split_cfg
from segwright.utils.errors import ConfigError


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an ``(N, C, H, W)`` map (mmpretrain's ``LN2d``).

    ``data_format='channel_last'`` takes ``(N, H, W, C)`` instead. Keys are ``weight``/``bias``.
    """

    _abbr_ = "ln"

    def forward(self, x: torch.Tensor, data_format: str = "channel_first") -> torch.Tensor:
        if data_format == "channel_last":
            return super().forward(x)
        if data_format != "channel_first":
            raise ValueError(f"LayerNorm2d data_format must be channel_first/_last: {data_format}")
        # contiguous NCHW as mmpretrain returns: the layers after it run in the layout MMSeg runs
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()


NORMS: dict[str, type[nn.Module]] = {
    "BN": nn.BatchNorm2d,
    "BN1d": nn.BatchNorm1d,
    "BN2d": nn.BatchNorm2d,
    "BN3d": nn.BatchNorm3d,
    "SyncBN": nn.SyncBatchNorm,
    "GN": nn.GroupNorm,
    "LN": nn.LayerNorm,
    "LN2d": LayerNorm2d,
    "IN": nn.InstanceNorm2d,
    "IN1d": nn.InstanceNorm1d,
    "IN2d": nn.InstanceNorm2d,
    "IN3d": nn.InstanceNorm3d,
}


def infer_abbr(cls: type) -> str:
    """The attribute-name stem MMCV gives a norm class: ``bn``, ``gn``, ``ln``, ``in``."""
    abbr = getattr(cls, "_abbr_", None)
    if isinstance(abbr, str):
        return abbr
    if issubclass(cls, _InstanceNorm):  # checked first: not a _BatchNorm, but similar
        return "in"
    if issubclass(cls, _BatchNorm):
        return "bn"
    if issubclass(cls, nn.GroupNorm):
        return "gn"
    if issubclass(cls, nn.LayerNorm):
        return "ln"
    name = cls.__name__.lower()
    for word, short in (("batch", "bn"), ("group", "gn"), ("layer", "ln"), ("instance", "in")):
        if word in name:
            return short
    return "norm_layer"


def build_norm_layer(
    cfg: Mapping[str, Any], num_features: int, postfix: int | str = ""
) -> tuple[str, nn.Module]:
    """Build a norm layer; return ``(attribute_name, layer)``.

    Args:
        cfg: ``dict(type='BN'|'SyncBN'|'GN'|'LN'|'IN', requires_grad=True, **layer_args)``;
            GN needs ``num_groups``.
        num_features: Channels to normalise.
        postfix: Appended to the name (``bn1`` for postfix 1).
    """
    layer_type, args = split_cfg(cfg, "norm_cfg")
    cls = lookup(NORMS, layer_type, "norm")
    requires_grad = args.pop("requires_grad", True)
    args.setdefault("eps", 1e-5)
    try:
        if cls is nn.GroupNorm or issubclass(cls, nn.GroupNorm):
            if "num_groups" not in args:
                raise ConfigError(
                    f"norm_cfg {dict(cfg)!r} is a GroupNorm and needs 'num_groups', "
                    "e.g. dict(type='GN', num_groups=32, requires_grad=True)."
                )
            layer = cls(num_channels=num_features, **args)
        else:
            layer = cls(num_features, **args)
    except TypeError as exc:
        raise ConfigError(f"Cannot build norm layer {dict(cfg)!r}: {exc}.") from exc
    for param in layer.parameters():
        param.requires_grad = bool(requires_grad)
    return f"{infer_abbr(cls)}{postfix}", layer


def is_norm(module: nn.Module) -> bool:
    """Whether ``module`` is a batch, group, layer or instance norm."""
    return isinstance(module, (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm))
