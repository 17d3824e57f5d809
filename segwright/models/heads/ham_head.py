"""SegNeXt's ``LightHamHead``: levels fused, then a Hamburger (1x1 conv, non-negative matrix
factorisation, 1x1 conv) as a light global context block.

Keys: ``squeeze`` and ``align`` (ConvModules), ``hamburger.ham_in.conv``,
``hamburger.ham_out.conv`` + its norm (``gn`` for GroupNorm), ``conv_seg``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, resize
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

#: Keeps the multiplicative updates away from 0/0.
_EPS = 1e-6


class NMF2D(nn.Module):
    """Non-negative matrix factorisation of each ``(C/S, H*W)`` slice into ``R`` bases.

    Bases start random (uniform, unit columns) on every call when ``rand_init`` (they draw
    from torch's global generator, as MMSeg's do), or once, kept as the ``bases`` buffer;
    coefficients start as a softmax of the projections. ``train_steps``/``eval_steps``
    multiplicative updates refine both, then one more refines the coefficients and the slice
    is rebuilt as ``bases @ coef.T``. Gradients flow through every step.

    Args:
        args: MMSeg's ``ham_kwargs``: ``MD_S`` (slices), ``MD_R`` (bases), ``train_steps``,
            ``eval_steps``, ``inv_t`` (ignored: NMF uses 1, as MMSeg's does), ``rand_init``.

    Shapes:
        ``(N, C, H, W)`` -> same.
    """

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        known = {"MD_S", "MD_R", "train_steps", "eval_steps", "inv_t", "rand_init"}
        args = dict(args or {})
        unknown = sorted(set(args) - known)
        if unknown:
            raise ConfigError(f"ham_kwargs: unknown keys {unknown}; known: {sorted(known)}.")
        self.S = int(args.get("MD_S", 1))
        self.R = int(args.get("MD_R", 64))
        self.train_steps = int(args.get("train_steps", 6))
        self.eval_steps = int(args.get("eval_steps", 7))
        self.inv_t = 1
        self.rand_init = bool(args.get("rand_init", True))

    def _build_bases(self, batch: int, dim: int, device: torch.device) -> torch.Tensor:
        return F.normalize(torch.rand(batch * self.S, dim, self.R).to(device), dim=1)

    @staticmethod
    def _update_coef(x: torch.Tensor, bases: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
        numerator = torch.bmm(x.transpose(1, 2), bases)
        denominator = coef.bmm(bases.transpose(1, 2).bmm(bases))
        return coef * numerator / (denominator + _EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        dim = c // self.S
        x = x.reshape(n * self.S, dim, h * w)
        if self.rand_init:
            bases = self._build_bases(n, dim, x.device)
        else:
            if not hasattr(self, "bases"):  # drawn once, on the first call (MMSeg's key)
                self.register_buffer("bases", self._build_bases(1, dim, x.device))
            bases = self.bases.repeat(n, 1, 1)
        coef = F.softmax(self.inv_t * torch.bmm(x.transpose(1, 2), bases), dim=-1)
        for _ in range(self.train_steps if self.training else self.eval_steps):
            coef = self._update_coef(x, bases, coef)
            numerator = torch.bmm(x, coef)
            denominator = bases.bmm(coef.transpose(1, 2).bmm(coef))
            bases = bases * numerator / (denominator + _EPS)
        coef = self._update_coef(x, bases, coef)
        return torch.bmm(bases, coef.transpose(1, 2)).reshape(n, c, h, w)


class Hamburger(nn.Module):
    """``relu(x + ham_out(nmf(relu(ham_in(x)))))``; only ``ham_out`` has a norm."""

    def __init__(
        self,
        ham_channels: int = 512,
        ham_kwargs: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.ham_in = ConvModule(ham_channels, ham_channels, 1, norm_cfg=None, act_cfg=None)
        self.ham = NMF2D(ham_kwargs)
        self.ham_out = ConvModule(ham_channels, ham_channels, 1, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        enjoy = self.ham_out(self.ham(F.relu(self.ham_in(x))))
        return F.relu(x + enjoy)


@MODELS.register_module()
class LightHamHead(BaseDecodeHead):
    """SegNeXt decode head (always ``input_transform='multiple_select'``).

    The selected levels are resized to the first one's size and concatenated; ``squeeze``
    (1x1) maps them to ``ham_channels``, the Hamburger adds global context, ``align`` (1x1)
    maps to ``channels`` and ``conv_seg`` classifies.

    Args:
        ham_channels: Width of the Hamburger.
        ham_kwargs: Matrix decomposition settings (see :class:`NMF2D`).
        **kwargs: :class:`BaseDecodeHead` arguments (``norm_cfg`` also sets the Hamburger's).

    Shapes:
        Output logits have the size of the first selected input.
    """

    def __init__(
        self,
        ham_channels: int = 512,
        ham_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        transform = kwargs.pop("input_transform", "multiple_select")
        if transform != "multiple_select":
            raise ConfigError(
                f"LightHamHead always uses input_transform='multiple_select', got {transform!r}."
            )
        super().__init__(input_transform="multiple_select", **kwargs)
        self.ham_channels = ham_channels
        in_channels: Sequence[int] = self.in_channels  # type: ignore[assignment]
        layer = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.squeeze = ConvModule(sum(in_channels), ham_channels, 1, **layer)
        self.hamburger = Hamburger(ham_channels, ham_kwargs, norm_cfg=self.norm_cfg)
        self.align = ConvModule(ham_channels, self.channels, 1, **layer)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        feats = self._transform_inputs(inputs)
        size = feats[0].shape[2:]
        feats = [
            resize(f, size=size, mode="bilinear", align_corners=self.align_corners) for f in feats
        ]
        x = self.hamburger(self.squeeze(torch.cat(feats, dim=1)))
        return self.cls_seg(self.align(x))
