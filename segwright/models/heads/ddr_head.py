"""``DDRHead``: DDRNet's decode head, with a second classifier on the spatial branch in
training (MMSeg's arguments and keys)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, build_activation_layer, build_norm_layer, resize
from segwright.registry import MODELS
from segwright.structures import SegDataSample
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class DDRHead(BaseDecodeHead):
    """``head`` (pre-activation 3x3 conv, BN, act) then ``conv_seg`` on DDRNet's output; in
    training also ``aux_head`` + ``aux_cls_seg`` on its spatial map (half the channels).

    The losses: ``loss_decode[0]`` on the main logits (``loss_context``) and ``loss_decode[1]``
    on the auxiliary ones (``loss_spatial``), plus ``acc_seg`` of the main logits.

    Args:
        in_channels: Channels of DDRNet's output (its spatial map has half).
        channels: Width of the heads.
        num_classes: Classes.
        norm_cfg, act_cfg: Layer configs.
        **kwargs: :class:`BaseDecodeHead` arguments (``loss_decode``: a list of two losses).

    Shapes:
        eval: ``(N, in_channels, h, w)`` -> ``(N, num_classes, h, w)``; training: the pair
        ``(spatial map, output)`` -> ``(main logits, auxiliary logits)``.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        num_classes: int,
        norm_cfg: Mapping[str, Any] | None = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: Mapping[str, Any] | None = dict(type="ReLU", inplace=True),  # noqa: B006
        **kwargs: Any,
    ) -> None:
        super().__init__(
            in_channels, channels, num_classes=num_classes, norm_cfg=norm_cfg, act_cfg=act_cfg,
            **kwargs,
        )  # fmt: skip
        if not isinstance(self.loss_decode, nn.ModuleList) or len(self.loss_decode) < 2:
            raise ConfigError(
                "DDRHead needs loss_decode=[main loss, spatial-branch loss] (two losses)."
            )
        self.head = self._make_base_head(self.in_channels, self.channels)  # type: ignore[arg-type]
        self.aux_head = self._make_base_head(self.in_channels // 2, self.channels)  # type: ignore[operator]
        self.aux_cls_seg = nn.Conv2d(self.channels, self.out_channels, kernel_size=1)

    def init_weights(self) -> None:
        """Kaiming (fan-out) convs and unit BNs, as MMSeg's DDRHead does."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)

    def _make_base_head(self, in_channels: int, channels: int) -> nn.Sequential:
        return nn.Sequential(
            ConvModule(
                in_channels, channels, 3, padding=1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                order=("norm", "act", "conv"),
            ),
            build_norm_layer(self.norm_cfg, channels)[1],
            build_activation_layer(self.act_cfg),
        )  # fmt: skip

    def forward(self, inputs: Any) -> Any:
        if self.training:
            spatial, out = inputs
            return self.cls_seg(self.head(out)), self.aux_cls_seg(self.aux_head(spatial))
        return self.cls_seg(self.head(inputs))

    def loss_by_feat(
        self, seg_logits: Any, batch_data_samples: Sequence[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        """``loss_context``, ``loss_spatial`` and ``acc_seg`` (no pixel sampler)."""
        from segwright.models.losses import accuracy

        label = self._stack_batch_gt(batch_data_samples)
        context, spatial = (
            resize(x, size=label.shape[2:], mode="bilinear", align_corners=self.align_corners)
            for x in seg_logits
        )
        label = label.squeeze(1)
        return {
            "loss_context": self.loss_decode[0](context, label),
            "loss_spatial": self.loss_decode[1](spatial, label),
            "acc_seg": accuracy(context, label, ignore_index=self.ignore_index),
        }
