"""DNLNet's ``DNLHead`` and its disentangled non-local block.

The disentangled block splits non-local attention into a *whitened pairwise* term (keys and
queries centred before their product, sharpened by a temperature) and a *unary* term (one
softmax mask over positions, shared by all queries), which the paper shows learn different
cues (within-region relations vs. boundaries).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.fcn_head import FCNHead
from segwright.models.layers.non_local import NonLocal2d
from segwright.registry import MODELS


class DisentangledNonLocal2d(NonLocal2d):
    """Non-local block with whitened pairwise and unary (``conv_mask``) terms.

    Args:
        temperature: Divides the pairwise energies before the softmax.
        *args, **kwargs: :class:`NonLocal2d` arguments.
    """

    def __init__(self, *args: Any, temperature: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.temperature = temperature
        self.conv_mask = nn.Conv2d(self.in_channels, 1, kernel_size=1)

    def pairwise_weight(self, theta_x: torch.Tensor, phi_x: torch.Tensor) -> torch.Tensor:
        if self.mode != "embedded_gaussian":
            return super().pairwise_weight(theta_x, phi_x)
        weight = torch.matmul(theta_x, phi_x)
        if self.use_scale:
            weight = weight / float(theta_x.shape[-1]) ** 0.5
        return (weight / self.temperature).softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        g_x, theta_x, phi_x = self.embed(x)
        if self.mode == "gaussian":
            # Here queries (and keys unless sub-sampled) are x itself, and MMSeg centres them in
            # place, so its unary branch and residual see the centred x too: match that.
            x = x - x.mean(dim=(2, 3), keepdim=True)
            theta_x = x.reshape(n, self.in_channels, -1).transpose(1, 2)
            if not self.sub_sample:
                phi_x = x.reshape(n, self.in_channels, -1)
        # whitening: centre queries over positions (dim -2) and keys over positions (dim -1)
        theta_x = theta_x - theta_x.mean(dim=-2, keepdim=True)
        phi_x = phi_x - phi_x.mean(dim=-1, keepdim=True)
        y = torch.matmul(self.pairwise_weight(theta_x, phi_x), g_x)
        y = y.transpose(1, 2).reshape(n, self.inter_channels, *x.shape[2:])
        unary = self.conv_mask(x).reshape(n, 1, -1).softmax(dim=-1)  # (N, 1, HW)
        unary_x = torch.matmul(unary, g_x).transpose(1, 2).reshape(n, self.inter_channels, 1, 1)
        return x + self.conv_out(y + unary_x)


@MODELS.register_module()
class DNLHead(FCNHead):
    """Disentangled non-local head: ``convs[0]`` -> ``dnl_block`` -> ``convs[1]``.

    Args:
        reduction: Channel reduction of the non-local embeddings.
        use_scale: Scale the energies by ``1/sqrt(channels // reduction)``.
        mode: Non-local pairwise function (see :class:`NonLocal2d`).
        temperature: Sharpens the pairwise softmax (energies divided by it).
        **kwargs: :class:`FCNHead` arguments except ``num_convs`` (always 2).
    """

    def __init__(
        self,
        reduction: int = 2,
        use_scale: bool = True,
        mode: str = "embedded_gaussian",
        temperature: float = 0.05,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_convs=2, **kwargs)
        self.reduction = reduction
        self.use_scale = use_scale
        self.mode = mode
        self.temperature = temperature
        self.dnl_block = DisentangledNonLocal2d(
            in_channels=self.channels,
            reduction=reduction,
            use_scale=use_scale,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            mode=mode,
            temperature=temperature,
        )

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        out = self.convs[1](self.dnl_block(self.convs[0](x)))
        if self.concat_input:
            out = self.conv_cat(torch.cat([x, out], dim=1))
        return out
