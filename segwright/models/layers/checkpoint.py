"""MMSeg's ``with_cp``: run a block under activation checkpointing while training."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.utils.checkpoint as cp


def checkpointed(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, with_cp: bool
) -> torch.Tensor:
    """``fn(x)``; with ``with_cp`` and an ``x`` that needs gradients, its activations are
    recomputed in the backward pass instead of kept (less memory, more time)."""
    if with_cp and x.requires_grad:
        return cp.checkpoint(fn, x, use_reentrant=False)
    return fn(x)
