"""``PIDHead``: PIDNet's decode head, with P (semantic) and D (boundary) heads in training
(MMSeg's arguments and keys)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, build_activation_layer, build_norm_layer, resize
from segwright.models.utils import BaseModule
from segwright.registry import MODELS
from segwright.structures import SegDataSample
from segwright.utils.errors import ConfigError, DatasetError

_CfgArg = Mapping[str, Any] | None
_RELU = dict(type="ReLU", inplace=True)


class BasePIDHead(BaseModule):
    """Pre-activation 3x3 ``conv``, ``norm``, ``act``, then an optional classifier."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.conv = ConvModule(
            in_channels, channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg,
            order=("norm", "act", "conv"),
        )  # fmt: skip
        self.norm = build_norm_layer(norm_cfg, channels)[1]
        self.act = build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor, cls_seg: nn.Module | None) -> torch.Tensor:
        x = self.act(self.norm(self.conv(x)))
        return cls_seg(x) if cls_seg is not None else x


@MODELS.register_module()
class PIDHead(BaseDecodeHead):
    """``i_head`` + ``conv_seg`` on PIDNet's output; in training also ``p_head`` +
    ``p_cls_seg`` on the P map and ``d_head`` + ``d_cls_seg`` (one boundary channel) on the D map.

    Losses (``loss_decode`` in this order): ``loss_sem_p`` (P logits), ``loss_sem_i`` (main
    logits), ``loss_bd`` (boundary logits against ``gt_edge_map``, from the ``GenerateEdge``
    transform) and ``loss_sem_bd`` (main logits on the pixels whose boundary probability is
    above 0.8), plus ``acc_seg``.

    Args:
        in_channels: Channels of PIDNet's output (the P and D maps have half).
        channels: Width of the I and P heads (the D head has ``in_channels // 4``).
        num_classes: Classes.
        norm_cfg, act_cfg: Layer configs.
        **kwargs: :class:`BaseDecodeHead` arguments.

    Shapes:
        eval: ``(N, in_channels, h, w)`` -> ``(N, num_classes, h, w)``; training: the triple
        ``(P, output, D)`` -> ``(P logits, main logits, boundary logits)``.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        num_classes: int,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            in_channels, channels, num_classes=num_classes, norm_cfg=norm_cfg, act_cfg=act_cfg,
            **kwargs,
        )  # fmt: skip
        if not isinstance(self.loss_decode, nn.ModuleList) or len(self.loss_decode) < 4:
            raise ConfigError(
                "PIDHead needs loss_decode=[P loss, main loss, boundary loss, boundary-region "
                "loss] (four losses)."
            )
        self.i_head = BasePIDHead(in_channels, channels, norm_cfg, act_cfg)
        self.p_head = BasePIDHead(in_channels // 2, channels, norm_cfg, act_cfg)
        self.d_head = BasePIDHead(in_channels // 2, in_channels // 4, norm_cfg)
        self.p_cls_seg = nn.Conv2d(channels, self.out_channels, kernel_size=1)
        self.d_cls_seg = nn.Conv2d(in_channels // 4, 1, kernel_size=1)

    def init_weights(self) -> None:
        """Kaiming (fan-out) convs and unit BNs, as MMSeg's PIDHead does."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)

    def forward(self, inputs: Any) -> Any:
        if self.training:
            x_p, x_i, x_d = inputs
            return (
                self.p_head(x_p, self.p_cls_seg),
                self.i_head(x_i, self.cls_seg),
                self.d_head(x_d, self.d_cls_seg),
            )
        return self.i_head(inputs, self.cls_seg)

    def loss_by_feat(
        self, seg_logits: Any, batch_data_samples: Sequence[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        """The four losses and ``acc_seg`` (no pixel sampler)."""
        from segwright.models.losses import accuracy

        sem_label = self._stack_batch_gt(batch_data_samples)
        edges = []
        for i, sample in enumerate(batch_data_samples):
            edge = getattr(sample, "gt_edge_map", None)
            if edge is None:
                raise DatasetError(
                    f"PIDHead: training sample {i} has no gt_edge_map; add "
                    "dict(type='GenerateEdge', edge_width=4) before PackSegInputs in the "
                    "training pipeline."
                )
            edges.append(edge.data)
        bd_label = torch.stack(edges, dim=0)

        def up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
            return resize(x, size=like.shape[2:], mode="bilinear", align_corners=self.align_corners)

        p_logit, i_logit, d_logit = seg_logits
        p_logit, i_logit, d_logit = (
            up(p_logit, sem_label),
            up(i_logit, sem_label),
            up(d_logit, bd_label),
        )
        sem_label, bd_label = sem_label.squeeze(1), bd_label.squeeze(1)
        filler = torch.full_like(sem_label, self.ignore_index)
        sem_bd_label = torch.where(torch.sigmoid(d_logit[:, 0]) > 0.8, sem_label, filler)
        return {
            "loss_sem_p": self.loss_decode[0](p_logit, sem_label, ignore_index=self.ignore_index),
            "loss_sem_i": self.loss_decode[1](i_logit, sem_label),
            "loss_bd": self.loss_decode[2](d_logit, bd_label),
            "loss_sem_bd": self.loss_decode[3](i_logit, sem_bd_label),
            "acc_seg": accuracy(i_logit, sem_label, ignore_index=self.ignore_index),
        }
