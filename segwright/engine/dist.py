"""Distributed launch (torchrun / torch.distributed), DDP wrapping and SyncBN handling."""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from segwright.utils.errors import ConfigError


def init_distributed(launcher: str, dist_cfg: Mapping[str, Any] | None = None) -> bool:
    """Initialise the process group for ``launcher='pytorch'`` (torchrun's environment).

    Returns whether the run is distributed. ``launcher='none'`` never initialises.
    """
    if launcher in (None, "none"):
        return dist.is_available() and dist.is_initialized()
    if launcher not in ("pytorch", "torchrun"):
        raise ConfigError(
            f"launcher={launcher!r} is not supported; use 'none' or 'pytorch' (torchrun)."
        )
    if dist.is_initialized():
        return True
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        if name not in os.environ:
            raise ConfigError(
                f"launcher='pytorch' needs the environment variable {name}; start the run with "
                "torchrun --nproc_per_node=N $(which segwright) train CONFIG --launcher pytorch."
            )
    cfg = dict(dist_cfg or {})
    backend = cfg.pop("backend", "nccl" if torch.cuda.is_available() else "gloo")
    # Collectives give up after `timeout` seconds, so one failed rank cannot hang the others.
    timeout = cfg.pop("timeout", 1800)
    cfg["timeout"] = (
        timeout if isinstance(timeout, datetime.timedelta) else datetime.timedelta(seconds=timeout)
    )
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group(backend=backend, **cfg)
    return True


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace SyncBatchNorm by BatchNorm2d (weights and buffers kept) for single-process runs."""
    result = module
    if isinstance(module, nn.SyncBatchNorm):
        result = nn.BatchNorm2d(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
        )
        if module.affine:
            with torch.no_grad():
                result.weight.copy_(module.weight)
                result.bias.copy_(module.bias)
        if module.track_running_stats:
            result.running_mean = module.running_mean
            result.running_var = module.running_var
            result.num_batches_tracked = module.num_batches_tracked
        result.training = module.training
    for name, child in module.named_children():
        result.add_module(name, revert_sync_batchnorm(child))
    return result


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """BatchNorm -> torch SyncBatchNorm, for ``sync_bn='torch'`` in distributed runs."""
    return nn.SyncBatchNorm.convert_sync_batchnorm(module)


def wrap_model(
    model: nn.Module,
    distributed: bool,
    device: torch.device,
    wrapper_cfg: Mapping[str, Any] | None = None,
) -> nn.Module:
    """DDP-wrap the model when distributed; train/val steps stay reachable on the wrapper.

    ``wrapper_cfg`` is the config's ``model_wrapper_cfg`` (e.g. ``find_unused_parameters=True``).
    """
    if not distributed:
        return model
    kwargs = dict(wrapper_cfg or {})
    kind = kwargs.pop("type", "MMDistributedDataParallel")
    if kind not in ("MMDistributedDataParallel", "DistributedDataParallel"):
        raise ConfigError(
            f"model_wrapper_cfg.type={kind!r} is not supported; use DistributedDataParallel."
        )
    kwargs.setdefault("find_unused_parameters", False)
    kwargs.pop("detect_anomalous_params", None)
    device_ids = [device.index] if device.type == "cuda" else None
    wrapped = nn.parallel.DistributedDataParallel(model, device_ids=device_ids, **kwargs)
    return _StepForwardingDDP.adopt(wrapped)


class _StepForwardingDDP(nn.parallel.DistributedDataParallel):
    """DDP whose train/val/test steps call the inner model's (so hooks see one interface)."""

    @classmethod
    def adopt(cls, ddp: nn.parallel.DistributedDataParallel) -> nn.Module:
        ddp.__class__ = cls
        return ddp

    def train_step(self, data: Any, optim_wrapper: Any) -> Any:
        inner = self.module
        with optim_wrapper.optim_context(self):
            data = inner.data_preprocessor(data, True)
            losses = (
                self(**data, mode="loss") if isinstance(data, Mapping) else self(*data, mode="loss")
            )
        loss, log_vars = inner.parse_losses(losses)
        if not torch.isfinite(loss):
            from segwright.engine.model import NonFiniteLossError

            raise NonFiniteLossError(log_vars)
        optim_wrapper.update_params(loss)
        return log_vars

    def val_step(self, data: Any) -> Any:
        return self.module.val_step(data)

    def test_step(self, data: Any) -> Any:
        return self.module.test_step(data)
