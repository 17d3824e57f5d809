"""``STDCHead``: an ``FCNHead`` trained on boundary maps (STDC's detail loss)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.fcn_head import FCNHead
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample


@MODELS.register_module()
class STDCHead(FCNHead):
    """FCN head whose training target is the label map's boundaries, not its classes.

    The target: a Laplacian of the label map at strides 1, 2 and 4 (clamped at 0, binarised by
    ``boundary_threshold``, the coarse ones brought back up by nearest resizing), mixed with the
    fixed weights 0.6/0.3/0.1 (``fusion_kernel``, a frozen parameter as in MMSeg, so it is in
    the checkpoint) and binarised again. The losses of ``loss_decode`` then see labels 0/1.

    Args:
        boundary_threshold: Threshold of every binarisation.
        **kwargs: :class:`FCNHead` arguments (MMSeg's configs use ``num_classes=2``).
    """

    #: Pre-flight reads it: num_classes counts boundary labels, not the dataset's classes.
    predicts_dataset_classes = False

    def __init__(self, boundary_threshold: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.boundary_threshold = boundary_threshold
        # a buffer, so the kernel follows the head to its device and dtype
        laplacian = torch.full((9,), -1.0)
        laplacian[4] = 8.0
        self.register_buffer("laplacian_kernel", laplacian.reshape(1, 1, 3, 3))
        self.fusion_kernel = nn.Parameter(
            torch.tensor([0.6, 0.3, 0.1]).reshape(1, 3, 1, 1), requires_grad=False
        )

    def _binarise(self, x: torch.Tensor) -> torch.Tensor:
        # MMSeg sets values above the threshold to 1, then values at or below it to 0: two
        # steps, so a threshold >= 1 maps everything to 0, as there
        x = torch.where(x > self.boundary_threshold, torch.ones_like(x), x)
        return torch.where(x <= self.boundary_threshold, torch.zeros_like(x), x)

    def boundary_targets(self, seg_label: torch.Tensor) -> torch.Tensor:
        """Binary boundary maps of ``(N, 1, H, W)`` labels (ignored pixels count as values).

        Shapes:
            ``(N, 1, H, W)`` -> ``(N, 1, H, W)`` long.
        """
        seg_label = seg_label.to(self.laplacian_kernel)
        size = seg_label.shape[2:]
        levels = []
        for stride in (1, 2, 4):
            edges = F.conv2d(seg_label, self.laplacian_kernel, stride=stride, padding=1)
            edges = edges.clamp(min=0)
            if stride > 1:
                edges = F.interpolate(edges, size, mode="nearest")
            levels.append(self._binarise(edges))
        pyramid = torch.cat(levels, dim=1)
        return self._binarise(F.conv2d(pyramid, self.fusion_kernel.to(pyramid))).long()

    def loss_by_feat(
        self, seg_logits: torch.Tensor, batch_data_samples: Sequence[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        """The decode losses of ``seg_logits`` against the boundary targets."""
        targets = self.boundary_targets(self._stack_batch_gt(batch_data_samples))
        samples = [SegDataSample(gt_sem_seg=PixelData(target)) for target in targets]
        return super().loss_by_feat(seg_logits, samples)
