"""Optimizer wrappers: one ``update_params(loss)`` that hides clipping, accumulation and AMP.

The model's ``train_step`` runs its forward inside ``optim_wrapper.optim_context(model)`` and
then calls ``optim_wrapper.update_params(loss)``; loops never call ``backward`` themselves.
The API (names, counters, state dict keys) is MMEngine's, so configs written for
``optim_wrapper=dict(type='OptimWrapper'|'AmpOptimWrapper', ...)`` work unchanged.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

from segwright.registry import OPTIM_WRAPPERS, check_arguments
from segwright.utils.errors import ConfigError

logger = logging.getLogger(__name__)

_CLIP_FUNCS = {
    "norm": (torch.nn.utils.clip_grad_norm_, "grad_norm"),
    "value": (torch.nn.utils.clip_grad_value_, "grad_value"),
}


def _has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


_NO_CONTEXT = contextlib.nullcontext()  # reusable: it holds no state


@OPTIM_WRAPPERS.register_module()
class OptimWrapper:
    """A torch optimizer plus gradient clipping and gradient accumulation.

    Args:
        optimizer: The ``torch.optim.Optimizer`` to drive.
        accumulative_counts: Update the parameters every this many ``update_params`` calls;
            the loss is divided by it so the summed gradients equal a big batch's mean.
        clip_grad: ``None`` (no clipping) or a dict: ``type='norm'`` (default) with the
            arguments of ``torch.nn.utils.clip_grad_norm_`` (``max_norm``, ``norm_type``...),
            or ``type='value'`` with ``clip_value`` for ``clip_grad_value_``.

    Raises:
        ConfigError: ``accumulative_counts`` is not a positive int, or ``clip_grad`` is
            empty, has only ``type``, an unknown ``type`` or arguments the torch function
            does not take.

    The total gradient norm before clipping (clip by norm) of the step taken in the last
    ``update_params`` call is :attr:`last_grad_norm` (None when that call did not step, e.g.
    inside an accumulation group, or did not clip), and is also in :attr:`last_log_vars` as
    ``grad_norm``, so a logger records it only for iterations that stepped, as MMEngine does.
    It is a 0-dim tensor on the parameters' device, left unread: ``float()`` on it waits for
    the device (the log store reads it with the losses, once per log interval).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        accumulative_counts: int = 1,
        clip_grad: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ConfigError(
                f"{type(self).__name__} needs a built torch.optim.Optimizer, got "
                f"{type(optimizer).__name__}. Build it through optim_wrapper=dict(optimizer="
                "dict(type='SGD', lr=...)) or pass an optimizer object."
            )
        if (
            isinstance(accumulative_counts, bool)
            or not isinstance(accumulative_counts, int)
            or accumulative_counts < 1
        ):
            raise ConfigError(
                f"optim_wrapper.accumulative_counts must be an int >= 1, got "
                f"{accumulative_counts!r}. Use 1 for no gradient accumulation."
            )
        self.optimizer = optimizer
        self._accumulative_counts = accumulative_counts
        self.clip_grad_kwargs: dict[str, Any] | None = None
        self._clip_func: Any = None
        self._grad_name = "grad_norm"
        if clip_grad is not None:
            self._setup_clip(clip_grad)

        self._inner_count = 0
        # -1 until initialize_count_status: then the loss factor is always N.
        self._max_counts = -1
        self._remainder_counts = -1
        self.last_grad_norm: torch.Tensor | None = None
        self.last_log_vars: dict[str, torch.Tensor] = {}

        # MMEngine keeps the optimizer defaults as an extra, parameter-free group when there
        # are several groups, so schedulers also move a "base" lr that loggers show as base_lr.
        self.base_param_settings: dict[str, Any] | None = None
        if len(optimizer.param_groups) > 1:
            self.base_param_settings = {"params": torch.tensor([0.0], dtype=torch.float)}
            self.base_param_settings.update(optimizer.defaults)

    def _setup_clip(self, clip_grad: Mapping[str, Any]) -> None:
        if not isinstance(clip_grad, Mapping) or not clip_grad:
            raise ConfigError(
                f"optim_wrapper.clip_grad must be None or a non-empty dict, got {clip_grad!r}. "
                "Example: clip_grad=dict(max_norm=35, norm_type=2) or "
                "clip_grad=dict(type='value', clip_value=0.5)."
            )
        kwargs = dict(clip_grad)
        clip_type = kwargs.pop("type", "norm")
        if clip_type not in _CLIP_FUNCS:
            raise ConfigError(
                f"optim_wrapper.clip_grad.type must be 'norm' or 'value', got {clip_type!r}."
            )
        if not kwargs:
            raise ConfigError(
                f"optim_wrapper.clip_grad={dict(clip_grad)!r} has no arguments besides 'type'. "
                "Add max_norm=... (type='norm') or clip_value=... (type='value')."
            )
        func, grad_name = _CLIP_FUNCS[clip_type]
        check_arguments(
            func, {"parameters": None, **kwargs}, f"optim_wrapper.clip_grad ({clip_type})"
        )
        for key in ("max_norm", "clip_value"):  # a negative bound would flip or zero gradients
            if key in kwargs and not (isinstance(kwargs[key], (int, float)) and kwargs[key] > 0):
                raise ConfigError(
                    f"optim_wrapper.clip_grad.{key} must be a number > 0, got {kwargs[key]!r}."
                )
        self._clip_func = func
        self._grad_name = grad_name
        self.clip_grad_kwargs = kwargs

    # -- the update ------------------------------------------------------------------------

    def update_params(
        self,
        loss: torch.Tensor,
        step_kwargs: Mapping[str, Any] | None = None,
        zero_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Scale the loss for accumulation, backpropagate, and step + zero grads when due."""
        self.last_log_vars = {}
        self.last_grad_norm = None
        loss = self.scale_loss(loss)
        self.backward(loss)
        if self.should_update():
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """``loss.backward(**kwargs)`` and count the call (``inner_count += 1``).

        Subclasses that override this must increment ``_inner_count`` too.
        """
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs: Any) -> None:
        """Clip gradients (if configured), then ``optimizer.step(**kwargs)``."""
        if self.clip_grad_kwargs:
            self._clip_grad()
        self.optimizer.step(**kwargs)

    def zero_grad(self, **kwargs: Any) -> None:
        """``optimizer.zero_grad(**kwargs)``."""
        self.optimizer.zero_grad(**kwargs)

    def _clip_grad(self) -> None:
        params = [
            p
            for group in self.optimizer.param_groups
            for p in group["params"]
            if p.requires_grad and p.grad is not None
        ]
        if not params:
            return
        result = self._clip_func(params, **self.clip_grad_kwargs)
        if result is not None:  # clip_grad_value_ returns None
            self.last_log_vars[self._grad_name] = result
            if self._grad_name == "grad_norm":
                self.last_grad_norm = result

    # -- accumulation ----------------------------------------------------------------------

    def initialize_count_status(self, model: nn.Module, init_counts: int, max_counts: int) -> None:
        """Set the counters at the start of training (``Runner.train``: start iter, max iters).

        Without this call accumulation still works, but a last incomplete group of
        iterations would never step and its loss factor would stay ``accumulative_counts``.
        """
        self._inner_count = init_counts
        self._max_counts = max_counts
        if init_counts % self._accumulative_counts != 0:
            logger.warning(
                "Resuming at iteration %d, which is not a multiple of accumulative_counts=%d: "
                "the gradients of the interrupted accumulation group are lost.",
                init_counts,
                self._accumulative_counts,
            )
        if self._accumulative_counts > 1 and _has_batch_norm(model):
            logger.warning(
                "Gradient accumulation with BatchNorm layers: BN statistics still see only the "
                "small per-iteration batch, which may slightly decrease accuracy."
            )
        self._remainder_counts = max_counts % self._accumulative_counts

    def should_update(self) -> bool:
        """Whether the iteration just back-propagated ends an accumulation group."""
        return (
            self._inner_count % self._accumulative_counts == 0
            or self._inner_count == self._max_counts
        )

    def should_sync(self) -> bool:
        """Whether the coming backward ends a group (so DDP must all-reduce gradients)."""
        upcoming = self._inner_count + 1
        return upcoming % self._accumulative_counts == 0 or upcoming == self._max_counts

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """Divide the loss by the number of iterations of its accumulation group.

        The factor is ``accumulative_counts``, except in the final incomplete group
        (``inner_count >= max_counts - max_counts % N``) where it is ``max_counts % N``.
        """
        if self._accumulative_counts == 1:
            return loss
        if self._max_counts == -1:
            return loss / self._accumulative_counts
        if self._inner_count < self._max_counts - self._remainder_counts:
            factor = self._accumulative_counts
        else:
            factor = self._remainder_counts
        if factor <= 0:
            raise RuntimeError(
                f"Loss factor {factor} at inner_count={self._inner_count} with "
                f"max_counts={self._max_counts}: update_params was called more often than the "
                "max_counts given to initialize_count_status."
            )
        return loss / factor

    def optim_context(self, model: nn.Module) -> contextlib.AbstractContextManager[Any]:
        """Run the forward of one iteration: skips DDP gradient sync on non-update iterations.

        Returns a context manager (no generator: this runs every iteration, and the usual case
        needs nothing but a shared ``nullcontext``). Subclasses may wrap it in their own.
        """
        if not self.should_sync() and hasattr(model, "no_sync"):
            return model.no_sync()
        return _NO_CONTEXT

    @property
    def inner_count(self) -> int:
        """How many times ``backward`` ran (forward iterations, not optimizer steps)."""
        return self._inner_count

    # -- what schedulers, loggers and checkpoints read --------------------------------------

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The optimizer's groups, plus the base-settings group when there are several."""
        if self.base_param_settings is not None:
            return self.optimizer.param_groups + [self.base_param_settings]
        return self.optimizer.param_groups

    @property
    def defaults(self) -> dict[str, Any]:
        return self.optimizer.defaults

    def get_lr(self) -> dict[str, list[float]]:
        """``{'lr': [per group]}``, plus ``'base_lr'`` when there are several groups."""
        result: dict[str, list[float]] = {}
        if self.base_param_settings is not None:
            result["base_lr"] = [self.base_param_settings["lr"]]
        result["lr"] = [group["lr"] for group in self.optimizer.param_groups]
        return result

    def get_momentum(self) -> dict[str, list[float]]:
        """``{'momentum': [per group]}``: SGD ``momentum``, Adam-family ``betas[0]``, else 0."""
        momentum = []
        for group in self.optimizer.param_groups:
            if "momentum" in group:
                momentum.append(group["momentum"])
            elif "betas" in group:
                momentum.append(group["betas"][0])
            else:
                momentum.append(0)
        return {"momentum": momentum}

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state dict (+ ``base_param_settings`` when there are several groups)."""
        state = self.optimizer.state_dict()
        if self.base_param_settings is not None:
            state["base_param_settings"] = self.base_param_settings
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (also MMEngine's); the input is not modified."""
        state = dict(state_dict)
        base = state.pop("base_param_settings", None)
        if base is not None:
            self.base_param_settings = base
        self.optimizer.load_state_dict(state)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(optimizer={type(self.optimizer).__name__} with "
            f"{len(self.optimizer.param_groups)} group(s), "
            f"accumulative_counts={self._accumulative_counts}, clip_grad={self.clip_grad_kwargs})"
        )


_VALID_DTYPES = ("float16", "bfloat16", "float32", "float64")


def _resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and dtype in _VALID_DTYPES:
        return getattr(torch, dtype)
    raise ConfigError(
        f"optim_wrapper.dtype must be None, a torch dtype or one of {', '.join(_VALID_DTYPES)}; "
        f"got {dtype!r}."
    )


def _device_type_of(optimizer: torch.optim.Optimizer) -> str:
    for group in optimizer.param_groups:
        for param in group["params"]:
            return param.device.type
    return "cuda" if torch.cuda.is_available() else "cpu"


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """:class:`OptimWrapper` with automatic mixed precision (``torch.autocast`` + GradScaler).

    The autocast device is the device of the optimizer's parameters, so this works on CPU too
    (MMEngine asserts a GPU): there the default autocast dtype is bfloat16, on CUDA float16
    (torch's defaults). The loss is always scaled by a ``torch.amp.GradScaler`` of that
    device, as in MMEngine: only float16 needs it, but keeping it for bfloat16 gives the same
    behaviour everywhere (steps with inf/NaN gradients are skipped, ``loss_scaler`` is in the
    state dict) at negligible cost. Pass ``loss_scale=dict(enabled=False)`` to turn it off.

    Args:
        loss_scale: ``'dynamic'`` (GradScaler defaults), a number for a static scale (the
            scaler is reset to it after every step) or a dict of GradScaler arguments.
        dtype: Autocast dtype: ``'float16'``, ``'bfloat16'``, ``'float32'``, ``'float64'``, a
            torch dtype, or None for the device's default.
        use_fsdp: Use torch's ``ShardedGradScaler`` (for FullyShardedDataParallel).
        **kwargs: :class:`OptimWrapper` arguments (``optimizer``, ``accumulative_counts``,
            ``clip_grad``).

    Raises:
        ConfigError: ``loss_scale`` is another string or type, or ``dtype`` is not one of the
            names above. (An int ``loss_scale`` is accepted as a static scale; MMEngine rejects it.)
    """

    valid_dtypes = _VALID_DTYPES

    def __init__(
        self,
        loss_scale: str | float | Mapping[str, Any] = "dynamic",
        dtype: str | torch.dtype | None = None,
        use_fsdp: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.device_type = _device_type_of(self.optimizer)
        self.cast_dtype = _resolve_dtype(dtype)
        self._scale_update_param: float | None = None
        scaler_kwargs = self._scaler_kwargs(loss_scale)
        if use_fsdp:
            from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

            scaler_type: Any = ShardedGradScaler
        else:
            scaler_type = torch.amp.GradScaler
        scaler_kwargs.setdefault("device", self.device_type)
        check_arguments(scaler_type, scaler_kwargs, "optim_wrapper.loss_scale (GradScaler)")
        self.loss_scaler = scaler_type(**scaler_kwargs)

    def _scaler_kwargs(self, loss_scale: Any) -> dict[str, Any]:
        if isinstance(loss_scale, str) and loss_scale == "dynamic":
            return {}
        # An int (``loss_scale=512``) is a static scale too. MMEngine and MMCV reject ints
        # (SPEC trap 25), which only ever surprises users; we accept them.
        if isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool):
            self._scale_update_param = float(loss_scale)
            return {"init_scale": float(loss_scale)}
        if isinstance(loss_scale, Mapping):
            return dict(loss_scale)
        raise ConfigError(
            f"optim_wrapper.loss_scale must be 'dynamic', a float or a dict of GradScaler "
            f"arguments, got {loss_scale!r}."
        )

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Backpropagate the scaled loss and count the call."""
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs: Any) -> None:
        """Unscale (when clipping, so the clip sees true gradients), clip, step, update scale."""
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state dict plus ``loss_scaler`` (the GradScaler state)."""
        state = super().state_dict()
        state["loss_scaler"] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore optimizer and, when present, GradScaler state; the input is not modified."""
        state = dict(state_dict)
        scaler_state = state.pop("loss_scaler", None)
        if scaler_state is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state)

    @contextlib.contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """The accumulation context of :class:`OptimWrapper` plus ``torch.autocast``."""
        autocast_kwargs: dict[str, Any] = {"cache_enabled": False}
        if self.cast_dtype is not None:
            autocast_kwargs["dtype"] = self.cast_dtype
        with super().optim_context(model), torch.autocast(self.device_type, **autocast_kwargs):
            yield
