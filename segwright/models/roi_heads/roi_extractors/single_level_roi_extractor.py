"""``SingleRoIExtractor``: each RoI pooled from the one FPN level its size maps to (MMDet 3.3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from segwright.models.roi_heads.roi_extractors.base_roi_extractor import BaseRoIExtractor
from segwright.registry import MODELS


@MODELS.register_module()
class SingleRoIExtractor(BaseRoIExtractor):
    """Pool every RoI from a single level, picked by its scale as in the FPN paper.

    A RoI of scale ``s = sqrt(w * h)`` goes to level ``floor(log2(s / finest_scale + 1e-6))``,
    clamped to the levels there are: below ``2 * finest_scale`` (112 by default) level 0,
    below ``4 * finest_scale`` level 1, and so on.

    Args:
        roi_layer: RoI layer config (``dict(type='RoIAlign', output_size=7, sampling_ratio=0)``).
        out_channels: Channels of the features.
        featmap_strides: Stride of each input level.
        finest_scale: Scale below which (doubled) RoIs go to level 0.
        init_cfg: Initialisation config.
    """

    def __init__(
        self,
        roi_layer: Mapping[str, Any],
        out_channels: int,
        featmap_strides: Sequence[int],
        finest_scale: int = 56,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(
            roi_layer=roi_layer,
            out_channels=out_channels,
            featmap_strides=featmap_strides,
            init_cfg=init_cfg,
        )
        self.finest_scale = finest_scale

    def map_roi_levels(self, rois: torch.Tensor, num_levels: int) -> torch.Tensor:
        """The 0-based level of each RoI.

        Shapes:
            rois (K, 5) -> (K,) int64.
        """
        scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
        levels = torch.floor(torch.log2(scale / self.finest_scale + 1e-6))
        return levels.clamp(min=0, max=num_levels - 1).long()

    def forward(
        self,
        feats: Sequence[torch.Tensor],
        rois: torch.Tensor,
        roi_scale_factor: float | None = None,
    ) -> torch.Tensor:
        """Pooled features of every RoI, in the order of ``rois``.

        Args:
            feats: Feature maps, finest first (only the first ``num_inputs`` are read).
            rois: ``[batch_index, x1, y1, x2, y2]`` rows in input-image coordinates.
            roi_scale_factor: Enlarge (or shrink) every RoI about its centre before pooling;
                the level is chosen from the original size.

        Raises:
            ValueError: ``rois`` is not (K, 5), or fewer feature levels than strides.

        Shapes:
            feats: one (B, C, H_l, W_l) per level; rois (K, 5) -> (K, C, out_h, out_w).
        """
        if rois.dim() != 2 or rois.size(-1) != 5:
            raise ValueError(
                f"SingleRoIExtractor: rois must be (K, 5) [batch_index, x1, y1, x2, y2], got "
                f"{tuple(rois.shape)}."
            )
        if len(feats) < self.num_inputs:
            raise ValueError(
                f"SingleRoIExtractor: {len(feats)} feature levels given but featmap_strides "
                f"names {self.num_inputs}."
            )
        feats = feats[: self.num_inputs]
        rois = rois.type_as(feats[0])
        out_size = self.roi_layers[0].output_size
        roi_feats = feats[0].new_zeros(rois.size(0), self.out_channels, *out_size)
        num_levels = len(feats)
        if num_levels == 1:
            return roi_feats if len(rois) == 0 else self.roi_layers[0](feats[0], rois)

        levels = self.map_roi_levels(rois, num_levels)
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        for level in range(num_levels):
            inds = (levels == level).nonzero(as_tuple=False).squeeze(1)
            if inds.numel() > 0:
                roi_feats[inds] = self.roi_layers[level](feats[level], rois[inds])
            else:
                # Keep every level in the graph, so distributed training sees a gradient
                # (zero) for all of them in every step.
                roi_feats = roi_feats + feats[level].sum() * 0.0
        return roi_feats
