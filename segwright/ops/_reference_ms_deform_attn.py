"""Slow reference of multi-scale deformable attention, written from its definition: for every
batch item, query, head, level and point, the four bilinear taps around
``(x * W - 0.5, y * H - 0.5)`` (taps outside the map read 0), weighted and summed. Built from
scalar tensor operations so that autograd gives its gradients too. Never used by models.
"""

from __future__ import annotations

import math

import torch


def _bilinear(level: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sample ``level`` (H, W, D) at pixel coordinates ``(x, y)``: a (D,) vector."""
    height, width, dims = level.shape
    x0, y0 = math.floor(float(x.detach())), math.floor(float(y.detach()))
    out = level.new_zeros(dims)
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            if 0 <= xi < width and 0 <= yi < height:
                wx = (x - x0) if dx else (1 - (x - x0))
                wy = (y - y0) if dy else (1 - (y - y0))
                out = out + wx * wy * level[yi, xi]
    return out


def multi_scale_deformable_attn_reference(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """Same contract as :func:`segwright.ops.multi_scale_deformable_attn`, by loops."""
    batch, _, heads, dims = value.shape
    _, queries, _, levels, points, _ = sampling_locations.shape
    shapes = [(int(h), int(w)) for h, w in spatial_shapes.tolist()]
    starts = [0]
    for height, width in shapes:
        starts.append(starts[-1] + height * width)
    rows = []
    for n in range(batch):
        per_query = []
        for q in range(queries):
            per_head = []
            for h in range(heads):
                acc = value.new_zeros(dims)
                for lvl, (height, width) in enumerate(shapes):
                    level = value[n, starts[lvl] : starts[lvl + 1], h].reshape(height, width, dims)
                    for p in range(points):
                        x = sampling_locations[n, q, h, lvl, p, 0] * width - 0.5
                        y = sampling_locations[n, q, h, lvl, p, 1] * height - 0.5
                        sample = _bilinear(level, x, y)
                        acc = acc + attention_weights[n, q, h, lvl, p] * sample
                per_head.append(acc)
            per_query.append(torch.cat(per_head))
        rows.append(torch.stack(per_query))
    return torch.stack(rows)
