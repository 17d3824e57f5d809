"""What ``Runner.__init__`` sets up before any part is built: device, seeds, the model.

Kept apart from ``runner.py`` so the constructor reads in groups (environment, logging,
model, parts, hooks), each of them one call.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from segwright.engine import safe_unpickle
from segwright.engine.dist import convert_sync_batchnorm, revert_sync_batchnorm, wrap_model
from segwright.engine.speed import apply_speed_options
from segwright.registry import MODELS, build_if_dict
from segwright.registry import default_scope as registry_scope
from segwright.utils.dist import get_rank
from segwright.utils.errors import ConfigError


def set_random_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices); optionally make cuDNN deterministic."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def seed_run(randomness: Mapping[str, Any] | None) -> tuple[int, bool]:
    """Seed this process from the config's ``randomness``; return ``(seed, deterministic)``.

    Without ``randomness.seed`` a random one is drawn (and logged by the runner) so the run
    can be repeated; ``diff_rank_seed`` adds the rank, giving each process its own draws.
    """
    randomness = dict(randomness or {})
    seed = randomness.get("seed")
    if seed is None:
        seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
    deterministic = bool(randomness.get("deterministic", False))
    rank_offset = get_rank() if randomness.get("diff_rank_seed") else 0
    set_random_seed(int(seed) + rank_offset, deterministic)
    return int(seed), deterministic


def pick_device(device: str | torch.device | None, distributed: bool) -> torch.device:
    """The run's device: ``device`` (config key or ``--device``), else CUDA when there is one.

    Raises:
        ConfigError: CUDA was asked for but is not available.
    """
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"Device {device} was asked for, but CUDA is not available here. Use --device cpu."
        )
    if device.type == "cuda" and distributed:
        device = torch.device("cuda", torch.cuda.current_device())  # this process's GPU
    return device


def build_run_model(
    model: nn.Module | Mapping[str, Any],
    *,
    data_preprocessor: Mapping[str, Any] | None,
    scope: str | None,
    trust_checkpoint: bool,
    distributed: bool,
    device: torch.device,
    sync_bn: str | None,
    channels_last: bool,
    compile: Any,
    model_wrapper_cfg: Mapping[str, Any] | None,
    logger: logging.Logger,
) -> tuple[nn.Module, nn.Module]:
    """Build the model (config ``model``), fit its BatchNorms to the run, move and wrap it.

    Returns:
        ``(model, wrapped)``: the model itself, whose state_dict checkpoints hold, and the one
        the loops call (DDP when distributed, else the same module).

    Raises:
        ConfigError: ``sync_bn`` is neither None nor 'torch'.
    """
    if isinstance(model, Mapping) and data_preprocessor is not None:
        model = dict(model)
        model.setdefault("data_preprocessor", data_preprocessor)
    with registry_scope(scope), safe_unpickle.trusted_pickles(trust_checkpoint):
        built = build_if_dict(model, MODELS, key="model")
    if not distributed:
        if any(isinstance(m, nn.SyncBatchNorm) for m in built.modules()):
            logger.info("SyncBN needs a process group; this single-process run uses BN.")
        built = revert_sync_batchnorm(built)
    elif sync_bn == "torch":
        built = convert_sync_batchnorm(built)
    elif sync_bn not in (None, "torch"):
        raise ConfigError(f"sync_bn={sync_bn!r} is not supported; use 'torch' or leave it unset.")
    raw = built.to(device)
    for note in apply_speed_options(raw, device, channels_last, compile):
        logger.info(f"Speed option {note}")
    return raw, wrap_model(raw, distributed, device, model_wrapper_cfg)
