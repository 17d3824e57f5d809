"""Box regression targets as centre/size deltas, as MMDetection 3.3's ``DeltaXYWHBBoxCoder``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from segwright.models.task_modules._boxes import box_tensor, check_boxes
from segwright.registry import TASK_UTILS
from segwright.utils.errors import ConfigError


def bbox2delta(
    proposals: torch.Tensor,
    gt: torch.Tensor,
    means: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
    stds: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
) -> torch.Tensor:
    """Deltas that move ``proposals`` onto ``gt``, normalised by ``means``/``stds``.

    ``dx = (gx - px) / pw``, ``dy = (gy - py) / ph``, ``dw = log(gw / pw)``,
    ``dh = log(gh / ph)`` with centres ``(x1 + x2) / 2`` and sizes ``x2 - x1`` (no +1);
    then ``(d - mean) / std``. Computed in float32.

    Shapes:
        proposals (N, 4); gt (N, 4) -> (N, 4).
    """
    if proposals.shape != gt.shape:
        raise ValueError(
            f"bbox2delta: proposals and gt need the same shape, got {tuple(proposals.shape)} "
            f"and {tuple(gt.shape)}."
        )
    proposals, gt = proposals.float(), gt.float()
    px = (proposals[..., 0] + proposals[..., 2]) * 0.5
    py = (proposals[..., 1] + proposals[..., 3]) * 0.5
    pw = proposals[..., 2] - proposals[..., 0]
    ph = proposals[..., 3] - proposals[..., 1]
    gx = (gt[..., 0] + gt[..., 2]) * 0.5
    gy = (gt[..., 1] + gt[..., 3]) * 0.5
    gw = gt[..., 2] - gt[..., 0]
    gh = gt[..., 3] - gt[..., 1]
    deltas = torch.stack(
        [(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw), torch.log(gh / ph)], dim=-1
    )
    return (deltas - deltas.new_tensor(means).unsqueeze(0)) / deltas.new_tensor(stds).unsqueeze(0)


def _image_size(max_shape: Any) -> tuple[Any, Any]:
    """``(h, w[, c])`` (a sequence or a tensor) -> ``(h, w)`` as Python numbers."""
    if isinstance(max_shape, torch.Tensor):
        if max_shape.dim() != 1 or max_shape.numel() < 2:
            raise ValueError(
                f"delta2bbox: max_shape must be (h, w[, c]), got a tensor of shape "
                f"{tuple(max_shape.shape)}; per-image shapes are not supported for (N, 4K) deltas."
            )
        max_shape = max_shape.tolist()
    if not isinstance(max_shape, Sequence) or len(max_shape) < 2:
        raise ValueError(f"delta2bbox: max_shape must be (h, w[, c]), got {max_shape!r}.")
    if isinstance(max_shape[0], Sequence):
        raise ValueError(
            "delta2bbox: max_shape must be one image's (h, w), got a list of shapes; per-image "
            "shapes are not supported for (N, 4K) deltas."
        )
    return max_shape[0], max_shape[1]


def delta2bbox(
    rois: torch.Tensor,
    deltas: torch.Tensor,
    means: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
    stds: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
    max_shape: Any = None,
    wh_ratio_clip: float = 16 / 1000,
    clip_border: bool = True,
    add_ctr_clamp: bool = False,
    ctr_clamp: float = 32,
) -> torch.Tensor:
    """Apply (K per box, e.g. one per class) deltas to ``rois``; the inverse of :func:`bbox2delta`.

    ``dw``/``dh`` are clamped to ``[-|log(wh_ratio_clip)|, |log(wh_ratio_clip)|]``; with
    ``add_ctr_clamp`` the centre shift ``d * size`` is clamped to ``[-ctr_clamp, ctr_clamp]``
    and ``dw``/``dh`` only from above. With ``clip_border`` and ``max_shape = (h, w)``, x is
    clamped to [0, w] and y to [0, h]. No boxes in -> ``deltas`` returned as is.

    Shapes:
        rois (N, 4); deltas (N, 4K) -> (N, 4K).
    """
    num_bboxes = deltas.size(0)
    if deltas.dim() != 2 or deltas.size(1) % 4 != 0:
        raise ValueError(f"delta2bbox: deltas must have shape (N, 4K), got {tuple(deltas.shape)}.")
    if rois.size(0) != num_bboxes:
        raise ValueError(f"delta2bbox: {rois.size(0)} boxes but {num_bboxes} rows of deltas.")
    if num_bboxes == 0:
        return deltas
    num_classes = deltas.size(1) // 4
    deltas = deltas.reshape(-1, 4)
    denorm = deltas * deltas.new_tensor(stds).view(1, -1) + deltas.new_tensor(means).view(1, -1)
    dxy, dwh = denorm[:, :2], denorm[:, 2:]

    rois = rois.repeat(1, num_classes).reshape(-1, 4)
    pxy = (rois[:, :2] + rois[:, 2:]) * 0.5
    pwh = rois[:, 2:] - rois[:, :2]
    dxy_wh = pwh * dxy
    max_ratio = abs(math.log(wh_ratio_clip))
    if add_ctr_clamp:
        dxy_wh = dxy_wh.clamp(min=-ctr_clamp, max=ctr_clamp)
        dwh = dwh.clamp(max=max_ratio)
    else:
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    bboxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)
    if clip_border and max_shape is not None:
        height, width = _image_size(max_shape)
        xs = bboxes[:, 0::2].clamp(min=0, max=width)
        ys = bboxes[:, 1::2].clamp(min=0, max=height)
        bboxes = torch.stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], dim=-1)
    return bboxes.reshape(num_bboxes, -1)


def _four_numbers(values: Any, name: str) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != 4:
        raise ConfigError(
            f"DeltaXYWHBBoxCoder: {name} must be four numbers (x, y, w, h), got {values!r}."
        )
    return tuple(float(v) for v in values)


@TASK_UTILS.register_module()
class DeltaXYWHBBoxCoder:
    """Encode boxes as ``(dx, dy, dw, dh)`` deltas to priors and decode them back.

    Args:
        target_means: Means subtracted from the deltas.
        target_stds: Standard deviations dividing the deltas.
        clip_border: Clip decoded boxes to the image when ``max_shape`` is given.
        add_ctr_clamp: Clamp the decoded centre shift to ``ctr_clamp`` pixels.
        ctr_clamp: The centre-shift bound.
        use_box_type: Must be False: decoded boxes are plain tensors here.
    """

    #: Size of the last dimension of an encoded box.
    encode_size = 4

    def __init__(
        self,
        target_means: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
        target_stds: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
        clip_border: bool = True,
        add_ctr_clamp: bool = False,
        ctr_clamp: int = 32,
        use_box_type: bool = False,
    ) -> None:
        if use_box_type:
            raise ConfigError(
                "DeltaXYWHBBoxCoder: use_box_type=True is not supported; decoded boxes are "
                "plain tensors. Remove use_box_type."
            )
        self.means = _four_numbers(target_means, "target_means")
        self.stds = _four_numbers(target_stds, "target_stds")
        self.clip_border = bool(clip_border)
        self.add_ctr_clamp = bool(add_ctr_clamp)
        self.ctr_clamp = ctr_clamp
        self.use_box_type = False

    def encode(self, bboxes: Any, gt_bboxes: Any) -> torch.Tensor:
        """Regression targets that move ``bboxes`` onto ``gt_bboxes``.

        Shapes:
            bboxes (N, 4); gt_bboxes (N, 4) -> (N, 4).
        """
        bboxes = check_boxes(bboxes, "bboxes", "DeltaXYWHBBoxCoder.encode")
        gt_bboxes = check_boxes(gt_bboxes, "gt_bboxes", "DeltaXYWHBBoxCoder.encode")
        if bboxes.size(0) != gt_bboxes.size(0):
            raise ValueError(
                f"DeltaXYWHBBoxCoder.encode: {bboxes.size(0)} boxes but {gt_bboxes.size(0)} "
                "ground-truth boxes; they are paired row by row."
            )
        return bbox2delta(bboxes, gt_bboxes, self.means, self.stds)

    def decode(
        self,
        bboxes: Any,
        pred_bboxes: torch.Tensor,
        max_shape: Any = None,
        wh_ratio_clip: float = 16 / 1000,
    ) -> torch.Tensor:
        """Boxes from priors and predicted deltas (one or K per prior).

        Args:
            bboxes: Priors or proposals.
            pred_bboxes: Predicted deltas.
            max_shape: ``(h, w[, c])`` of the image to clip to, or None.
            wh_ratio_clip: Bound of the size change, as a ratio.

        Shapes:
            bboxes (N, 4); pred_bboxes (N, 4K) -> (N, 4K).
        """
        bboxes = box_tensor(bboxes)
        if not isinstance(pred_bboxes, torch.Tensor) or pred_bboxes.dim() != 2:
            shape = tuple(pred_bboxes.shape) if isinstance(pred_bboxes, torch.Tensor) else "?"
            raise ValueError(
                "DeltaXYWHBBoxCoder.decode: pred_bboxes must have shape (N, 4K), got "
                f"{shape}; batched (B, N, 4K) decoding is not supported."
            )
        bboxes = check_boxes(bboxes, "bboxes", "DeltaXYWHBBoxCoder.decode")
        return delta2bbox(
            bboxes,
            pred_bboxes,
            self.means,
            self.stds,
            max_shape,
            wh_ratio_clip,
            self.clip_border,
            self.add_ctr_clamp,
            self.ctr_clamp,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(target_means={self.means}, target_stds={self.stds}, "
            f"clip_border={self.clip_border}, add_ctr_clamp={self.add_ctr_clamp}, "
            f"ctr_clamp={self.ctr_clamp})"
        )
