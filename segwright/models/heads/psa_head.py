"""PSANet's ``PSAHead``: point-wise spatial attention that collects and/or distributes context."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, resize
from segwright.ops.psa_mask import PSAMask
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

PSA_TYPES = ("collect", "distribute", "bi-direction")


@MODELS.register_module()
class PSAHead(BaseDecodeHead):
    """Point-wise Spatial Attention head.

    The reduced feature (optionally shrunk by ``shrink_factor``) predicts, per position, an
    ``mh x mw`` attention window; :class:`~segwright.ops.PSAMask` spreads the windows over the
    map and each position aggregates the feature with its (softmaxed) attention column. The
    result is projected back to ``in_channels``, resized to the input and fused with it.

    Args:
        mask_size: Attention window ``(mh, mw)``; ``2 * size - 1`` of the shrunk map covers it.
        psa_type: 'collect', 'distribute' or 'bi-direction' (both, concatenated).
        compact: Read the attention as an (H*W, H*W) map directly instead of windows (needs
            ``mh * mw == H * W`` of the shrunk map).
        shrink_factor: Downsampling of the map the attention runs on.
        normalization_factor: Divides the aggregated feature (None: ``mh * mw``).
        psa_softmax: Softmax over each attention column.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(
        self,
        mask_size: Sequence[int],
        psa_type: str = "bi-direction",
        compact: bool = False,
        shrink_factor: int = 2,
        normalization_factor: float | None = 1.0,
        psa_softmax: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if psa_type not in PSA_TYPES:
            raise ConfigError(f"PSAHead psa_type must be one of {PSA_TYPES}, got {psa_type!r}.")
        if len(mask_size) != 2:
            raise ConfigError(f"PSAHead mask_size must be (h, w), got {mask_size!r}.")
        self.psa_type = psa_type
        self.compact = compact
        self.shrink_factor = shrink_factor
        self.mask_size = mask_size
        mask_h, mask_w = mask_size
        self.psa_softmax = psa_softmax
        if normalization_factor is None:
            normalization_factor = mask_h * mask_w
        self.normalization_factor = normalization_factor
        layers = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        in_channels: int = self.in_channels  # type: ignore[assignment]

        def attention() -> nn.Sequential:
            return nn.Sequential(
                ConvModule(self.channels, self.channels, kernel_size=1, **layers),
                nn.Conv2d(self.channels, mask_h * mask_w, kernel_size=1, bias=False),
            )

        self.reduce = ConvModule(in_channels, self.channels, kernel_size=1, **layers)
        self.attention = attention()
        if psa_type == "bi-direction":
            self.reduce_p = ConvModule(in_channels, self.channels, kernel_size=1, **layers)
            self.attention_p = attention()
            self.psamask_collect = PSAMask("collect", mask_size)
            self.psamask_distribute = PSAMask("distribute", mask_size)
        else:
            self.psamask = PSAMask(psa_type, mask_size)
        # a 1x1 conv with padding 1, as in MMSeg: the border it adds is resized away below
        self.proj = ConvModule(
            self.channels * (2 if psa_type == "bi-direction" else 1), in_channels,
            kernel_size=1, padding=1, **layers,
        )  # fmt: skip
        self.bottleneck = ConvModule(in_channels * 2, self.channels, 3, padding=1, **layers)

    def _shrink(self, h: int, w: int) -> tuple[int, int, bool | None]:
        """Shrunk size and the ``align_corners`` used from then on (MMSeg's rule)."""
        s = self.shrink_factor
        if s == 1:
            return h, w, self.align_corners
        if h % s and w % s:
            return (h - 1) // s + 1, (w - 1) // s + 1, True
        return h // s, w // s, False

    def _attend(self, feat: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        n, c, h, w = feat.shape
        if self.psa_softmax:
            attention = attention.softmax(dim=1)
        out = torch.bmm(feat.reshape(n, c, h * w), attention.reshape(n, h * w, h * w))
        return out.view(n, c, h, w) * (1.0 / self.normalization_factor)

    @staticmethod
    def _transposed(y: torch.Tensor, n: int, h: int, w: int) -> torch.Tensor:
        return y.view(n, h * w, h * w).transpose(1, 2).reshape(n, h * w, h, w)

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        identity = x
        align_corners = self.align_corners
        branches = (
            [(self.reduce, self.attention)]
            if self.psa_type != "bi-direction"
            else [(self.reduce, self.attention), (self.reduce_p, self.attention_p)]
        )
        feats = [reduce(x) for reduce, _ in branches]
        n, _, h, w = feats[0].shape
        if self.shrink_factor != 1:
            h, w, align_corners = self._shrink(h, w)
            feats = [
                resize(f, size=(h, w), mode="bilinear", align_corners=align_corners) for f in feats
            ]
        ys = [att(f) for f, (_, att) in zip(feats, branches)]
        if self.psa_type == "bi-direction":
            if self.compact:
                ys[1] = self._transposed(ys[1], n, h, w)
            else:
                ys = [self.psamask_collect(ys[0]), self.psamask_distribute(ys[1])]
        elif self.compact:
            if self.psa_type == "collect":
                ys[0] = self._transposed(ys[0], n, h, w)
        else:
            ys[0] = self.psamask(ys[0])
        out = torch.cat([self._attend(f, y) for f, y in zip(feats, ys)], dim=1)
        out = resize(
            self.proj(out), size=identity.shape[2:], mode="bilinear", align_corners=align_corners
        )
        return self.bottleneck(torch.cat([identity, out], dim=1))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._forward_feature(inputs))
