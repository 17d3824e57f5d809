"""``ConvFCBBoxHead`` and its presets ``Shared2FCBBoxHead``/``Shared4Conv1FCBBoxHead`` (MMDet 3.3).

Layout (any part may be empty)::

                                 /-> cls_convs -> cls_fcs -> fc_cls
    shared_convs -> shared_fcs -<
                                 \\-> reg_convs -> reg_fcs -> fc_reg
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.models.layers import ConvModule
from segwright.models.roi_heads.bbox_heads.bbox_head import BBoxHead
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class ConvFCBBoxHead(BBoxHead):
    """A box head with shared and per-branch 3x3 convs and fully connected layers.

    Every conv is a ``ConvModule`` (conv, optional norm, ReLU); every fc is followed by a
    ReLU. Features are flattened before the first fc (average-pooled first with
    ``with_avg_pool``).

    Args:
        num_shared_convs, num_shared_fcs: Layers shared by both branches.
        num_cls_convs, num_cls_fcs: Layers of the classification branch.
        num_reg_convs, num_reg_fcs: Layers of the regression branch.
        conv_out_channels: Channels of every conv.
        fc_out_channels: Width of every fc.
        conv_cfg, norm_cfg: Layer configs of the convs.
        init_cfg: Initialisation config; default BBoxHead's plus Xavier-uniform for the fcs.
        **kwargs: :class:`BBoxHead` arguments.

    Raises:
        ConfigError: No layer at all, branch convs after shared fcs, or branch layers for a
            disabled branch.
    """

    def __init__(
        self,
        num_shared_convs: int = 0,
        num_shared_fcs: int = 0,
        num_cls_convs: int = 0,
        num_cls_fcs: int = 0,
        num_reg_convs: int = 0,
        num_reg_fcs: int = 0,
        conv_out_channels: int = 256,
        fc_out_channels: int = 1024,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        init_cfg: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(init_cfg=init_cfg, **kwargs)
        owner = type(self).__name__
        counts = (
            num_shared_convs, num_shared_fcs, num_cls_convs, num_cls_fcs, num_reg_convs,
            num_reg_fcs,
        )  # fmt: skip
        if any(not isinstance(n, int) or n < 0 for n in counts) or sum(counts) == 0:
            raise ConfigError(
                f"{owner}: the layer counts must be non-negative ints, at least one above 0; "
                f"got {counts}."
            )
        if (num_cls_convs > 0 or num_reg_convs > 0) and num_shared_fcs > 0:
            raise ConfigError(
                f"{owner}: branch convs cannot follow shared fcs; set num_shared_fcs=0 or drop "
                "num_cls_convs/num_reg_convs."
            )
        if not self.with_cls and (num_cls_convs or num_cls_fcs):
            raise ConfigError(f"{owner}: with_cls=False leaves no use for cls convs/fcs.")
        if not self.with_reg and (num_reg_convs or num_reg_fcs):
            raise ConfigError(f"{owner}: with_reg=False leaves no use for reg convs/fcs.")
        self.num_shared_convs = num_shared_convs
        self.num_shared_fcs = num_shared_fcs
        self.num_cls_convs = num_cls_convs
        self.num_cls_fcs = num_cls_fcs
        self.num_reg_convs = num_reg_convs
        self.num_reg_fcs = num_reg_fcs
        self.conv_out_channels = conv_out_channels
        self.fc_out_channels = fc_out_channels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg

        self.shared_convs, self.shared_fcs, shared_dim = self._add_conv_fc_branch(
            num_shared_convs, num_shared_fcs, self.in_channels, is_shared=True
        )
        self.shared_out_channels = shared_dim
        self.cls_convs, self.cls_fcs, self.cls_last_dim = self._add_conv_fc_branch(
            num_cls_convs, num_cls_fcs, shared_dim
        )
        self.reg_convs, self.reg_fcs, self.reg_last_dim = self._add_conv_fc_branch(
            num_reg_convs, num_reg_fcs, shared_dim
        )
        if num_shared_fcs == 0 and not self.with_avg_pool:
            if num_cls_fcs == 0:
                self.cls_last_dim *= self.roi_feat_area
            if num_reg_fcs == 0:
                self.reg_last_dim *= self.roi_feat_area
        self.relu = nn.ReLU(inplace=True)
        # BBoxHead built the predictors for its own input size; rebuild them for the branches.
        self._build_predictors(self.cls_last_dim, self.reg_last_dim)
        if init_cfg is None:
            self.init_cfg.append(
                dict(
                    type="Xavier",
                    distribution="uniform",
                    override=[dict(name="shared_fcs"), dict(name="cls_fcs"), dict(name="reg_fcs")],
                )
            )

    def _add_conv_fc_branch(
        self, num_convs: int, num_fcs: int, in_channels: int, is_shared: bool = False
    ) -> tuple[nn.ModuleList, nn.ModuleList, int]:
        """Convs then fcs of one branch, and the size of the branch's output."""
        last_dim = in_channels
        convs = nn.ModuleList()
        for i in range(num_convs):
            convs.append(
                ConvModule(
                    last_dim if i == 0 else self.conv_out_channels,
                    self.conv_out_channels,
                    3,
                    padding=1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                )
            )
        if num_convs > 0:
            last_dim = self.conv_out_channels
        fcs = nn.ModuleList()
        if num_fcs > 0:
            # The first fc of the shared branch (or of any branch when none is shared) sees
            # the flattened RoI map.
            if (is_shared or self.num_shared_fcs == 0) and not self.with_avg_pool:
                last_dim *= self.roi_feat_area
            for i in range(num_fcs):
                fcs.append(
                    nn.Linear(last_dim if i == 0 else self.fc_out_channels, self.fc_out_channels)
                )
            last_dim = self.fc_out_channels
        return convs, fcs, last_dim

    def _branch(self, x: torch.Tensor, convs: nn.ModuleList, fcs: nn.ModuleList) -> torch.Tensor:
        for conv in convs:
            x = conv(x)
        if x.dim() > 2:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
        for fc in fcs:
            x = self.relu(fc(x))
        return x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Class scores and box deltas of every RoI.

        Shapes:
            x (K, C, h, w) -> cls_score (K, num_classes + 1), bbox_pred (K, 4 * num_classes)
            (or (K, 4) when class-agnostic).
        """
        for conv in self.shared_convs:
            x = conv(x)
        if self.num_shared_fcs > 0:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
            for fc in self.shared_fcs:
                x = self.relu(fc(x))
        x_cls = self._branch(x, self.cls_convs, self.cls_fcs)
        x_reg = self._branch(x, self.reg_convs, self.reg_fcs)
        cls_score = self.fc_cls(x_cls) if self.with_cls else None
        bbox_pred = self.fc_reg(x_reg) if self.with_reg else None
        return cls_score, bbox_pred


@MODELS.register_module()
class Shared2FCBBoxHead(ConvFCBBoxHead):
    """Two shared fcs, then ``fc_cls``/``fc_reg`` (Faster/Mask R-CNN's box head).

    Args:
        fc_out_channels: Width of the fcs.
        **kwargs: :class:`ConvFCBBoxHead` / :class:`BBoxHead` arguments.
    """

    def __init__(self, fc_out_channels: int = 1024, **kwargs: Any) -> None:
        super().__init__(
            num_shared_convs=0,
            num_shared_fcs=2,
            num_cls_convs=0,
            num_cls_fcs=0,
            num_reg_convs=0,
            num_reg_fcs=0,
            fc_out_channels=fc_out_channels,
            **kwargs,
        )


@MODELS.register_module()
class Shared4Conv1FCBBoxHead(ConvFCBBoxHead):
    """Four shared 3x3 convs and one shared fc, then ``fc_cls``/``fc_reg``.

    Args:
        fc_out_channels: Width of the fc.
        **kwargs: :class:`ConvFCBBoxHead` / :class:`BBoxHead` arguments.
    """

    def __init__(self, fc_out_channels: int = 1024, **kwargs: Any) -> None:
        super().__init__(
            num_shared_convs=4,
            num_shared_fcs=1,
            num_cls_convs=0,
            num_cls_fcs=0,
            num_reg_convs=0,
            num_reg_fcs=0,
            fc_out_channels=fc_out_channels,
            **kwargs,
        )
