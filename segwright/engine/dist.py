"""Distributed launch (torchrun / torch.distributed), DDP wrapping and SyncBN handling.

When a rank dies, the others see a raw backend error ("Connection closed by peer" from gloo,
an NCCL error or timeout). Each rank records its pid and host in the process group's store at
start, so a survivor can say which rank died (:func:`describe_peer_failure`, used by the CLI).
"""

from __future__ import annotations

import datetime
import json
import os
import socket
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from segwright.utils.errors import ConfigError, SegwrightError

_RANK_KEY = "segwright/rank/{}"
_FAILED_KEY = "segwright/failed/{}"
#: Words of the backend errors a rank gets when a peer is gone.
_PEER_LOST = (
    "connection closed by peer",
    "connection reset by peer",
    "broken pipe",
    "gloo",
    "nccl",
    "socket timeout",
    "timed out waiting",
    "connection refused",
)


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
    register_rank()
    return True


def _store() -> Any:
    """The default process group's key-value store, or None."""
    try:
        return dist.distributed_c10d._get_default_store()
    except Exception:
        return None


def register_rank() -> None:
    """Record this rank's pid and host in the store, for :func:`describe_peer_failure`."""
    from segwright.engine.workdir_lock import process_start

    store = _store()
    if store is None:
        return
    info = dict(pid=os.getpid(), host=socket.gethostname(), pid_start=process_start(os.getpid()))
    try:
        store.set(_RANK_KEY.format(dist.get_rank()), json.dumps(info))
    except Exception:
        pass  # only the message of a later failure gets less precise


def report_failure(exc: BaseException) -> None:
    """Tell the other ranks, through the store, why this rank stops (best effort)."""
    store = _store() if dist.is_available() and dist.is_initialized() else None
    if store is None:
        return
    try:
        store.set_timeout(datetime.timedelta(seconds=2))
        text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]
        store.set(_FAILED_KEY.format(dist.get_rank()), text)
    except Exception:
        pass


def is_peer_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a distributed backend error (a peer gone), in a distributed run."""
    if not (dist.is_available() and dist.is_initialized()):
        return False
    if isinstance(exc, SegwrightError):
        return False  # ours speak for themselves
    kinds = tuple(
        getattr(dist, name)
        for name in ("DistError", "DistBackendError", "DistNetworkError", "DistStoreError")
        if hasattr(dist, name)
    )
    if kinds and isinstance(exc, kinds):
        return True
    text = str(exc).lower()
    return isinstance(exc, (RuntimeError, ConnectionError)) and any(w in text for w in _PEER_LOST)


def _peer(store: Any, rank: int) -> tuple[dict[str, Any] | None, str | None]:
    """(pid/host info, reported failure) of ``rank`` from the store; None where missing."""
    found: list[Any] = []
    for key in (_RANK_KEY.format(rank), _FAILED_KEY.format(rank)):
        value = None
        if store.check([key]):
            value = store.get(key).decode("utf-8", "replace")
        found.append(value)
    info = json.loads(found[0]) if found[0] else None
    return info, found[1]


def describe_peer_failure(exc: BaseException) -> str:
    """One line for a survivor: which rank died (as far as this host can tell), and what to do."""
    from segwright.engine.workdir_lock import process_alive

    rank, world = dist.get_rank(), dist.get_world_size()
    host = socket.gethostname()
    store = _store()
    dead, failed, unknown = [], [], []
    try:
        if store is None:
            raise RuntimeError("no store")
        store.set_timeout(datetime.timedelta(seconds=2))
        for other in range(world):
            if other == rank:
                continue
            info, failure = _peer(store, other)
            where = f"pid {info['pid']} on {info['host']}" if info else "pid unknown"
            if failure:
                failed.append(f"rank {other} ({where}) failed with {failure}")
            elif info and info.get("host") == host:
                if not process_alive(int(info["pid"]), info.get("pid_start")):
                    dead.append(f"rank {other} ({where})")
            else:
                unknown.append(str(other))
    except Exception:
        master = f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
        return (
            f"Rank {rank} of {world} stops: the run's rendezvous store at {master} is gone, so "
            "rank 0 (which hosts it) or the launcher died. Its own output says why; restart "
            f"the run (with resume=True to continue). Backend error: {_first_line(exc)}"
        )
    if failed or dead:
        who = "; ".join(failed + [f"{d} died" for d in dead])
        return (
            f"Rank {rank} of {world} stops because {who}. Fix the cause shown in that rank's "
            "output (for a kill: out of memory? the job's time limit?), then restart the run "
            "(with resume=True to continue from the last checkpoint)."
        )
    others = f"rank {', '.join(unknown)}" if unknown else "another rank"
    return (
        f"Rank {rank} of {world} stops: {others} stopped answering (ranks on other hosts cannot "
        "be checked from here; look at their output). Restart the run (with resume=True to "
        f"continue). Backend error: {_first_line(exc)}"
    )


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:200] if lines else ''}"


class BatchNormXd(nn.modules.batchnorm._BatchNorm):
    """A batch norm for inputs of any rank, like the SyncBatchNorm it replaces.

    SyncBN accepts (N, C), (N, C, L), (N, C, H, W)...; a reverted one must too (EncHead's
    encoding norm sees (N, K, C)). Same parameters, buffers and state-dict keys as BatchNorm2d.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace SyncBatchNorm by :class:`BatchNormXd` (weights and buffers kept) for one process."""
    result = module
    if isinstance(module, nn.SyncBatchNorm):
        result = BatchNormXd(
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
        """The inner model's step, its forward run through DDP (which syncs the gradients).

        The loss is checked as in one process (``BaseModel.check_loss``): read on the host only
        when the train loop needs every loss at once, else kept on the device for its checks.
        """
        return self.module.train_step_through(self, data, optim_wrapper)

    def val_step(self, data: Any) -> Any:
        return self.module.val_step(data)

    def test_step(self, data: Any) -> Any:
        return self.module.test_step(data)
