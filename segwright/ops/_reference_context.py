"""Slow, exact references for the PSA mask and point sampling: the oracles their tests use.

Each is written from the operator's definition, one element at a time in Python, and never
used by models.
"""

from __future__ import annotations

import math

import torch


def psa_mask_reference(
    input: torch.Tensor, psa_type: str, mask_size: tuple[int, int]
) -> torch.Tensor:  # noqa: A002
    """PSA mask by the definition: copy each in-map window cell of each position, one by one.

    Differentiable with respect to ``input`` (every copy is an indexing op).

    Shapes:
        input (N, mh * mw, H, W) -> (N, H * W, H, W).
    """
    mask_h, mask_w = mask_size
    half_h, half_w = (mask_h - 1) // 2, (mask_w - 1) // 2
    n, _, height, width = input.shape
    rows = []
    for b in range(n):
        out = [[[input.new_zeros(()) for _ in range(width)] for _ in range(height)]
               for _ in range(height * width)]  # fmt: skip
        for h in range(height):
            for w in range(width):
                for i in range(mask_h):
                    for j in range(mask_w):
                        y, x = h + i - half_h, w + j - half_w
                        if not (0 <= y < height and 0 <= x < width):
                            continue
                        value = input[b, i * mask_w + j, h, w]
                        if psa_type == "collect":
                            out[y * width + x][h][w] = value
                        else:
                            out[h * width + w][y][x] = value
        rows.append(torch.stack([torch.stack([torch.stack(r) for r in c]) for c in out]))
    return torch.stack(rows)


def _source_coordinate(t: torch.Tensor, size: int, align_corners: bool) -> torch.Tensor:
    """Pixel coordinate of a normalised ``t`` in [0, 1] (pixel centres at integers)."""
    return t * (size - 1) if align_corners else t * size - 0.5


def point_sample_reference(
    input: torch.Tensor,  # noqa: A002
    points: torch.Tensor,
    align_corners: bool = False,
    mode: str = "bilinear",
) -> torch.Tensor:
    """Point sampling by the definition, one point at a time, zeros outside the map.

    Bilinear: the four neighbouring pixels weighted by the distances to them, a neighbour outside
    the map reading 0. Nearest: the pixel at the coordinate rounded half to even (as
    ``nearbyint``). Differentiable with respect to ``input`` and (bilinear) ``points``.

    Shapes:
        input (N, C, H, W); points (N, P, 2) as ``(x, y)`` in [0, 1] -> (N, C, P).
    """
    n, channels, height, width = input.shape
    out = []
    for b in range(n):
        columns = []
        for p in range(points.shape[1]):
            x = _source_coordinate(points[b, p, 0].to(input.dtype), width, align_corners)
            y = _source_coordinate(points[b, p, 1].to(input.dtype), height, align_corners)
            value = input.new_zeros(channels)
            if mode == "nearest":
                xi, yi = (
                    round(float(x.detach())),
                    round(float(y.detach())),
                )  # Python rounds half to even
                if 0 <= xi < width and 0 <= yi < height:
                    value = input[b, :, yi, xi]
                columns.append(value)
                continue
            x0, y0 = math.floor(float(x.detach())), math.floor(float(y.detach()))
            for yi, wy in ((y0, (y0 + 1) - y), (y0 + 1, y - y0)):
                for xi, wx in ((x0, (x0 + 1) - x), (x0 + 1, x - x0)):
                    if 0 <= xi < width and 0 <= yi < height:
                        value = value + input[b, :, yi, xi] * (wy * wx)
            columns.append(value)
        out.append(torch.stack(columns, dim=1))
    return torch.stack(out)
