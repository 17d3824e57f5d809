"""Constants made from Python numbers once per device and dtype (no copy to the GPU per call)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def constant_like(owner: Any, values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """``like.new_tensor(values)``, made once per device and dtype and kept on ``owner``.

    On CUDA, making a tensor from Python numbers is a blocking copy that waits for every kernel
    queued before it; a loss that did so each call (class weights) would stall each iteration.
    The values are part of the key, so changing ``owner.class_weight`` takes effect.
    """
    if torch.is_inference_mode_enabled():  # an inference tensor could not serve training later
        return like.new_tensor(values)
    key = (like.device, like.dtype, tuple(values))
    cache = owner.__dict__.setdefault("_constants_by_device", {})
    tensor = cache.get(key)
    if tensor is None:
        if len(cache) >= 8:  # a few devices and dtypes at most; never grows without bound
            cache.clear()
        tensor = cache[key] = like.new_tensor(values)
    return tensor
