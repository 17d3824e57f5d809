"""The contract between a model and the loops (MMEngine's ``BaseModel`` interface).

A model receives a batch as ``dict(inputs=[...], data_samples=[...])``. Its
``data_preprocessor`` moves and normalises it; ``forward(inputs, data_samples, mode)`` returns
a dict of losses (``mode='loss'``), a list of data samples with predictions (``'predict'``)
or raw outputs (``'tensor'``). ``train_step`` runs one optimisation step through the optimizer
wrapper, so loops never touch ``backward`` themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.registry import MODELS, build_if_dict
from segwright.utils.dist import all_reduce_sum, is_distributed
from segwright.utils.errors import ConfigError


def cast_to_device(
    data: Any, device: torch.device | str | None, non_blocking: bool | None = None
) -> Any:
    """Move tensors (also inside dicts, lists and objects with ``.to``) to ``device``.

    Args:
        data: A tensor, or dicts/lists/tuples of them, or objects with ``.to`` (data samples).
        device: Where to; None leaves ``data`` as it is.
        non_blocking: Asynchronous copies; None (auto): asynchronous exactly when ``device`` is
            CUDA. A host-to-CUDA copy from pinned memory then overlaps the host's work; it is
            safe because the model reads the tensors on the stream that copies them (the
            current one). Objects' ``.to`` get ``non_blocking=True`` only when it is True, so a
            custom ``.to(device)`` without that argument keeps working on the CPU.
    """
    if device is None:
        return data
    if non_blocking is None:
        non_blocking = copies_non_blocking(device)
    return _cast(data, device, bool(non_blocking))


def copies_non_blocking(device: torch.device | str) -> bool:
    """The automatic ``non_blocking``: True for a CUDA target (pinned batches copy async)."""
    return torch.device(device).type == "cuda"


def _cast(data: Any, device: torch.device | str, non_blocking: bool) -> Any:
    if isinstance(data, torch.Tensor):
        return data.to(device, non_blocking=non_blocking)
    if isinstance(data, Mapping):
        return {k: _cast(v, device, non_blocking) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_cast(v, device, non_blocking) for v in data)
    if hasattr(data, "to") and callable(data.to):
        return data.to(device, non_blocking=True) if non_blocking else data.to(device)
    return data


class NonFiniteLossError(ArithmeticError):
    """The summed loss is NaN or infinite; raised before backward so no weight is touched."""

    def __init__(self, log_vars: Mapping[str, torch.Tensor], on_other_rank: bool = False) -> None:
        super().__init__("non-finite loss")
        self.log_vars = {k: float(v) for k, v in log_vars.items()}
        #: This rank's loss is finite; another rank's was not (all ranks skip or stop together).
        self.on_other_rank = on_other_rank


@MODELS.register_module()
class BaseDataPreprocessor(nn.Module):
    """Moves a batch to the model's device; stacks equally shaped inputs into one tensor.

    Args:
        non_blocking: Asynchronous host-to-device copies. None (default): asynchronous when
            the model is on CUDA, so a batch from pinned memory (``pin_memory``) is copied
            while the host goes on; False: always synchronous (MMEngine's default); True:
            always asynchronous.
    """

    def __init__(self, non_blocking: bool | None = None) -> None:
        super().__init__()
        self.non_blocking = non_blocking
        self._device = torch.device("cpu")

    @property
    def device(self) -> torch.device:
        return self._device

    def _apply(self, fn: Any, recurse: bool = True) -> BaseDataPreprocessor:
        # Track the device of .to()/.cuda() calls even though this module has no parameters.
        self._device = fn(torch.empty(0, device=self._device)).device
        return super()._apply(fn, recurse)

    def forward(self, data: Mapping[str, Any], training: bool = False) -> dict[str, Any]:
        data = cast_to_device(dict(data), self._device, self.non_blocking)
        inputs = data.get("inputs")
        if (
            isinstance(inputs, (list, tuple))
            and inputs
            and all(isinstance(t, torch.Tensor) for t in inputs)
        ):
            if len({tuple(t.shape) for t in inputs}) == 1:
                data["inputs"] = torch.stack(list(inputs)).float()
        return data


class BaseModel(nn.Module):
    """Base class of everything the runner trains.

    Args:
        data_preprocessor: A module or a config dict (built from MODELS); default
            :class:`BaseDataPreprocessor`.
    """

    def __init__(self, data_preprocessor: nn.Module | Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if data_preprocessor is None:
            data_preprocessor = dict(type="BaseDataPreprocessor")
        self.data_preprocessor = build_if_dict(data_preprocessor, MODELS, key="data_preprocessor")

    def forward(
        self, inputs: Any, data_samples: Sequence[Any] | None = None, mode: str = "tensor"
    ) -> Any:
        raise NotImplementedError

    # -- steps called by the loops ---------------------------------------------------------

    def train_step(self, data: Mapping[str, Any], optim_wrapper: Any) -> dict[str, torch.Tensor]:
        """Forward with ``mode='loss'``, sum the losses, update the parameters; return log values.

        The log values stay on the device, unread. See :meth:`check_loss` for when the loss is
        checked for NaN/Inf here.
        """
        return self.train_step_through(self, data, optim_wrapper)

    def train_step_through(
        self, caller: nn.Module, data: Mapping[str, Any], optim_wrapper: Any
    ) -> dict[str, torch.Tensor]:
        """:meth:`train_step` with the forward called on ``caller``.

        ``caller`` is this model, or the DistributedDataParallel wrapper around it (its forward
        prepares the gradients' all-reduce), so both paths share one step and one loss check.
        """
        with optim_wrapper.optim_context(caller):
            data = self.data_preprocessor(data, True)
            losses = _forward(caller, data, mode="loss")
        loss, log_vars = self.parse_losses(losses)
        self.check_loss(loss, log_vars)
        optim_wrapper.update_params(loss)
        return log_vars

    #: Set by the train loop when its policy needs every loss on the host before the update
    #: (``on_nonfinite_loss='skip'``, ``check_finite='every_iter'``): a sync per iteration.
    eager_loss_check = False

    def check_loss(self, loss: torch.Tensor, log_vars: Mapping[str, torch.Tensor]) -> None:
        """Raise :class:`NonFiniteLossError` for a NaN/Inf loss when :attr:`eager_loss_check`.

        Otherwise nothing is read here: the train loop checks the losses it kept on the device
        at its next check (log interval or checkpoint save), without a per-iteration sync.
        """
        if not self.eager_loss_check:
            return
        if is_distributed():
            # Every rank must take the same branch: one rank skipping its backward while the
            # others wait in the gradients' all-reduce would hang the run until the timeout.
            bad = all_reduce_sum((~torch.isfinite(loss.detach())).to(torch.float32))
            if bad.item():
                raise NonFiniteLossError(log_vars, on_other_rank=bool(torch.isfinite(loss)))
        elif not math.isfinite(loss.item()):
            raise NonFiniteLossError(log_vars)

    def val_step(self, data: Mapping[str, Any]) -> list[Any]:
        """Predictions for a validation batch."""
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode="predict")

    def test_step(self, data: Mapping[str, Any]) -> list[Any]:
        """Predictions for a test batch."""
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode="predict")

    def loss_step(self, data: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Losses without an update: MMCV's 'val' workflow phase computes these."""
        data = self.data_preprocessor(data, True)
        losses = self._run_forward(data, mode="loss")
        _, log_vars = self.parse_losses(losses)
        return log_vars

    def _run_forward(self, data: Any, mode: str) -> Any:
        return _forward(self, data, mode)

    @staticmethod
    def parse_losses(losses: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss and log values (SPEC §9.1).

        Each value is averaged (a list of tensors: the sum of their means). The total is the sum
        of every entry whose key *contains* ``'loss'``, as MMSeg sums it.
        """
        log_vars: dict[str, torch.Tensor] = {}
        for name, value in losses.items():
            if isinstance(value, torch.Tensor):
                log_vars[name] = value if value.dim() == 0 else value.mean()
            elif isinstance(value, (list, tuple)) and all(
                isinstance(v, torch.Tensor) for v in value
            ):
                log_vars[name] = sum(v.mean() for v in value)  # type: ignore[assignment]
            else:
                raise ConfigError(
                    f"Loss {name!r} must be a tensor or a list of tensors, got {type(value).__name__}."
                )
        loss_terms = [v for k, v in log_vars.items() if "loss" in k]
        if not loss_terms:
            raise ConfigError(
                f"The model returned no entry whose name contains 'loss' (got {list(log_vars)}); "
                "nothing to optimise."
            )
        total = loss_terms[0]
        for term in loss_terms[1:]:  # not sum(): its start value 0 costs one more kernel
            total = total + term
        result = {"loss": total}
        result.update(log_vars)
        return total, {k: v.detach() for k, v in result.items()}  # type: ignore[return-value]


def _forward(module: nn.Module, data: Any, mode: str) -> Any:
    """``module(**data, mode=mode)`` for a dict batch, ``module(*data, mode=mode)`` for a tuple."""
    if isinstance(data, Mapping):
        return module(**data, mode=mode)
    if isinstance(data, (list, tuple)):
        return module(*data, mode=mode)
    raise ConfigError(f"A batch must be a dict or a tuple, got {type(data).__name__}.")
