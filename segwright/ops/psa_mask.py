"""PSANet's point-wise spatial attention mask (MMCV 2.1's ``PSAMask``) in plain PyTorch.

The input holds, for every feature position ``p = (h, w)``, an ``mh x mw`` window of attention
values centred on ``p`` (centre ``((mh - 1) // 2, (mw - 1) // 2)``). The op lays these windows
out over the whole ``H x W`` map: the window entry of ``p`` that falls on position ``q`` is
written at ``(q, p)`` ('collect': channel ``q`` of pixel ``p``) or ``(p, q)`` ('distribute':
channel ``p`` of pixel ``q``); window entries outside the map are dropped and positions no window
reaches are 0. It is a pure gather, so forward and backward are exact in any dtype.
"""

from __future__ import annotations

import torch
from torch import nn

_PSA_TYPES = {"collect": 0, "distribute": 1, 0: 0, 1: 1}


def _pair(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if len(size) != 2:
        raise ValueError(f"psa_mask: mask_size must be an int or (h, w), got {size!r}.")
    return int(size[0]), int(size[1])


def _window_index(
    height: int, width: int, mask_h: int, mask_w: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """For every (target ``q``, source ``p``) pair: the window channel and whether it exists.

    Returns:
        ``(index, valid)``, both (H*W, H*W) indexed ``[q, p]``.
    """
    ys = torch.arange(height, device=device)
    xs = torch.arange(width, device=device)
    # window row of q seen from p: qy - py + half_h (likewise for columns)
    dy = ys.view(-1, 1) - ys.view(1, -1) + (mask_h - 1) // 2  # (H_q, H_p)
    dx = xs.view(-1, 1) - xs.view(1, -1) + (mask_w - 1) // 2  # (W_q, W_p)
    valid_y = (dy >= 0) & (dy < mask_h)
    valid_x = (dx >= 0) & (dx < mask_w)
    index = dy.clamp(0, mask_h - 1).view(height, 1, height, 1) * mask_w + dx.clamp(
        0, mask_w - 1
    ).view(1, width, 1, width)
    valid = valid_y.view(height, 1, height, 1) & valid_x.view(1, width, 1, width)
    size = height * width
    return index.reshape(size, size), valid.reshape(size, size)


def psa_mask(
    input: torch.Tensor,  # noqa: A002 - MMCV's argument name
    psa_type: str | int,
    mask_size: int | tuple[int, int] | list[int],
) -> torch.Tensor:
    """Spread per-position attention windows over the map ('collect' or 'distribute').

    Args:
        input: Window values, channel ``i * mw + j`` is window cell ``(i, j)``.
        psa_type: 'collect' (or 0) or 'distribute' (or 1).
        mask_size: Window size ``(mh, mw)`` (an int for a square one).

    Shapes:
        input (N, mh * mw, H, W) -> (N, H * W, H, W).
    """
    if psa_type not in _PSA_TYPES:
        raise ValueError(f"psa_mask: psa_type must be 'collect' or 'distribute', got {psa_type!r}.")
    mask_h, mask_w = _pair(mask_size)
    if input.dim() != 4 or input.size(1) != mask_h * mask_w:
        raise ValueError(
            f"psa_mask: input must be (N, {mask_h}*{mask_w}, H, W) for mask_size "
            f"{(mask_h, mask_w)}, got {tuple(input.shape)}."
        )
    n, _, height, width = input.shape
    size = height * width
    index, valid = _window_index(height, width, mask_h, mask_w, input.device)
    flat = input.reshape(n, mask_h * mask_w, size)
    # collected[n, q, p] = input[n, index[q, p], p]
    collected = flat.gather(1, index.unsqueeze(0).expand(n, size, size))
    collected = collected * valid.to(input.dtype)
    if _PSA_TYPES[psa_type] == 1:
        collected = collected.transpose(1, 2).contiguous()  # MMCV's output is contiguous
    return collected.reshape(n, size, height, width)


class PSAMask(nn.Module):
    """Module form of :func:`psa_mask` with MMCV's constructor.

    Args:
        psa_type: 'collect' or 'distribute'.
        mask_size: Window size ``(mh, mw)``.
    """

    def __init__(self, psa_type: str, mask_size: int | tuple[int, int] | None = None) -> None:
        super().__init__()
        if psa_type not in ("collect", "distribute"):
            raise ValueError(
                f"PSAMask: psa_type must be 'collect' or 'distribute', got {psa_type!r}."
            )
        if mask_size is None:
            raise ValueError("PSAMask needs a mask_size (h, w).")
        self.psa_type = psa_type
        self.psa_type_enum = _PSA_TYPES[psa_type]
        self.mask_size = mask_size

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002
        return psa_mask(input, self.psa_type, self.mask_size)

    def extra_repr(self) -> str:
        return f"psa_type={self.psa_type}, mask_size={self.mask_size}"
