"""PointRend's ``PointHead``: refines a coarse segmentation at its most uncertain points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, resize
from segwright.ops.point_sample import (
    calculate_uncertainty,
    get_uncertain_point_coords_on_grid,
    get_uncertain_point_coords_with_randomness,
    point_sample,
)
from segwright.registry import MODELS
from segwright.structures import SegDataSample
from segwright.utils.errors import ConfigError


def _setting(cfg: Any, key: str, where: str) -> Any:
    """``cfg.key`` of a train/test config given as a mapping or an attribute object."""
    value = cfg.get(key) if isinstance(cfg, Mapping) else getattr(cfg, key, None)
    if value is None:
        raise ConfigError(
            f"PointHead needs model.{where}.{key} (PointRend's {where}: train_cfg=dict("
            "num_points=2048, oversample_ratio=3, importance_sample_ratio=0.75), test_cfg=dict("
            "mode='whole', subdivision_steps=2, subdivision_num_points=8196, scale_factor=2))."
        )
    return value


@MODELS.register_module()
class PointHead(BaseDecodeHead):
    """A shared MLP (1x1 Conv1d layers) on point features: fine features + coarse logits.

    Called as the second stage of a ``CascadeEncoderDecoder``: ``prev_output`` is the coarse
    head's logits. Training samples ``train_cfg.num_points`` points per image (uncertain ones
    plus random ones, see :func:`~segwright.ops.point_sample.get_uncertain_point_coords_with_randomness`)
    and logs ``pointloss_ce`` and ``acc_point``; inference upsamples the coarse logits
    ``test_cfg.subdivision_steps`` times by ``test_cfg.scale_factor`` and each time replaces the
    ``test_cfg.subdivision_num_points`` most uncertain cells with point predictions.

    Args:
        num_fcs: Layers of the MLP.
        coarse_pred_each_layer: Concatenate the coarse logits to every layer's input.
        conv_cfg, norm_cfg, act_cfg: Layer configs of the MLP (Conv1d, none, ReLU).
        **kwargs: :class:`BaseDecodeHead` arguments; ``in_channels``/``in_index`` are lists.
    """

    def __init__(
        self,
        num_fcs: int = 3,
        coarse_pred_each_layer: bool = True,
        conv_cfg: Mapping[str, Any] | None = dict(type="Conv1d"),  # noqa: B006 - MMSeg default
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = dict(type="ReLU", inplace=False),  # noqa: B006
        **kwargs: Any,
    ) -> None:
        transform = kwargs.pop("input_transform", "multiple_select")
        if transform != "multiple_select":
            raise ConfigError(
                f"PointHead always uses input_transform='multiple_select', got {transform!r}."
            )
        super().__init__(
            input_transform="multiple_select", conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg, init_cfg=dict(type="Normal", std=0.01, override=dict(name="fc_seg")),
            **kwargs,
        )  # fmt: skip
        self.num_fcs = num_fcs
        self.coarse_pred_each_layer = coarse_pred_each_layer
        in_channels = sum(self.in_channels) + self.num_classes  # type: ignore[arg-type]
        self.fcs = nn.ModuleList()
        for _ in range(num_fcs):
            self.fcs.append(
                ConvModule(
                    in_channels, self.channels, kernel_size=1, stride=1, padding=0,
                    conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
                )
            )  # fmt: skip
            in_channels = self.channels + (self.num_classes if coarse_pred_each_layer else 0)
        self.fc_seg = nn.Conv1d(in_channels, self.num_classes, kernel_size=1, stride=1, padding=0)
        # point features are (N, C, P): a plain Dropout replaces the base class's Dropout2d
        self.dropout = nn.Dropout(self.dropout_ratio) if self.dropout_ratio > 0 else None
        del self.conv_seg

    def cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        """Dropout (if any) then the ``fc_seg`` classifier."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.fc_seg(feat)

    def forward(  # type: ignore[override]
        self, fine_grained_point_feats: torch.Tensor, coarse_point_feats: torch.Tensor
    ) -> torch.Tensor:
        """Point logits (N, num_classes, P) from fine (N, sum C, P) and coarse (N, K, P) features."""
        if not isinstance(fine_grained_point_feats, torch.Tensor):
            # what CascadeEncoderDecoder's mode='tensor' passes (it fails in MMSeg 1.2.2 too)
            raise ConfigError(
                "PointHead.forward takes point features, not the feature maps: a PointRend "
                "model has no single-pass forward, so mode='tensor' is not available. Use "
                "mode='predict' or model.encode_decode(inputs, metas) for refined logits."
            )
        x = torch.cat([fine_grained_point_feats, coarse_point_feats], dim=1)
        for fc in self.fcs:
            x = fc(x)
            if self.coarse_pred_each_layer:
                x = torch.cat([x, coarse_point_feats], dim=1)
        return self.cls_seg(x)

    def _get_fine_grained_point_feats(
        self, x: Sequence[torch.Tensor], points: torch.Tensor
    ) -> torch.Tensor:
        feats = [point_sample(f, points, align_corners=self.align_corners) for f in x]
        return feats[0] if len(feats) == 1 else torch.cat(feats, dim=1)

    def _get_coarse_point_feats(
        self, prev_output: torch.Tensor, points: torch.Tensor
    ) -> torch.Tensor:
        return point_sample(prev_output, points, align_corners=self.align_corners)

    def _point_logits(
        self, inputs: Sequence[torch.Tensor], prev_output: torch.Tensor, points: torch.Tensor
    ) -> torch.Tensor:
        fine = self._get_fine_grained_point_feats(self._transform_inputs(inputs), points)
        return self.forward(fine, self._get_coarse_point_feats(prev_output, points))

    # -- training ----------------------------------------------------------------------------

    def get_points_train(
        self, seg_logits: torch.Tensor, uncertainty_func: Any, cfg: Any
    ) -> torch.Tensor:
        """``(N, num_points, 2)`` training points (random: uses the global RNG)."""
        return get_uncertain_point_coords_with_randomness(
            seg_logits,
            uncertainty_func,
            num_points=int(_setting(cfg, "num_points", "train_cfg")),
            oversample_ratio=float(_setting(cfg, "oversample_ratio", "train_cfg")),
            importance_sample_ratio=float(_setting(cfg, "importance_sample_ratio", "train_cfg")),
        )

    def loss(  # type: ignore[override]
        self,
        inputs: Sequence[torch.Tensor],
        prev_output: torch.Tensor,
        batch_data_samples: Sequence[SegDataSample],
        train_cfg: Any,
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """Losses at training points picked from the coarse logits ``prev_output``."""
        with torch.no_grad():
            points = self.get_points_train(prev_output, calculate_uncertainty, train_cfg)
        point_logits = self._point_logits(inputs, prev_output, points)
        return self.loss_by_feat(point_logits, points, batch_data_samples)

    def loss_by_feat(  # type: ignore[override]
        self,
        point_logits: torch.Tensor,
        points: torch.Tensor,
        batch_data_samples: Sequence[SegDataSample],
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """``point<loss_name>`` per loss and ``acc_point``, against labels read at the points."""
        from segwright.models.losses import accuracy

        label = self._stack_batch_gt(batch_data_samples).float()
        point_label = point_sample(label, points, mode="nearest", align_corners=self.align_corners)
        point_label = point_label.squeeze(1).long()
        modules = (
            self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) else [self.loss_decode]
        )
        losses: dict[str, torch.Tensor] = {}
        for module in modules:
            losses["point" + module.loss_name] = module(
                point_logits, point_label, ignore_index=self.ignore_index
            )
        losses["acc_point"] = accuracy(point_logits, point_label, ignore_index=self.ignore_index)
        return losses

    # -- inference ---------------------------------------------------------------------------

    def get_points_test(
        self, seg_logits: torch.Tensor, uncertainty_func: Any, cfg: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat indices and centres of the most uncertain cells of ``seg_logits``."""
        num_points = int(_setting(cfg, "subdivision_num_points", "test_cfg"))
        return get_uncertain_point_coords_on_grid(uncertainty_func(seg_logits), num_points)

    def predict(  # type: ignore[override]
        self,
        inputs: Sequence[torch.Tensor],
        prev_output: torch.Tensor,
        batch_img_metas: Sequence[Mapping[str, Any]],
        test_cfg: Any,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Coarse logits refined by subdivision, resized like any head's prediction."""
        steps = int(_setting(test_cfg, "subdivision_steps", "test_cfg"))
        scale = _setting(test_cfg, "scale_factor", "test_cfg")
        refined = prev_output.clone()
        for _ in range(steps):
            refined = resize(
                refined, scale_factor=scale, mode="bilinear", align_corners=self.align_corners
            )
            n, c, h, w = refined.shape
            indices, points = self.get_points_test(refined, calculate_uncertainty, test_cfg)
            point_logits = self._point_logits(inputs, prev_output, points)
            refined = refined.reshape(n, c, h * w).scatter(
                2, indices.unsqueeze(1).expand(-1, c, -1), point_logits.to(refined.dtype)
            )
            refined = refined.view(n, c, h, w)
        return self.predict_by_feat(refined, batch_img_metas)
