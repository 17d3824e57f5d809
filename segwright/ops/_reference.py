"""Slow, exact references for the operators of this package: the oracles their tests compare to.

They follow MMCV 2.1's CPU kernels step by step (a Python loop over RoIs, bins and samples for
RoIAlign; a greedy loop over score-sorted boxes for NMS) and are never used by models. Values
that MMCV computes in the tensor's precision (sample positions, IoUs) are computed in the
tensor's dtype here too, so float32 results agree with MMCV's to the last bit where it matters
(an IoU against its threshold, a sample against the map border).
"""

from __future__ import annotations

import math

import torch

from segwright.ops.nms import _batched_nms, _check_boxes, _iou_threshold_as, _pack_dets
from segwright.ops.roi_align import _check_roi_align_inputs, _pair

_MAX_POOL_START = -10000.0  # MMCV's initial running max: an empty bin reads -10000 in 'max' mode
_NO_TAPS = ((0, 0.0),) * 4


def _bilinear_taps(y: float, x: float, height: int, width: int) -> list[tuple[int, float]] | None:
    """The four (flat pixel index, weight) pairs of one sample, or None when it reads 0.

    MMCV's rule: a sample more than one pixel outside the map reads 0; one within a pixel of the
    border is clamped onto the border row/column.
    """
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return None
    y = max(y, 0.0)
    x = max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    return [
        (y_low * width + x_low, hy * hx),
        (y_low * width + x_high, hy * lx),
        (y_high * width + x_low, ly * hx),
        (y_high * width + x_high, ly * lx),
    ]


def roi_align_reference(
    input: torch.Tensor,
    rois: torch.Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = 0,
    pool_mode: str = "avg",
    aligned: bool = True,
) -> torch.Tensor:
    """RoIAlign computed one RoI, bin and sample at a time, like MMCV's CPU kernel.

    The taps of every sample are worked out one by one in Python (MMCV's pre-calculation),
    then applied to all channels at once. Same arguments and result as
    :func:`segwright.ops.roi_align`; differentiable with respect to ``input`` (in 'max' mode the
    gradient goes to the first sample holding the maximum).

    Shapes:
        input (N, C, H, W); rois (K, 5) as (batch_index, x1, y1, x2, y2) -> (K, C, out_h, out_w).
    """
    out_h, out_w = _pair(output_size)
    _check_roi_align_inputs(input, rois, pool_mode)
    num_images, channels, height, width = input.shape
    dtype = input.dtype
    # MMCV receives the scale as a C float and then works in the tensor's precision.
    scale = torch.tensor(float(spatial_scale), dtype=torch.float32).to(dtype)
    offset = 0.5 if aligned else 0.0
    # One row of C values per pixel, so that each tap is a row lookup.
    pixels = input.permute(0, 2, 3, 1).reshape(num_images * height * width, channels)
    outputs = []
    for roi in rois.detach().to(dtype):
        batch = int(roi[0].item())
        if not 0 <= batch < num_images:
            raise ValueError(f"roi_align: RoI batch index {batch} is outside [0, {num_images}).")
        start_x, start_y, end_x, end_y = (roi[1:5] * scale - offset).unbind()
        roi_w, roi_h = end_x - start_x, end_y - start_y
        if aligned:
            if not (roi_w >= 0 and roi_h >= 0):
                raise ValueError(
                    "roi_align: with aligned=True every RoI needs x2 >= x1 and y2 >= y1; got "
                    f"{roi[1:5].tolist()}."
                )
        else:  # the legacy mode makes every RoI at least one pixel wide and high
            roi_w, roi_h = roi_w.clamp(min=1), roi_h.clamp(min=1)
        bin_h, bin_w = roi_h / out_h, roi_w / out_w
        grid_h = sampling_ratio if sampling_ratio > 0 else int(math.ceil(bin_h.item()))
        grid_w = sampling_ratio if sampling_ratio > 0 else int(math.ceil(bin_w.item()))
        count = max(grid_h * grid_w, 1)
        # Sample positions in the tensor's precision, in MMCV's order of operations.
        bins_h = torch.arange(out_h, dtype=dtype)
        bins_w = torch.arange(out_w, dtype=dtype)
        steps_h = torch.arange(grid_h, dtype=dtype) + 0.5
        steps_w = torch.arange(grid_w, dtype=dtype) + 0.5
        ys = (start_y + bins_h[:, None] * bin_h + steps_h[None, :] * bin_h / grid_h).tolist()
        xs = (start_x + bins_w[:, None] * bin_w + steps_w[None, :] * bin_w / grid_w).tolist()
        # MMCV's pre-calculation: the taps of every sample of the RoI, shared by all channels.
        # A sample that reads 0 gets four zero-weight taps on pixel 0, as in MMCV.
        index: list[int] = []
        weight: list[float] = []
        for ph in range(out_h):
            for pw in range(out_w):
                for iy in range(grid_h):
                    for ix in range(grid_w):
                        taps = _bilinear_taps(ys[ph][iy], xs[pw][ix], height, width)
                        for pixel, w in taps or _NO_TAPS:
                            index.append(pixel)
                            weight.append(w)
        rows = torch.tensor(index, dtype=torch.long) + batch * height * width
        taps = pixels.index_select(0, rows).view(-1, 4, channels)
        # each sample: w1 * v1 + w2 * v2 + w3 * v3 + w4 * v4, for every channel
        values = (taps * torch.tensor(weight, dtype=dtype).view(-1, 4, 1)).sum(1)
        samples = values.view(out_h, out_w, grid_h * grid_w, channels)
        if pool_mode == "avg":
            pooled = samples.sum(2) / count
        elif grid_h * grid_w == 0:
            pooled = input.new_full((out_h, out_w, channels), _MAX_POOL_START)
        else:  # MMCV keeps the first sample that beats the running max (which starts at -10000)
            pooled = samples.max(2).values.clamp(min=_MAX_POOL_START)
        outputs.append(pooled.permute(2, 0, 1))
    if not outputs:
        return input.new_zeros(0, channels, out_h, out_w)
    return torch.stack(outputs)


