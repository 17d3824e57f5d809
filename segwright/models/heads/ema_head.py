"""EMANet's ``EMAHead``: expectation-maximisation attention over a small set of bases.

Instead of attending over all H*W positions, features are reconstructed from ``num_bases``
bases found by a few EM steps (E: soft assignment of positions to bases; M: bases as the
assignment-weighted means). The bases that start each forward pass are a buffer, updated by a
moving average of the batch's final bases during training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def _mean_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    """Average across processes when distributed, so every replica keeps the same bases."""
    if not (dist.is_available() and dist.is_initialized()):
        return tensor
    tensor = tensor.clone() / dist.get_world_size()
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


class EMAModule(nn.Module):
    """EM attention: ``num_stages`` EM steps from the ``bases`` buffer, then reconstruction.

    The EM steps run without gradients (as in EMANet), so the module passes no gradient to
    its input; the head's residual path carries it.

    Args:
        channels: Channels of the features (and bases).
        num_bases: Number of bases K.
        num_stages: EM iterations (at least 1).
        momentum: Moving-average rate of the ``bases`` buffer in training.

    Shapes:
        ``(N, channels, H, W)`` -> same.
    """

    def __init__(self, channels: int, num_bases: int, num_stages: int, momentum: float) -> None:
        super().__init__()
        if num_stages < 1:
            raise ConfigError(f"EMAModule: num_stages must be at least 1, got {num_stages}.")
        self.num_bases = num_bases
        self.num_stages = num_stages
        self.momentum = momentum
        bases = torch.randn(1, channels, num_bases) * math.sqrt(2.0 / num_bases)
        self.register_buffer("bases", F.normalize(bases, dim=1, p=2))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        n, c, h, w = feats.shape
        feats = feats.reshape(n, c, h * w)
        bases = self.bases.expand(n, -1, -1)
        with torch.no_grad():
            for _ in range(self.num_stages):
                # E step: responsibilities of the K bases for each position (N, HW, K)
                attention = F.softmax(torch.einsum("ncp,nck->npk", feats, bases), dim=2)
                # M step: bases as responsibility-weighted means, L2-normalised
                weights = F.normalize(attention, dim=1, p=1)
                bases = F.normalize(torch.einsum("ncp,npk->nck", feats, weights), dim=1, p=2)
        recon = torch.einsum("nck,npk->ncp", bases, attention).reshape(n, c, h, w)
        if self.training:
            batch_bases = F.normalize(_mean_over_processes(bases.mean(dim=0, keepdim=True)), dim=1)
            self.bases = (1 - self.momentum) * self.bases + self.momentum * batch_bases
        return recon


@MODELS.register_module()
class EMAHead(BaseDecodeHead):
    """EM attention head.

    ``ema_in_conv`` (3x3) -> frozen 1x1 ``ema_mid_conv`` -> :class:`EMAModule` -> ReLU ->
    1x1 ``ema_out_conv`` (+ the ``ema_in_conv`` output, ReLU) -> 3x3 ``bottleneck``
    (-> ``conv_cat`` with the input) -> ``conv_seg``.

    Args:
        ema_channels: Channels of the EM attention.
        num_bases: Number of bases.
        num_stages: EM iterations per forward pass.
        concat_input: Fuse ``[input, output]`` with a 3x3 ``conv_cat``.
        momentum: Moving-average rate of the bases.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(
        self,
        ema_channels: int,
        num_bases: int,
        num_stages: int,
        concat_input: bool = True,
        momentum: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ema_channels = ema_channels
        self.num_bases = num_bases
        self.num_stages = num_stages
        self.concat_input = concat_input
        self.momentum = momentum
        self.ema_module = EMAModule(ema_channels, num_bases, num_stages, momentum)
        conv_cfg, norm_cfg, act_cfg = self.conv_cfg, self.norm_cfg, self.act_cfg
        self.ema_in_conv = ConvModule(
            self.in_channels, ema_channels, 3, padding=1, conv_cfg=conv_cfg,  # type: ignore[arg-type]
            norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip
        self.ema_mid_conv = ConvModule(
            ema_channels, ema_channels, 1, conv_cfg=conv_cfg, norm_cfg=None, act_cfg=None
        )
        for param in self.ema_mid_conv.parameters():
            param.requires_grad = False  # EMANet keeps this projection fixed
        self.ema_out_conv = ConvModule(
            ema_channels, ema_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None
        )
        self.bottleneck = ConvModule(
            ema_channels, self.channels, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )  # fmt: skip
        if concat_input:
            self.conv_cat = ConvModule(
                self.in_channels + self.channels, self.channels, 3, padding=1,  # type: ignore[operator]
                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
            )  # fmt: skip

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        identity = self.ema_in_conv(x)
        recon = self.ema_module(self.ema_mid_conv(identity))
        recon = self.ema_out_conv(F.relu(recon))
        out = self.bottleneck(F.relu(identity + recon))
        if self.concat_input:
            out = self.conv_cat(torch.cat([x, out], dim=1))
        return out

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._forward_feature(inputs))
