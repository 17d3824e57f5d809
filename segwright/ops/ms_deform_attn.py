"""Multi-scale deformable attention (Deformable DETR; MMCV's ``multi_scale_deformable_attn``)
in plain PyTorch: each query reads ``num_points`` bilinear samples per head and level and sums
them with its attention weights.

Sampling follows ``grid_sample(mode='bilinear', padding_mode='zeros', align_corners=False)``:
a location ``(x, y)`` in ``[0, 1]`` of a ``H x W`` level reads pixel coordinates
``(x * W - 0.5, y * H - 0.5)``; taps outside the map read 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def multi_scale_deformable_attn(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor | Sequence[tuple[int, int]],
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """Weighted sum of bilinear samples of every level.

    Args:
        value: The levels' flattened maps, level after level (row-major).
        spatial_shapes: ``(H, W)`` of each level, in the order of ``value``: an ``(L, 2)``
            tensor (MMCV's argument), or the pairs as Python ints, which spares reading the
            tensor back (on CUDA, a device sync per call).
        sampling_locations: Normalised ``(x, y)`` sample positions.
        attention_weights: One weight per sample.

    Shapes:
        value (N, S, heads, D) with ``S = sum(H * W)``; spatial_shapes (L, 2);
        sampling_locations (N, Q, heads, L, P, 2); attention_weights (N, Q, heads, L, P)
        -> (N, Q, heads * D).
    """
    batch, _, heads, dims = value.shape
    _, queries, _, levels, points, _ = sampling_locations.shape
    if isinstance(spatial_shapes, torch.Tensor):
        shapes = [(int(h), int(w)) for h, w in spatial_shapes.tolist()]
    else:
        shapes = [(int(h), int(w)) for h, w in spatial_shapes]
    sizes = [h * w for h, w in shapes]
    if sum(sizes) != value.shape[1]:
        raise ValueError(
            f"multi_scale_deformable_attn: value has {value.shape[1]} positions but the "
            f"spatial shapes {[list(s) for s in shapes]} add up to {sum(sizes)}."
        )
    grids = 2 * sampling_locations - 1  # grid_sample's [-1, 1] with align_corners=False
    samples = []
    for level, (flat, (height, width)) in enumerate(zip(value.split(sizes, dim=1), shapes)):
        # (N, H*W, heads, D) -> (N*heads, D, H, W)
        maps = flat.permute(0, 2, 3, 1).reshape(batch * heads, dims, height, width)
        # (N, Q, heads, P, 2) -> (N*heads, Q, P, 2)
        grid = grids[:, :, :, level].transpose(1, 2).reshape(batch * heads, queries, points, 2)
        samples.append(
            F.grid_sample(maps, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        )
    # (N*heads, D, Q, L*P) weighted by (N*heads, 1, Q, L*P)
    stacked = torch.stack(samples, dim=-2).flatten(-2)
    weights = attention_weights.transpose(1, 2).reshape(batch * heads, 1, queries, levels * points)
    out = (stacked * weights).sum(-1).view(batch, heads * dims, queries)
    return out.transpose(1, 2).contiguous()
