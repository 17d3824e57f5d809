"""``BaseRoIExtractor``: one RoI pooling layer per feature level (MMDetection 3.3)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.utils import BaseModule
from segwright.ops import RoIAlign
from segwright.registry import split_scope
from segwright.utils.errors import ConfigError

#: RoI layer names a config may give (MMCV's op names) and the layer each one builds.
ROI_LAYERS: dict[str, type[nn.Module]] = {"RoIAlign": RoIAlign}


def build_roi_layers(layer_cfg: Mapping[str, Any], featmap_strides: Sequence[int]) -> nn.ModuleList:
    """One RoI layer per stride, each with ``spatial_scale = 1 / stride``.

    Args:
        layer_cfg: ``dict(type='RoIAlign', output_size=..., sampling_ratio=..., ...)``; the
            type may also be a layer class.
        featmap_strides: Stride of each feature level.

    Raises:
        ConfigError: An unknown or unsupported layer type, or bad layer arguments.
    """
    if not isinstance(layer_cfg, Mapping) or "type" not in layer_cfg:
        raise ConfigError(
            f"roi_layer must be a dict with a 'type' (e.g. dict(type='RoIAlign', "
            f"output_size=7, sampling_ratio=0)), got {layer_cfg!r}."
        )
    args = dict(layer_cfg)
    layer_type = args.pop("type")
    if isinstance(layer_type, str):
        name = split_scope(layer_type)[1]
        if name not in ROI_LAYERS:
            raise ConfigError(
                f"roi_layer type {layer_type!r} is not supported; segwright implements "
                f"{', '.join(sorted(ROI_LAYERS))} (pure PyTorch). Use type='RoIAlign'."
            )
        layer_cls: Any = ROI_LAYERS[name]
    elif callable(layer_type):
        layer_cls = layer_type
    else:
        raise ConfigError(f"roi_layer type must be a name or a class, got {layer_type!r}.")
    if "spatial_scale" in args:
        raise ConfigError(
            "roi_layer must not set spatial_scale: each level's scale is 1 / its stride "
            "(featmap_strides)."
        )
    try:
        return nn.ModuleList([layer_cls(spatial_scale=1 / s, **args) for s in featmap_strides])
    except TypeError as exc:
        raise ConfigError(f"Cannot build roi_layer {dict(layer_cfg)!r}: {exc}.") from exc


class BaseRoIExtractor(BaseModule, metaclass=ABCMeta):
    """Pools a fixed-size feature map for every RoI from multi-level features.

    Args:
        roi_layer: RoI layer config (``dict(type='RoIAlign', output_size=7, ...)``).
        out_channels: Channels of the features (and of the pooled output).
        featmap_strides: Stride of each input level.
        init_cfg: Initialisation config.
    """

    def __init__(
        self,
        roi_layer: Mapping[str, Any],
        out_channels: int,
        featmap_strides: Sequence[int],
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(featmap_strides, Sequence) or not featmap_strides:
            raise ConfigError(
                f"{type(self).__name__}: featmap_strides must be a non-empty list of strides, "
                f"got {featmap_strides!r}."
            )
        self.roi_layers = build_roi_layers(roi_layer, featmap_strides)
        self.out_channels = out_channels
        self.featmap_strides = list(featmap_strides)

    @property
    def num_inputs(self) -> int:
        """Number of feature levels read (one per stride)."""
        return len(self.featmap_strides)

    def roi_rescale(self, rois: torch.Tensor, scale_factor: float) -> torch.Tensor:
        """Scale every RoI's width and height by ``scale_factor`` about its centre.

        Shapes:
            rois (K, 5) -> (K, 5).
        """
        center_x = (rois[:, 1] + rois[:, 3]) * 0.5
        center_y = (rois[:, 2] + rois[:, 4]) * 0.5
        half_w = (rois[:, 3] - rois[:, 1]) * scale_factor * 0.5
        half_h = (rois[:, 4] - rois[:, 2]) * scale_factor * 0.5
        return torch.stack(
            (
                rois[:, 0],
                center_x - half_w,
                center_y - half_h,
                center_x + half_w,
                center_y + half_h,
            ),
            dim=-1,
        )

    @abstractmethod
    def forward(
        self,
        feats: Sequence[torch.Tensor],
        rois: torch.Tensor,
        roi_scale_factor: float | None = None,
    ) -> torch.Tensor:
        """Pooled features of every RoI.

        Shapes:
            feats: one (B, C, H_l, W_l) per level; rois (K, 5) -> (K, C, out_h, out_w).
        """