def nms_reference(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    iou_threshold: float,
    offset: int = 0,
    score_threshold: float | None = 0,
    max_num: int = -1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy NMS with one Python step per kept box, like MMCV's CPU kernel.

    Same arguments and result as :func:`segwright.ops.nms`.

    Shapes:
        boxes (N, 4); scores (N,) -> dets (M, 5), keep (M,).
    """
    _check_boxes(boxes, scores, offset)
    candidates = torch.arange(boxes.shape[0], device=boxes.device)
    if score_threshold is not None and score_threshold > 0:
        candidates = candidates[scores > score_threshold]
    sub_boxes, sub_scores = boxes[candidates], scores[candidates]
    threshold = _iou_threshold_as(iou_threshold, sub_boxes.dtype)
    # The same call MMCV makes, so that tied scores come out in the same order.
    order = sub_scores.sort(0, descending=True)[1]
    x1, y1, x2, y2 = sub_boxes[order].unbind(1)
    areas = (x2 - x1 + offset) * (y2 - y1 + offset)
    selected = torch.ones(order.shape[0], dtype=torch.bool, device=boxes.device)
    for i in range(order.shape[0]):
        if not selected[i]:
            continue
        # Box i against every box ranked below it (MMCV's inner loop, one tensor op wide).
        w = (torch.minimum(x2[i], x2[i + 1 :]) - torch.maximum(x1[i], x1[i + 1 :]) + offset).clamp(
            min=0
        )
        h = (torch.minimum(y2[i], y2[i + 1 :]) - torch.maximum(y1[i], y1[i + 1 :]) + offset).clamp(
            min=0
        )
        inter = w * h
        overlap = inter / (areas[i] + areas[i + 1 :] - inter)
        selected[i + 1 :] &= ~(overlap > threshold)
    keep = candidates[order[selected]]
    if max_num > 0:
        keep = keep[:max_num]
    return _pack_dets(boxes, scores, keep), keep


def batched_nms_reference(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    idxs: torch.Tensor,
    nms_cfg: dict | None,
    class_agnostic: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`segwright.ops.batched_nms` with :func:`nms_reference` doing the suppression.

    Shapes:
        boxes (N, 4); scores (N,); idxs (N,) -> dets (M, 5), keep (M,).
    """
    return _batched_nms(boxes, scores, idxs, nms_cfg, class_agnostic, nms_reference)
