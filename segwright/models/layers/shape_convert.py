"""Token <-> map reshapes shared by the transformer backbones and heads."""

from __future__ import annotations

import torch


def nlc_to_nchw(x: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
    """``(N, H*W, C)`` tokens -> ``(N, C, H, W)`` map."""
    h, w = hw_shape
    n, length, c = x.shape
    if not torch.jit.is_tracing() and length != h * w:
        raise ValueError(f"{length} tokens do not make an {h}x{w} map.")
    return x.transpose(1, 2).reshape(n, c, h, w)


def nchw_to_nlc(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` map -> ``(N, H*W, C)`` tokens."""
    return x.flatten(2).transpose(1, 2).contiguous()


def norm_tokens(norm: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a token norm (e.g. LayerNorm over channels) to an ``(N, C, H, W)`` map."""
    n, c, h, w = x.shape
    x = norm(x.reshape(n, c, h * w).transpose(1, 2))
    return x.transpose(1, 2).reshape(n, c, h, w)
