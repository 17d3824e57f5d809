"""Rank and world-size helpers that work with or without ``torch.distributed``.

Every function behaves as a single process (rank 0 of 1) when no process group is
initialised, so metrics, hooks and loops call them unconditionally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as torch_dist


def is_distributed() -> bool:
    """True when ``torch.distributed`` is available and a default process group is initialised."""
    return torch_dist.is_available() and torch_dist.is_initialized()


def get_rank(group: Any = None) -> int:
    """This process's rank (0 when not distributed)."""
    return torch_dist.get_rank(group) if is_distributed() else 0


def get_world_size(group: Any = None) -> int:
    """The number of processes (1 when not distributed)."""
    return torch_dist.get_world_size(group) if is_distributed() else 1


def is_main_process(group: Any = None) -> bool:
    """True on rank 0, the process that logs and writes shared files."""
    return get_rank(group) == 0


def barrier(group: Any = None) -> None:
    """Wait until every process reaches this point (no-op when not distributed)."""
    if is_distributed():
        torch_dist.barrier(group)


def _communication_device(group: Any = None) -> torch.device:
    # NCCL only moves CUDA tensors; gloo and mpi are safest with CPU tensors.
    if torch_dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(tensor: torch.Tensor, group: Any = None) -> torch.Tensor:
    """The element-wise sum of ``tensor`` over all processes, on ``tensor``'s device.

    The input is left unchanged. The tensor travels through the backend's device (CUDA for
    NCCL, CPU otherwise), so callers need not know which backend the run uses.
    """
    if not is_distributed() or get_world_size(group) == 1:
        return tensor.clone()
    buffer = tensor.detach().to(_communication_device(group), copy=True)
    torch_dist.all_reduce(buffer, op=torch_dist.ReduceOp.SUM, group=group)
    return buffer.to(tensor.device)


def to_cpu(data: Any) -> Any:
    """Move tensors nested in dicts, lists and tuples to the CPU (other values pass through)."""
    if isinstance(data, torch.Tensor):
        return data.detach().cpu()
    if isinstance(data, Mapping):
        return {k: to_cpu(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        moved = [to_cpu(v) for v in data]
        return moved if isinstance(data, list) else type(data)(moved)
    return data


def all_gather_object(obj: Any, group: Any = None) -> list[Any]:
    """Every process's ``obj`` (picklable), in rank order; ``[obj]`` when not distributed."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [obj]
    gathered: list[Any] = [None] * world_size
    torch_dist.all_gather_object(gathered, obj, group=group)
    return gathered


def broadcast_object(obj: Any, src: int = 0, group: Any = None) -> Any:
    """Rank ``src``'s ``obj`` on every process (``obj`` itself when not distributed)."""
    if get_world_size(group) == 1:
        return obj
    holder = [obj]
    torch_dist.broadcast_object_list(holder, src=src, group=group)
    return holder[0]


def collect_results(results: list[Any], size: int | None, group: Any = None) -> list[Any]:
    """Gather per-sample results from every process in dataset order, trimmed to ``size``.

    Assumes the sampler deals samples out round-robin (rank ``r`` gets indices ``r``,
    ``r + world_size``, ...), as MMEngine's ``DefaultSampler`` and torch's
    ``DistributedSampler`` do; the padding samples they add are dropped by the trim.
    Tensors are moved to the CPU before they travel.
    """
    parts = all_gather_object(to_cpu(list(results)), group)
    ordered: list[Any] = []
    for position in range(max((len(p) for p in parts), default=0)):
        ordered.extend(part[position] for part in parts if position < len(part))
    return ordered if size is None else ordered[:size]
