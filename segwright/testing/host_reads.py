"""``HostReads``: counts the calls that bring a tensor's value to the host (tests, benchmarks).

On CUDA each such call waits for every kernel queued before it: ``.item()``, ``float()``,
``bool()``, ``.tolist()``, ``.cpu()``, ``.numpy()``, ``nonzero``/``unique``/``masked_select``,
one-argument ``torch.where`` and boolean-mask indexing (a ``nonzero`` inside). So does making a
tensor on the device from Python numbers (``t.new_tensor(list)``, ``torch.tensor(list,
device=...)``: a blocking copy). A CPU run cannot show the waits, but a ``TorchFunctionMode`` sees every such call, so
a CPU test can prove that a training iteration makes none.

Two kinds of read are torch's and are not counted: GradScaler's check of the unscaled gradients
(the one sync of fp16 AMP) and the step counters of Adam-style optimizers, which torch keeps on
the CPU also in CUDA runs.
"""

from __future__ import annotations

import collections
import sys
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

_T = torch.Tensor
_READS = {
    _T.item, _T.tolist, _T.__bool__, _T.cpu, _T.numpy, _T.__float__, _T.__int__, _T.__index__,
    _T.nonzero, torch.nonzero, _T.masked_select, torch.masked_select, _T.unique, torch.unique,
}  # fmt: skip
#: On CUDA these copy host data to the device and wait for it (``t.new_tensor(list)``, and
#: ``torch.tensor``/``torch.as_tensor`` given a ``device``; without one they make a CPU tensor
#: in any run): a sync like a read, which a CPU run cannot show either.
_FROM_HOST_DATA = {torch.tensor, torch.as_tensor, _T.new_tensor}


class HostReads(TorchFunctionMode):
    """Counts the calls that read a tensor's value on the host, by ``function file:line``.

    Use as a context manager around the code to check; ``where`` holds the counts.
    """

    def __init__(self, optimizer: torch.optim.Optimizer | None = None) -> None:
        super().__init__()
        self.optimizer = optimizer
        self.where: collections.Counter[str] = collections.Counter()

    def _is_read(self, func: Any, args: tuple, kwargs: dict) -> bool:
        if func in _FROM_HOST_DATA:  # a tensor made from host data: a blocking copy on CUDA
            if func is _T.new_tensor:
                return not isinstance(args[1], torch.Tensor)
            on_device = kwargs.get("device") is not None
            return on_device and not isinstance(args[0] if args else None, torch.Tensor)
        if func in (_T.__getitem__, _T.__setitem__):  # a boolean mask: nonzero() inside
            index = args[1] if isinstance(args[1], tuple) else (args[1],)
            return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in index)
        if func is torch.where:  # where(condition) is nonzero()
            return len(args) == 1
        return func in _READS

    def _exempt(self, tensor: Any) -> bool:
        caller = sys._getframe(3).f_code.co_filename.replace("\\", "/")
        if caller.endswith("torch/amp/grad_scaler.py"):
            return True
        if self.optimizer is None:
            return False
        steps = (state.get("step") for state in self.optimizer.state.values())
        return any(tensor is step for step in steps)  # CPU step counters (Adam's)

    def __torch_function__(
        self, func: Any, types: Any, args: tuple = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        if self._is_read(func, args, kwargs) and not self._exempt(args[0] if args else None):
            caller = sys._getframe(1)
            name = getattr(func, "__name__", str(func))
            self.where[f"{name} {caller.f_code.co_filename}:{caller.f_lineno}"] += 1
        return func(*args, **kwargs)
