"""EncNet's ``EncHead``: context encoding that rescales channels, plus the semantic-encoding loss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, build_norm_layer, resize
from segwright.models.layers.encoding import Encoding
from segwright.registry import MODELS, build_if_dict
from segwright.structures import SegDataSample
from segwright.utils.errors import ConfigError


def _norm_1d(norm_cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """The 1-d variant of a 2-d norm config (BN -> BN1d, IN -> IN1d, XX2d -> XX1d)."""
    if norm_cfg is None:
        return dict(type="BN1d")
    cfg = dict(norm_cfg)
    if cfg["type"] in ("BN", "IN"):
        cfg["type"] += "1d"
    else:
        cfg["type"] = cfg["type"].replace("2d", "1d")
    return cfg


class EncModule(nn.Module):
    """Encoding module: the encoded feature and the input rescaled channel-wise by it.

    ``encoding_project`` (1x1) -> :class:`Encoding` -> 1-d norm -> ReLU, averaged over the codes
    gives ``encoding_feat`` (N, C); ``fc`` + sigmoid gives ``gamma`` and the output is
    ``relu(x + x * gamma)``.
    """

    def __init__(
        self,
        in_channels: int,
        num_codes: int,
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> None:
        super().__init__()
        self.encoding_project = ConvModule(
            in_channels, in_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg
        )
        self.encoding = nn.Sequential(
            Encoding(channels=in_channels, num_codes=num_codes),
            build_norm_layer(_norm_1d(norm_cfg), num_codes)[1],
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Sequential(nn.Linear(in_channels, in_channels), nn.Sigmoid())

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        encoding, norm, activate = self.encoding
        return activate(norm(encoding(x)))  # (N, K, C): a 1-d norm over the K codes

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        encoding_feat = self._encode(self.encoding_project(x)).mean(dim=1)
        gamma = self.fc(encoding_feat).view(x.size(0), x.size(1), 1, 1)
        return encoding_feat, F.relu(x + x * gamma)


@MODELS.register_module()
class EncHead(BaseDecodeHead):
    """Context Encoding head (always ``input_transform='multiple_select'``).

    With ``use_se_loss`` the forward returns ``(seg_logits, se_logits)``; ``se_logits`` (N,
    num_classes) predict which classes occur in the image and are trained with
    ``loss_se_decode`` against that presence vector, logged as ``loss_se``.

    Args:
        num_codes: Code words of the :class:`Encoding` layer.
        use_se_loss: Add the semantic-encoding branch and loss.
        add_lateral: Fuse 1x1 laterals of the other inputs into the last one.
        loss_se_decode: Config (or module) of the semantic-encoding loss.
        **kwargs: :class:`BaseDecodeHead` arguments; ``in_channels``/``in_index`` are lists.
    """

    def __init__(
        self,
        num_codes: int = 32,
        use_se_loss: bool = True,
        add_lateral: bool = False,
        loss_se_decode: Any = dict(  # noqa: B006 - MMSeg default
            type="CrossEntropyLoss", use_sigmoid=True, loss_weight=0.2
        ),
        **kwargs: Any,
    ) -> None:
        transform = kwargs.pop("input_transform", "multiple_select")
        if transform != "multiple_select":
            raise ConfigError(
                f"EncHead always uses input_transform='multiple_select', got {transform!r}."
            )
        super().__init__(input_transform="multiple_select", **kwargs)
        in_channels: list[int] = self.in_channels  # type: ignore[assignment]
        self.use_se_loss = use_se_loss
        self.add_lateral = add_lateral
        self.num_codes = num_codes
        layers = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.bottleneck = ConvModule(in_channels[-1], self.channels, 3, padding=1, **layers)
        if add_lateral:
            self.lateral_convs = nn.ModuleList(
                ConvModule(c, self.channels, 1, **layers) for c in in_channels[:-1]
            )
            self.fusion = ConvModule(
                len(in_channels) * self.channels, self.channels, 3, padding=1, **layers
            )
        self.enc_module = EncModule(self.channels, num_codes=num_codes, **layers)
        if use_se_loss:
            self.loss_se_decode = build_if_dict(loss_se_decode, MODELS, key="loss_se_decode")
            self.se_layer = nn.Linear(self.channels, self.num_classes)

    def forward(  # type: ignore[override]
        self, inputs: Sequence[torch.Tensor]
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        inputs = self._transform_inputs(inputs)
        feat = self.bottleneck(inputs[-1])
        if self.add_lateral:
            laterals = [
                resize(conv(inputs[i]), size=feat.shape[2:], mode="bilinear",
                       align_corners=self.align_corners)
                for i, conv in enumerate(self.lateral_convs)
            ]  # fmt: skip
            feat = self.fusion(torch.cat([feat, *laterals], dim=1))
        encode_feat, out = self.enc_module(feat)
        out = self.cls_seg(out)
        if self.use_se_loss:
            return out, self.se_layer(encode_feat)
        return out

    def predict(
        self,
        inputs: Sequence[torch.Tensor],
        batch_img_metas: Sequence[Mapping[str, Any]],
        test_cfg: Any = None,
    ) -> torch.Tensor:
        """Segmentation logits only (the SE branch is a training signal)."""
        out = self.forward(inputs)
        return self.predict_by_feat(out[0] if self.use_se_loss else out, batch_img_metas)  # type: ignore[arg-type]

    @staticmethod
    def _convert_to_onehot_labels(seg_label: torch.Tensor, num_classes: int) -> torch.Tensor:
        """Per image, 1 for each class present in the label map (ignored values count for none).

        Shapes:
            seg_label (N, ...) -> (N, num_classes), the label's dtype.
        """
        flat = seg_label.reshape(seg_label.size(0), -1).long()
        # values outside [0, num_classes) land in an extra column that is dropped
        flat = torch.where((flat >= 0) & (flat < num_classes), flat, num_classes)
        present = flat.new_zeros(flat.size(0), num_classes + 1).scatter_(1, flat, 1)
        return present[:, :num_classes].to(seg_label.dtype)

    def loss_by_feat(  # type: ignore[override]
        self,
        seg_logits: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
        batch_data_samples: Sequence[SegDataSample],
    ) -> dict[str, torch.Tensor]:
        """Decode losses plus ``loss_se`` when the SE branch is on."""
        if not self.use_se_loss:
            return super().loss_by_feat(seg_logits, batch_data_samples)  # type: ignore[arg-type]
        seg_logit, se_logit = seg_logits
        losses = super().loss_by_feat(seg_logit, batch_data_samples)
        onehot = self._convert_to_onehot_labels(
            self._stack_batch_gt(batch_data_samples), self.num_classes
        )
        losses["loss_se"] = self.loss_se_decode(se_logit, onehot)
        return losses
