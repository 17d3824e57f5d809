"""Slow, exact reference of :func:`segwright.ops.cc_attention.criss_cross_attention`.

Written from CCNet's definition, one pixel at a time: gather the keys and values of the
pixel's column (without the pixel) and its row (with it), take one softmax over the dot
products with the pixel's query, and sum the values with those weights. Differentiable
(autograd through the gathers), so it is the oracle for the backward pass too. Never used by
models.
"""

from __future__ import annotations

import torch


def criss_cross_attention_reference(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
) -> torch.Tensor:
    """Criss-cross attention by a Python loop over images and pixels.

    Shapes:
        query, key ``(N, C, H, W)``, value ``(N, C_v, H, W)`` -> ``(N, C_v, H, W)``.
    """
    n, _, height, width = query.shape
    images = []
    for b in range(n):
        pixels = []
        for y in range(height):
            others = [i for i in range(height) if i != y]
            for x in range(width):
                # neighbourhood: column (i, x) for i != y, then row (y, j) for every j
                keys = torch.cat([key[b, :, others, x], key[b, :, y, :]], dim=1)
                values = torch.cat([value[b, :, others, x], value[b, :, y, :]], dim=1)
                weights = torch.softmax(query[b, :, y, x] @ keys, dim=0)
                pixels.append(values @ weights)
        images.append(torch.stack(pixels, dim=1).reshape(-1, height, width))
    return torch.stack(images)
