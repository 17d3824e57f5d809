"""DANet's ``DAHead``: position (PAM) and channel (CAM) attention branches, three logits.

Training supervises the fused logits and each branch's own (``pam_cam.``, ``pam.``, ``cam.``
loss entries); inference uses the fused logits only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule
from segwright.models.layers.scale import Scale
from segwright.models.layers.self_attention_block import SelfAttentionBlock
from segwright.registry import MODELS
from segwright.structures import SegDataSample

BRANCHES = ("pam_cam", "pam", "cam")


class PAM(SelfAttentionBlock):
    """Position attention: plain 1x1 query/key (``channels``) and value convs, gated residual.

    Args:
        in_channels: Channels of the input (and output).
        channels: Channels of the query/key embedding.
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__(
            key_in_channels=in_channels,
            query_in_channels=in_channels,
            channels=channels,
            out_channels=in_channels,
            share_key_query=False,
            query_downsample=None,
            key_downsample=None,
            key_query_num_convs=1,
            key_query_norm=False,
            value_out_num_convs=1,
            value_out_norm=False,
            matmul_norm=False,
            with_out=False,
            conv_cfg=None,
            norm_cfg=None,
            act_cfg=None,
        )
        self.gamma = Scale(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.gamma(super().forward(x, x)) + x


class CAM(nn.Module):
    """Channel attention: channels attend to channels by their Gram matrix, gated residual.

    The energies are ``max(E) - E`` per row (DANet's choice), so similar channels get *less*
    weight and the block emphasises complementary channels.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gamma = Scale(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        flat = x.reshape(n, c, h * w)
        energy = torch.bmm(flat, flat.transpose(1, 2))  # (N, C, C)
        energy = energy.max(dim=-1, keepdim=True)[0].expand_as(energy) - energy
        out = torch.bmm(F.softmax(energy, dim=-1), flat).reshape(n, c, h, w)
        return self.gamma(out) + x


@MODELS.register_module()
class DAHead(BaseDecodeHead):
    """Dual attention head.

    ``forward`` returns ``(pam_cam, pam, cam)`` logits: each branch is 3x3 in-conv ->
    attention -> 3x3 out-conv -> its own classifier; ``conv_seg`` classifies their sum.

    Args:
        pam_channels: Query/key channels of the position attention.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, pam_channels: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pam_channels = pam_channels
        layer_args = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

        def conv3x3(cin: int) -> ConvModule:
            return ConvModule(cin, self.channels, 3, padding=1, **layer_args)  # type: ignore[arg-type]

        self.pam_in_conv = conv3x3(self.in_channels)  # type: ignore[arg-type]
        self.pam = PAM(self.channels, pam_channels)
        self.pam_out_conv = conv3x3(self.channels)
        self.pam_conv_seg = nn.Conv2d(self.channels, self.num_classes, kernel_size=1)
        self.cam_in_conv = conv3x3(self.in_channels)  # type: ignore[arg-type]
        self.cam = CAM()
        self.cam_out_conv = conv3x3(self.channels)
        self.cam_conv_seg = nn.Conv2d(self.channels, self.num_classes, kernel_size=1)

    def _classify(self, feat: torch.Tensor, conv_seg: nn.Module) -> torch.Tensor:
        if self.dropout is not None:
            feat = self.dropout(feat)
        return conv_seg(feat)

    def pam_cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        """Dropout then the position branch's classifier."""
        return self._classify(feat, self.pam_conv_seg)

    def cam_cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        """Dropout then the channel branch's classifier."""
        return self._classify(feat, self.cam_conv_seg)

    def forward(  # type: ignore[override]
        self, inputs: Sequence[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(pam_cam, pam, cam)`` logits, each ``(N, num_classes, h, w)``."""
        x = self._transform_inputs(inputs)
        pam_feat = self.pam_out_conv(self.pam(self.pam_in_conv(x)))
        cam_feat = self.cam_out_conv(self.cam(self.cam_in_conv(x)))
        return (
            self.cls_seg(pam_feat + cam_feat),
            self.pam_cls_seg(pam_feat),
            self.cam_cls_seg(cam_feat),
        )

    def predict(
        self,
        inputs: Sequence[torch.Tensor],
        batch_img_metas: Sequence[Mapping[str, Any]],
        test_cfg: Any = None,
    ) -> torch.Tensor:
        """The fused (``pam_cam``) logits, resized like every head's."""
        return self.predict_by_feat(self.forward(inputs)[0], batch_img_metas)

    def loss_by_feat(  # type: ignore[override]
        self,
        seg_logits: Sequence[torch.Tensor],
        batch_data_samples: Sequence[SegDataSample],
    ) -> dict[str, torch.Tensor]:
        """Every base-head loss entry of each output, prefixed ``pam_cam.``, ``pam.``, ``cam.``."""
        losses: dict[str, torch.Tensor] = {}
        for branch, logits in zip(BRANCHES, seg_logits):
            for key, value in super().loss_by_feat(logits, batch_data_samples).items():
                losses[f"{branch}.{key}"] = value
        return losses
