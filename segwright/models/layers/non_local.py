"""MMCV's ``NonLocal2d``: each position aggregates the features of all positions.

Parameter names follow MMCV (``g``, ``theta``, ``phi``, ``conv_out``, ``concat_project``)
so NLNet/DNLNet checkpoints load unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.models.layers.conv import ConvModule
from segwright.models.utils.weight_init import constant_init, normal_init
from segwright.utils.errors import ConfigError

NON_LOCAL_MODES = ("gaussian", "embedded_gaussian", "dot_product", "concatenation")


class NonLocal2d(nn.Module):
    """Non-local block: ``x + conv_out(W @ g(x))`` with ``W`` the pairwise weights of ``mode``.

    Args:
        in_channels: Channels of the input (and output).
        sub_sample: Max-pool (2x2) the key side (``g`` and ``phi``) to cut the cost by 4.
        conv_cfg: Conv layer config of the projections.
        reduction: ``inter_channels = max(in_channels // reduction, 1)``.
        use_scale: Divide the ``embedded_gaussian`` energies by ``sqrt(inter_channels)``.
        norm_cfg: Norm of ``conv_out`` only.
        mode: ``'gaussian'`` (softmax of raw ``x`` products), ``'embedded_gaussian'``
            (softmax of ``theta``/``phi`` products), ``'dot_product'`` (products over the
            number of keys) or ``'concatenation'`` (a 1x1 conv of ``[theta, phi]`` pairs).
        std: Std of the normal init of the projections.
        zeros_init: Start ``conv_out`` (its norm if any) at zero, i.e. the block as identity.

    Shapes:
        ``(N, in_channels, H, W)`` -> same.
    """

    _abbr_ = "nonlocal_block"

    def __init__(
        self,
        in_channels: int,
        sub_sample: bool = False,
        conv_cfg: Mapping[str, Any] | None = dict(type="Conv2d"),  # noqa: B006 - MMCV default
        reduction: int = 2,
        use_scale: bool = True,
        norm_cfg: Mapping[str, Any] | None = None,
        mode: str = "embedded_gaussian",
        std: float = 0.01,
        zeros_init: bool = True,
    ) -> None:
        super().__init__()
        if mode not in NON_LOCAL_MODES:
            raise ConfigError(
                f"{type(self).__name__}: mode must be one of {NON_LOCAL_MODES}, got {mode!r}."
            )
        self.in_channels = in_channels
        self.reduction = reduction
        self.use_scale = use_scale
        self.inter_channels = max(in_channels // reduction, 1)
        self.mode = mode
        self.sub_sample = sub_sample

        def project(cin: int, cout: int, **kw: Any) -> ConvModule:
            return ConvModule(cin, cout, 1, conv_cfg=conv_cfg, act_cfg=None, **kw)

        self.g: nn.Module = project(in_channels, self.inter_channels)
        self.conv_out = project(self.inter_channels, in_channels, norm_cfg=norm_cfg)
        if mode != "gaussian":
            self.theta = project(in_channels, self.inter_channels)
            self.phi: nn.Module = project(in_channels, self.inter_channels)
        if mode == "concatenation":
            self.concat_project = ConvModule(
                self.inter_channels * 2, 1, 1, bias=False, act_cfg=dict(type="ReLU")
            )
        if sub_sample:
            pool = nn.MaxPool2d(kernel_size=(2, 2))
            self.g = nn.Sequential(self.g, pool)
            self.phi = nn.Sequential(self.phi, pool) if mode != "gaussian" else pool
        self.init_weights(std=std, zeros_init=zeros_init)

    def init_weights(self, std: float = 0.01, zeros_init: bool = True) -> None:
        """Normal projections; ``conv_out`` at zero (identity block) unless ``zeros_init=False``."""
        names = ("g",) if self.mode == "gaussian" else ("g", "theta", "phi")
        for name in names:
            module = getattr(self, name)
            conv_module = module[0] if isinstance(module, nn.Sequential) else module
            normal_init(conv_module.conv, std=std)
        target = self.conv_out.norm if self.conv_out.norm is not None else self.conv_out.conv
        if zeros_init:
            constant_init(target, 0)
        else:
            normal_init(target, std=std)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, inter_channels={self.inter_channels}"

    def pairwise_weight(self, theta_x: torch.Tensor, phi_x: torch.Tensor) -> torch.Tensor:
        """Attention weights ``(N, queries, keys)`` of ``mode``."""
        if self.mode == "concatenation":
            # theta (N, C', Q, 1) and phi (N, C', 1, K): every (query, key) pair, one 1x1 conv
            queries, keys = theta_x.shape[2], phi_x.shape[3]
            pairs = torch.cat(
                [theta_x.expand(-1, -1, -1, keys), phi_x.expand(-1, -1, queries, -1)], dim=1
            )
            weight = self.concat_project(pairs).squeeze(1)
            return weight / keys
        weight = torch.matmul(theta_x, phi_x)
        if self.mode == "dot_product":
            return weight / weight.shape[-1]
        if self.mode == "embedded_gaussian" and self.use_scale:
            weight = weight / theta_x.shape[-1] ** 0.5
        return weight.softmax(dim=-1)

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(g_x, theta_x, phi_x)``: values ``(N, K, C')``, queries and keys as ``mode`` needs."""
        n = x.shape[0]
        g_x = self.g(x).reshape(n, self.inter_channels, -1).transpose(1, 2)
        if self.mode == "gaussian":
            theta_x = x.reshape(n, self.in_channels, -1).transpose(1, 2)
            keys = self.phi(x) if self.sub_sample else x
            phi_x = keys.reshape(n, self.in_channels, -1)
        elif self.mode == "concatenation":
            theta_x = self.theta(x).reshape(n, self.inter_channels, -1, 1)
            phi_x = self.phi(x).reshape(n, self.inter_channels, 1, -1)
        else:
            theta_x = self.theta(x).reshape(n, self.inter_channels, -1).transpose(1, 2)
            phi_x = self.phi(x).reshape(n, self.inter_channels, -1)
        return g_x, theta_x, phi_x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g_x, theta_x, phi_x = self.embed(x)
        y = torch.matmul(self.pairwise_weight(theta_x, phi_x), g_x)
        y = y.transpose(1, 2).reshape(x.shape[0], self.inter_channels, *x.shape[2:])
        return x + self.conv_out(y)
