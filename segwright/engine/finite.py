"""Finds NaN/Inf in a run's weights, buffers and checkpoints (non-finite state).

One fused reduction per device and dtype (``torch._foreach_norm``, then a stacked
``isfinite().all()``) turns every floating tensor into one flag on its device. The flag is read
only where a run pauses anyway: at log intervals and before a checkpoint is written, so the
iterations in between add no host-device sync. Only when the flag trips are the tensors looked
at one by one, to name the offenders (a finite tensor whose norm overflows trips the flag too;
the walk then finds nothing and the state counts as finite).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from segwright.utils.errors import TrainingError

#: ``train_cfg.check_finite`` values: when the weights and buffers are checked during training.
CHECK_FINITE_MODES = ("log_interval", "every_iter", "off")
#: A finite loss this many times its first logged value is reported as exploding.
LOSS_EXPLOSION_FACTOR = 1e6
#: How many checkpoints proven finite the log state remembers (newest last).
_GOOD_CKPTS_KEPT = 50
_LISTED = 5


class NonFiniteStateError(TrainingError, ArithmeticError):
    """Weights, buffers or optimizer state hold NaN/Inf; training stops and nothing is saved.

    ``offenders`` describes the non-finite tensors (name and counts), first ones first.
    """

    def __init__(self, message: str, offenders: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.offenders = list(offenders)


def finite_flag(tensors: Iterable[torch.Tensor]) -> torch.Tensor | None:
    """A 0-dim bool tensor, True when every element is finite (None for no tensor); no sync."""
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for tensor in tensors:
        groups.setdefault((tensor.device, tensor.dtype), []).append(tensor.detach())
    flags = [torch.stack(torch._foreach_norm(group)).isfinite().all() for group in groups.values()]
    if not flags:
        return None
    if len(flags) == 1:
        return flags[0]
    return torch.stack([flag.to(flags[0].device) for flag in flags]).all()


def _floating(named: Iterable[tuple[str, Any]]) -> list[tuple[str, torch.Tensor]]:
    return [
        (name, value)
        for name, value in named
        if isinstance(value, torch.Tensor) and value.is_floating_point() and value.numel()
    ]


def find_nonfinite(named: Iterable[tuple[str, Any]]) -> list[str]:
    """Describe each floating tensor holding NaN/Inf; [] (after one host read) when none does."""
    tensors = _floating(named)
    flag = finite_flag(t for _, t in tensors)
    if flag is None or bool(flag):
        return []
    found = []
    for name, tensor in tensors:
        tensor = tensor.detach()
        bad = int((~torch.isfinite(tensor)).sum())
        if bad:
            nan = int(torch.isnan(tensor).sum())
            kinds = " and ".join(
                f"{count} {kind}" for count, kind in ((nan, "NaN"), (bad - nan, "Inf")) if count
            )
            found.append(f"{name} ({kinds} of {tensor.numel()} values)")
    return found


def model_state(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Parameters and buffers (BatchNorm running statistics included) by state_dict name."""
    return list(model.state_dict(keep_vars=True).items())


def checkpoint_tensors(checkpoint: Mapping[str, Any]) -> list[tuple[str, torch.Tensor]]:
    """Every tensor of a checkpoint dict (weights, EMA weights, optimizer state), by path."""
    out: list[tuple[str, torch.Tensor]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            out.append((prefix, value))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(f"{prefix}.{index}", item)

    for key, value in checkpoint.items():
        if key != "rng":  # generator states: bytes, never floating
            walk(str(key), value)
    return out


def current_lr(runner: Any) -> str:
    """The first parameter group's lr, formatted; 'unknown' without an optimizer."""
    try:
        return f"{runner.optim_wrapper.get_lr()['lr'][0]:.4g}"
    except (AttributeError, IndexError, KeyError, TypeError):
        return "unknown"


def record_good_checkpoint(runner: Any, path: str | Path) -> None:
    """Remember ``path`` as a checkpoint whose tensors were all checked finite."""
    good = [p for p in runner.log_store.get_info("good_ckpts", []) if p != str(path)]
    good.append(str(path))
    runner.log_store.update_info("good_ckpts", good[-_GOOD_CKPTS_KEPT:])


def last_good_checkpoint(runner: Any) -> str | None:
    """The newest checkpoint proven finite when saved that is still on disk, if any."""
    for path in reversed(runner.log_store.get_info("good_ckpts", [])):
        if Path(path).is_file():
            return str(path)
    return None


def last_good_sentence(runner: Any) -> str:
    last = last_good_checkpoint(runner)
    if last:
        return f"The last good checkpoint (all values finite) is {last}."
    return "No checkpoint of this run was saved with finite values yet."


def nonfinite_state_error(runner: Any, offenders: Sequence[str], where: str) -> NonFiniteStateError:
    """The error that stops a run whose state went non-finite; ``where`` says when it was found."""
    listed = ", ".join(offenders[:_LISTED])
    if len(offenders) > _LISTED:
        listed += f" and {len(offenders) - _LISTED} more"
    return NonFiniteStateError(
        f"Non-finite values in the model state {where} (lr {current_lr(runner)}): {listed}. "
        f"Training stopped; no checkpoint holding them was written. {last_good_sentence(runner)} "
        "Lower the learning rate, add clip_grad to optim_wrapper (e.g. "
        "clip_grad=dict(max_norm=35)), or check the data; train_cfg.check_finite='every_iter' "
        "finds the first bad iteration exactly.",
        offenders,
    )
