"""Criss-cross attention (CCNet) in plain PyTorch: each pixel attends to its row and column.

MMCV once compiled this as two CUDA kernels (``ca_weight`` / ``ca_map``); here it is three
einsums and one softmax. For a pixel ``(y, x)`` the neighbourhood is its column
``{(i, x): i != y}`` followed by its row ``{(y, j)}``, so the pixel itself is counted once
(in the row). One softmax runs over all ``H - 1 + W`` energies ``<q(y, x), k(i, j)>``, and
the output is the weighted sum of the values at those positions.
"""

from __future__ import annotations

import torch


def _check_inputs(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> None:
    if query.dim() != 4 or key.shape != query.shape:
        raise ValueError(
            "criss_cross_attention: query and key must have the same (N, C, H, W) shape, got "
            f"{tuple(query.shape)} and {tuple(key.shape)}."
        )
    if value.dim() != 4 or value.shape[0] != query.shape[0] or value.shape[2:] != query.shape[2:]:
        raise ValueError(
            "criss_cross_attention: value must be (N, C_v, H, W) with the query's N, H, W; got "
            f"{tuple(value.shape)} for a query of {tuple(query.shape)}."
        )


def criss_cross_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
) -> torch.Tensor:
    """Aggregate ``value`` over each pixel's row and column, weighted by softmaxed energies.

    Args:
        query, key: Embeddings of the same shape.
        value: Features to aggregate.

    Returns:
        The attended values (no residual, no gate).

    Shapes:
        query, key ``(N, C, H, W)``, value ``(N, C_v, H, W)`` -> ``(N, C_v, H, W)``.
    """
    _check_inputs(query, key, value)
    height = query.shape[2]
    # energies against the column (N, H, W, H'), the pixel's own row entry masked out
    column = torch.einsum("nchw,nciw->nhwi", query, key)
    own = torch.eye(height, dtype=torch.bool, device=query.device).view(1, height, 1, height)
    column = column.masked_fill(own, float("-inf"))
    row = torch.einsum("nchw,nchj->nhwj", query, key)  # (N, H, W, W')
    weights = torch.softmax(torch.cat([column, row], dim=-1), dim=-1)
    out = torch.einsum("nciw,nhwi->nchw", value, weights[..., :height])
    return out + torch.einsum("nchj,nhwj->nchw", value, weights[..., height:])
