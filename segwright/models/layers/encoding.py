"""``Encoding``: EncNet's learnable residual encoder (soft-assigns pixels to code words)."""

from __future__ import annotations

import torch
from torch import nn

from segwright.utils.errors import ConfigError


class Encoding(nn.Module):
    """Residual encoding of a feature map onto ``num_codes`` learnt code words.

    Pixel ``i`` is soft-assigned to code ``k`` with weight
    ``softmax_k(s_k * ||x_i - d_k||^2)`` (``s`` is ``scale``, initialised negative, ``d`` the
    ``codewords``); code ``k`` encodes ``sum_i a_ik (x_i - d_k)``.

    Args:
        channels: Feature channels ``C``.
        num_codes: Code words ``K``.

    Shapes:
        (N, C, H, W) -> (N, K, C).
    """

    def __init__(self, channels: int, num_codes: int) -> None:
        super().__init__()
        self.channels, self.num_codes = channels, num_codes
        bound = 1.0 / (num_codes * channels) ** 0.5
        self.codewords = nn.Parameter(torch.empty(num_codes, channels).uniform_(-bound, bound))
        self.scale = nn.Parameter(torch.empty(num_codes).uniform_(-1, 0))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, num_codes={self.num_codes}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != self.channels:
            raise ConfigError(
                f"Encoding expects an (N, {self.channels}, H, W) input, got {tuple(x.shape)}."
            )
        # (N, L, C), made contiguous: the sums below read a transposed view ~10x slower.
        x = x.flatten(2).transpose(1, 2).contiguous()
        residual = x.unsqueeze(2) - self.codewords  # (N, L, K, C)
        distance = self.scale * residual.pow(2).sum(dim=3)  # (N, L, K)
        assignment = distance.softmax(dim=2)
        return (assignment.unsqueeze(3) * residual).sum(dim=1)
