"""RoIAlign with MMCV 2.1's semantics, in plain PyTorch ops (autograd gives the backward).

Each output bin of a RoI averages (or, in 'max' mode, maximises) ``grid_h x grid_w`` bilinear
samples placed at the centres of a regular grid over the bin; ``sampling_ratio=0`` takes
``ceil(roi_size / output_size)`` samples per bin and axis. A sample more than a pixel outside the
map reads 0; one within a pixel of the border reads the border. ``aligned=True`` shifts the
scaled box by half a pixel; ``aligned=False`` (legacy) makes it at least one pixel wide and high.

The bilinear weight of a sample is a product of one weight per axis, so a RoI's average is
``Ay @ window @ Ax^T``: ``Ay`` (out_h, window_h) holds the summed row weights of each bin's
samples, ``Ax`` likewise for columns, and ``window`` is the crop of the map that the RoI's samples
touch ('max' mode keeps one row/column per sample instead, and maximises). RoIs are grouped by
window size class, so that padding windows to a common size wastes little, and each group's
windows are cut from the channels-last map of all images by one ``index_select`` per bounded
batch of groups.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

_MAX_POOL_START = -10000.0  # MMCV's initial running max: an empty bin reads -10000 in 'max' mode
_GATHER_ELEMENTS = 1 << 25  # values held by the crops (and per-sample maps) of one gather


def _pair(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, int) and s > 0 for s in pair):
        raise ValueError(
            f"roi_align: output_size must be a positive int or a pair (h, w) of them, got {size!r}."
        )
    return pair  # type: ignore[return-value]


def _check_roi_align_inputs(input: torch.Tensor, rois: torch.Tensor, pool_mode: str) -> None:
    if input.dim() != 4:
        raise ValueError(
            f"roi_align: input must be a feature map of shape (N, C, H, W), got {tuple(input.shape)}."
        )
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(
            "roi_align: rois must have shape (K, 5) as (batch_index, x1, y1, x2, y2), got "
            f"{tuple(rois.shape)}."
        )
    if rois.device != input.device:
        raise ValueError(
            f"roi_align: rois are on {rois.device} but the input is on {input.device}; move them "
            "to the same device."
        )
    if pool_mode not in ("avg", "max"):
        raise ValueError(f"roi_align: pool_mode must be 'avg' or 'max', got {pool_mode!r}.")


class _AxisTaps(NamedTuple):
    """The samples of all RoIs along one axis: two taps (pixel, weight) each.

    Shapes: every field (K, out, grid_max); ``used`` marks real samples inside the map.
    """

    low: torch.Tensor
    high: torch.Tensor
    w_low: torch.Tensor
    w_high: torch.Tensor
    used: torch.Tensor


def _axis_taps(
    start: torch.Tensor, bin_size: torch.Tensor, grid: torch.Tensor, out: int, size: int
) -> _AxisTaps:
    """Bilinear taps of every sample along one axis (y or x), MMCV's border rules included.

    Shapes:
        start, bin_size, grid (K,) -> fields (K, out, max(grid)).
    """
    dtype = start.dtype
    grid_max = max(int(grid.max()), 1)  # one padded sample at least keeps shapes simple
    bins = torch.arange(out, dtype=dtype, device=start.device)[None, :, None]
    steps = torch.arange(grid_max, dtype=dtype, device=start.device)[None, None, :]
    start, bin_size = start[:, None, None], bin_size[:, None, None]
    divisor = grid.clamp(min=1).to(dtype)[:, None, None]
    # Same order of operations as MMCV, so positions agree to the last bit.
    pos = start + bins * bin_size + (steps + 0.5) * bin_size / divisor
    used = (steps < grid[:, None, None]) & (pos >= -1) & (pos <= size)
    pos = pos.clamp(min=0, max=size)  # clamping below at 0 is MMCV's; above only keeps ints sane
    low = pos.floor().long()
    at_end = low >= size - 1
    low = torch.where(at_end, torch.full_like(low, size - 1), low)
    high = torch.where(at_end, low, low + 1)
    frac = torch.where(at_end, torch.zeros_like(pos), pos - low.to(dtype))
    zero = torch.zeros_like(pos)
    w_low = torch.where(used, 1 - frac, zero)
    w_high = torch.where(used, frac, zero)
    return _AxisTaps(low, high, w_low, w_high, used)


def _window(taps: _AxisTaps, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """First pixel and length of the span each RoI's samples touch (length >= 1).

    Shapes:
        taps fields (K, out, grid) -> (K,), (K,).
    """
    lo = torch.where(taps.used, taps.low, torch.full_like(taps.low, size)).flatten(1).amin(1)
    hi = torch.where(taps.used, taps.high, torch.full_like(taps.high, -1)).flatten(1).amax(1)
    empty = hi < 0
    lo = torch.where(empty, torch.zeros_like(lo), lo)
    length = torch.where(empty, torch.ones_like(hi), hi - lo + 1)
    return lo, length


def _window_weights(
    taps: _AxisTaps, lo: torch.Tensor, length: int, per_sample: bool
) -> torch.Tensor:
    """Tap weights scattered onto the window pixels of each RoI.

    Shapes:
        taps fields (R, out, grid); lo (R,) -> (R, out, length), or (R, out * grid, length) when
        ``per_sample`` (one row per sample instead of their sum).
    """
    r, out, grid = taps.low.shape
    rel_low = (taps.low - lo[:, None, None]).clamp(0, length - 1)
    rel_high = (taps.high - lo[:, None, None]).clamp(0, length - 1)
    if per_sample:
        rel_low, rel_high = rel_low.reshape(r, out * grid, 1), rel_high.reshape(r, out * grid, 1)
        w_low = taps.w_low.reshape(r, out * grid, 1)
        w_high = taps.w_high.reshape(r, out * grid, 1)
        rows = out * grid
    else:
        w_low, w_high, rows = taps.w_low, taps.w_high, out
    weights = taps.w_low.new_zeros(r, rows, length)
    weights.scatter_add_(2, rel_low, w_low)
    weights.scatter_add_(2, rel_high, w_high)
    return weights


def _size_class(n: int) -> int:
    """Size class of a window length: 1, 2, 3, 4, 6, 8, 12, 16, ... each get their own."""
    e = n.bit_length() - 1
    return 2 * e + (n > (1 << e)) + (2 * n > 3 * (1 << e))


class _Group(NamedTuple):
    """RoIs ``order[begin:end]``, whose windows are all padded to ``height`` x ``width``."""

    begin: int
    end: int
    height: int
    width: int


def _plan(
    heights: list[int], widths: list[int], rows: int, samples: int, channels: int
) -> tuple[list[int], list[list[_Group]]]:
    """Order RoIs by window size class and cut that order into groups and gathers.

    RoIs of a group share a size class per axis, so padding every window to the group's
    largest wastes at most about half of each axis. A gather (one ``index_select`` over all
    images, so that the backward makes one full-size gradient, not one per group) holds
    consecutive groups up to a budget: per channel, a RoI counts its window, ``rows``
    window-wide rows after the first product and ``samples`` values after the second.

    Returns:
        The RoI order, and the gathers as lists of groups (positions in that order).
    """
    keys = [(_size_class(h), _size_class(w), h * w) for h, w in zip(heights, widths)]
    order = sorted(range(len(heights)), key=keys.__getitem__)

    def cost(count: int, win_h: int, win_w: int) -> int:
        return count * channels * (win_h * win_w + rows * win_w + samples)

    gathers: list[list[_Group]] = [[]]
    used = 0  # elements of the current gather, its open group excluded
    begin, win_h, win_w = 0, 0, 0
    for pos, i in enumerate(order):
        new_h, new_w = max(win_h, heights[i]), max(win_w, widths[i])
        new_class = keys[i][:2] != keys[order[begin]][:2]
        if pos > begin and (
            new_class or used + cost(pos - begin + 1, new_h, new_w) > _GATHER_ELEMENTS
        ):
            gathers[-1].append(_Group(begin, pos, win_h, win_w))
            used += cost(pos - begin, win_h, win_w)
            begin, new_h, new_w = pos, heights[i], widths[i]
            if used + cost(1, new_h, new_w) > _GATHER_ELEMENTS:
                gathers.append([])
                used = 0
        win_h, win_w = new_h, new_w
    gathers[-1].append(_Group(begin, len(order), win_h, win_w))
    return order, gathers


def _window_pixels(
    image: torch.Tensor,
    top: torch.Tensor,
    left: torch.Tensor,
    win_h: int,
    win_w: int,
    height: int,
    width: int,
) -> torch.Tensor:
    """Flat (image, row, column) indices of each RoI's window; past the map, the border repeats.

    Shapes:
        image, top, left (R,) -> (R * win_h * win_w,).
    """
    rows = (top[:, None] + torch.arange(win_h, device=top.device)).clamp(max=height - 1)
    cols = (left[:, None] + torch.arange(win_w, device=left.device)).clamp(max=width - 1)
    rows = rows + image[:, None] * height
    return (rows[:, :, None] * width + cols[:, None, :]).flatten()


def roi_align(
    input: torch.Tensor,
    rois: torch.Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = 0,
    pool_mode: str = "avg",
    aligned: bool = True,
) -> torch.Tensor:
    """Pool each RoI of ``rois`` from ``input`` to a fixed size, as ``mmcv.ops.roi_align``.

    Args:
        input: Feature maps.
        rois: One row per RoI: the image index into ``input``, then x1, y1, x2, y2 in input-image
            coordinates (multiplied by ``spatial_scale`` to reach the map).
        output_size: Bins per RoI, an int or (h, w).
        spatial_scale: Map size over image size (e.g. 1/16).
        sampling_ratio: Samples per bin and axis; 0 or less adapts it to each RoI
            (``ceil(roi_size / output_size)``).
        pool_mode: 'avg' or 'max' over the samples of a bin.
        aligned: Shift by half a pixel (Detectron2 / MMDet 2+); False is the legacy mode.

    Returns:
        The pooled features. Differentiable with respect to ``input`` (not ``rois``, as in
        MMCV); in 'max' mode the gradient goes to one sample holding the maximum. (MMCV's
        'max' backward also drops a bin whose winning sample lies exactly at y = -1, where
        its "no sample" marker is -1; that sample reads row 0, and here it gets its gradient.)

    Raises:
        ValueError: on bad shapes, mismatched devices, a batch index outside the input, or
            (with ``aligned=True``) a RoI with x2 < x1 or y2 < y1.

    Shapes:
        input (N, C, H, W); rois (K, 5) -> (K, C, out_h, out_w).
    """
    out_h, out_w = _pair(output_size)
    _check_roi_align_inputs(input, rois, pool_mode)
    num_images, channels, height, width = input.shape
    num_rois = rois.shape[0]
    if num_rois == 0:
        return input.new_zeros(0, channels, out_h, out_w)
    dtype, device = input.dtype, input.device

    with torch.no_grad():
        rois = rois.detach().to(dtype)
        batch = rois[:, 0].long()
        # MMCV receives the scale as a C float and then works in the tensor's precision.
        scale = torch.tensor(float(spatial_scale), dtype=torch.float32).to(dtype)
        offset = 0.5 if aligned else 0.0
        start_x, start_y, end_x, end_y = (rois[:, 1:5] * scale - offset).unbind(1)
        roi_w, roi_h = end_x - start_x, end_y - start_y
        if aligned:
            bad = ~((roi_w >= 0) & (roi_h >= 0))
            if bool(bad.any()):
                first = int(bad.nonzero()[0, 0])
                raise ValueError(
                    "roi_align: with aligned=True every RoI needs x2 >= x1 and y2 >= y1; RoI "
                    f"{first} is {rois[first, 1:5].tolist()}."
                )
        else:  # the legacy mode makes every RoI at least one pixel wide and high
            roi_w, roi_h = roi_w.clamp(min=1), roi_h.clamp(min=1)
        bin_h, bin_w = roi_h / out_h, roi_w / out_w
        if sampling_ratio > 0:
            grid_h = torch.full_like(batch, sampling_ratio)
            grid_w = grid_h
        else:
            grid_h, grid_w = bin_h.ceil().long(), bin_w.ceil().long()
        taps_y = _axis_taps(start_y, bin_h, grid_h, out_h, height)
        taps_x = _axis_taps(start_x, bin_w, grid_w, out_w, width)
        top, win_h = _window(taps_y, height)
        left, win_w = _window(taps_x, width)
        low_index, high_index = int(batch.min()), int(batch.max())
        if low_index < 0 or high_index >= num_images:
            bad_index = low_index if low_index < 0 else high_index
            raise ValueError(
                f"roi_align: RoI batch index {bad_index} is outside [0, {num_images}) (input has "
                f"{num_images} images)."
            )
        per_sample = pool_mode == "max"
        # Window weights of every RoI at once, on windows as long as the longest.
        wy = _window_weights(taps_y, top, int(win_h.max()), per_sample)
        wx = _window_weights(taps_x, left, int(win_w.max()), per_sample)
        grid_y, grid_x = taps_y.low.shape[2], taps_x.low.shape[2]
        if per_sample:
            # Padded samples (beyond a RoI's own grid) must not win the max.
            real_y = torch.arange(grid_y, device=device) < grid_h[:, None]
            real_x = torch.arange(grid_x, device=device) < grid_w[:, None]
            padded = ~(real_y[:, None, :, None, None, None] & real_x[:, None, None, None, :, None])
            row_counts = out_h * grid_y
            samples = out_h * grid_y * out_w * grid_x
        else:
            wy = wy / grid_h.clamp(min=1).to(dtype)[:, None, None]
            wx = wx / grid_w.clamp(min=1).to(dtype)[:, None, None]
            row_counts, samples = out_h, 0
        order_list, gathers = _plan(win_h.tolist(), win_w.tolist(), row_counts, samples, channels)
        order = torch.tensor(order_list, device=device)

    # Channels last, so that a crop row is one matrix and gathers copy whole rows of C values.
    features = input.permute(0, 2, 3, 1).reshape(num_images * height * width, channels)
    pieces = []
    for groups in gathers:
        with torch.no_grad():
            pixels = []
            for g in groups:
                index = order[g.begin : g.end]
                pixels.append(
                    _window_pixels(
                        batch[index], top[index], left[index], g.height, g.width, height, width
                    )
                )
        crops = features.index_select(0, torch.cat(pixels)).split([p.numel() for p in pixels])
        for g, windows in zip(groups, crops):
            index = order[g.begin : g.end]
            r = g.end - g.begin
            rows = torch.bmm(wy[index, :, : g.height], windows.view(r, g.height, -1))
            rows = rows.view(r, -1, g.width, channels)
            # (R, out_h * grid_y, out_w * grid_x, C); grid_y = grid_x = 1 in 'avg' mode
            pooled = torch.matmul(wx[index, None, :, : g.width], rows)
            if per_sample:
                pooled = pooled.view(r, out_h, grid_y, out_w, grid_x, channels)
                pooled = pooled.masked_fill(padded[index], -torch.inf)
                pooled = pooled.permute(0, 5, 1, 3, 2, 4).reshape(r, channels, out_h, out_w, -1)
                pieces.append(pooled.max(-1).values.clamp(min=_MAX_POOL_START))
            else:
                pieces.append(pooled.permute(0, 3, 1, 2))  # (R, C, out_h, out_w)
    pooled = torch.cat(pieces)
    return pooled.new_zeros(num_rois, channels, out_h, out_w).index_copy(0, order, pooled)


class RoIAlign(nn.Module):
    """RoIAlign layer with ``mmcv.ops.RoIAlign``'s constructor (configs build it unchanged).

    Args:
        output_size: Bins per RoI, an int or (h, w).
        spatial_scale: Map size over image size (MMDet's RoI extractors pass ``1 / stride``).
        sampling_ratio: Samples per bin and axis; 0 adapts it to each RoI.
        pool_mode: 'avg' or 'max'.
        aligned: Shift by half a pixel; False is the legacy mode.
        use_torchvision: Accepted for config compatibility; the result is the same either way
            (torchvision's RoIAlign computes this too), so it is only kept for ``repr``.
    """

    def __init__(
        self,
        output_size: int | tuple[int, int],
        spatial_scale: float = 1.0,
        sampling_ratio: int = 0,
        pool_mode: str = "avg",
        aligned: bool = True,
        use_torchvision: bool = False,
    ) -> None:
        super().__init__()
        if pool_mode not in ("avg", "max"):
            raise ValueError(f"RoIAlign: pool_mode must be 'avg' or 'max', got {pool_mode!r}.")
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.pool_mode = pool_mode
        self.aligned = aligned
        self.use_torchvision = use_torchvision

    def forward(self, input: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        """Pool every RoI.

        Shapes:
            input (N, C, H, W); rois (K, 5) as (batch_index, x1, y1, x2, y2) ->
            (K, C, out_h, out_w).
        """
        return roi_align(
            input,
            rois,
            self.output_size,
            self.spatial_scale,
            self.sampling_ratio,
            self.pool_mode,
            self.aligned,
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
            f"sampling_ratio={self.sampling_ratio}, pool_mode={self.pool_mode}, "
            f"aligned={self.aligned}, use_torchvision={self.use_torchvision}"
        )
