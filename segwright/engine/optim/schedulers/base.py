"""The base of every parameter scheduler: MMEngine's stepping rules, shared by all schedules.

A scheduler owns one hyper-parameter (``lr``, ``momentum``, ...) of every param group of an
optimizer. It records ``initial_<param>`` in each group the first time any scheduler touches
it, counts calls of :meth:`ParamScheduler.step` in ``_global_step`` and acts only while
``begin <= _global_step < end``. Most schedules are *chainable*: they transform the value the
group holds now, so schedulers active at the same step compound in list order. A schedule that
is a closed-form function of the step (MMCV's ``lr_config`` policies, say) subclasses
:class:`ClosedFormParamScheduler` instead.
"""

from __future__ import annotations

import copy
import logging
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch

from segwright.registry import current_build_path
from segwright.utils.errors import ConfigError

#: MMEngine's "no end": schedulers without ``end`` run for 10^9 steps.
INF = int(1e9)

logger = logging.getLogger(__name__)


def arg_error(owner: str, key: str, message: str) -> ConfigError:
    """A :class:`ConfigError` naming the bad argument and, inside a build, its config key."""
    path = current_build_path()
    where = f"Config key '{path}.{key}' ({owner})" if path else f"{owner} argument '{key}'"
    return ConfigError(f"{where}: {message}")


def param_groups_of(optimizer: Any) -> list[dict[str, Any]]:
    """The param groups of a torch optimizer or of a wrapper that has ``.optimizer``."""
    groups = getattr(optimizer, "param_groups", None)
    if groups is None:
        groups = getattr(getattr(optimizer, "optimizer", None), "param_groups", None)
    if groups is None:
        raise TypeError(
            "A parameter scheduler needs a torch optimizer or an optimizer wrapper "
            f"(an object with .optimizer), got {type(optimizer).__name__}."
        )
    return groups


def torch_optimizer_of(optimizer: Any) -> Any:
    """The innermost optimizer: ``optimizer`` itself, or ``optimizer.optimizer`` for a wrapper."""
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    inner = getattr(optimizer, "optimizer", None)
    return inner if inner is not None else optimizer


def is_number(value: Any) -> bool:
    """True for real numbers other than bools."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class ParamScheduler:
    """Schedule ``param_name`` of every param group; subclasses define :meth:`_get_value`.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an optimizer wrapper (anything with
            ``param_groups`` or ``.optimizer.param_groups``).
        param_name: The param-group key to schedule (``'lr'``, ``'momentum'``, ...).
        begin: First step (inclusive) at which the scheduler acts.
        end: Step (exclusive) at which it stops acting.
        last_step: Index of the last step taken; ``-1`` for a fresh schedule. Other values
            resume without a state dict and need ``initial_<param>`` in every group.
        by_epoch: Whether the runner steps it once per epoch (True) or per iteration.
        verbose: Log every value written.
    """

    #: Whether values are computed from the group's current value (and so compound).
    chainable: ClassVar[bool] = True
    #: Whether :meth:`step` needs validation metrics (ReduceOnPlateau).
    need_val_args: ClassVar[bool] = False
    #: Arguments given in epochs that ``convert_to_iter_based`` multiplies by the epoch length.
    epoch_scaled_args: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        self._attach(optimizer, param_name, begin, end, last_step, by_epoch, verbose)
        self.base_values = [group[f"initial_{param_name}"] for group in self._groups()]
        # step() in __init__ moves _global_step to 0 and writes the step-0 value when begin == 0.
        self._global_step = -1
        self.step()

    # -- set-up ------------------------------------------------------------------------------

    def _attach(
        self,
        optimizer: Any,
        param_name: str,
        begin: int,
        end: int,
        last_step: int,
        by_epoch: bool,
        verbose: bool,
    ) -> None:
        """Validate the common arguments and record ``initial_<param>`` in every group."""
        owner = type(self).__name__
        groups = param_groups_of(optimizer)
        self.optimizer = optimizer
        self.param_name = param_name
        if not is_number(begin):
            raise arg_error(owner, "begin", f"must be a number of steps, got {begin!r}.")
        if not is_number(end):
            raise arg_error(owner, "end", f"must be a number of steps, got {end!r}.")
        if end <= begin:
            raise arg_error(
                owner,
                "end",
                f"must be larger than begin, got begin={begin}, end={end}. The scheduler acts "
                "on steps begin <= step < end.",
            )
        if not isinstance(by_epoch, bool):
            raise arg_error(owner, "by_epoch", f"must be True or False, got {by_epoch!r}.")
        if not isinstance(last_step, int) or isinstance(last_step, bool) or last_step < -1:
            raise arg_error(owner, "last_step", f"must be an int >= -1, got {last_step!r}.")
        self.begin = begin
        self.end = end
        self.by_epoch = by_epoch
        self.verbose = verbose
        initial = f"initial_{param_name}"
        for i, group in enumerate(groups):
            if last_step == -1:
                if param_name not in group:
                    raise ConfigError(
                        f"{owner} schedules '{param_name}', but param group {i} of "
                        f"{type(optimizer).__name__} has no such key. Use a scheduler for a "
                        "hyper-parameter this optimizer has."
                    )
                # The first scheduler built for a group fixes the base value.
                group.setdefault(initial, group[param_name])
            elif initial not in group:
                raise KeyError(
                    f"{owner}: '{initial}' is missing in param group {i}; resuming with "
                    f"last_step={last_step} needs an optimizer state that was scheduled before."
                )
        self.last_step = last_step

    def _groups(self) -> list[dict[str, Any]]:
        return param_groups_of(self.optimizer)

    # -- stepping ----------------------------------------------------------------------------

    def _get_value(self) -> list[Any]:
        """The values for step ``self.last_step``, one per param group."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step; inside ``[begin, end)`` compute and write the new values."""
        self._global_step += 1
        groups = self._groups()
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            for i, (group, value) in enumerate(zip(groups, self._get_value())):
                group[self.param_name] = value
                self._log_value(i, value)
        self._last_value = [group[self.param_name] for group in groups]

    def _log_value(self, group_index: int, value: Any) -> None:
        if self.verbose:
            logger.info(
                "Adjusting %s of param group %d to %.4e.", self.param_name, group_index, value
            )

    def get_last_value(self) -> list[Any]:
        """The values of every param group after the latest :meth:`step`."""
        return self._last_value

    # -- checkpointing -----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (restored by :meth:`load_state_dict`)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the optimizer stays the one given at construction."""
        state = {k: copy.deepcopy(v) for k, v in state_dict.items() if k != "optimizer"}
        # MMEngine's OneCycle stores its anneal function; ours derives it from anneal_strategy.
        state.pop("anneal_func", None)
        self.__dict__.update(state)

    # -- conversion --------------------------------------------------------------------------

    @classmethod
    def epoch_to_iter_kwargs(cls, kwargs: Mapping[str, Any], epoch_length: int) -> dict[str, Any]:
        """Rewrite epoch-based arguments as iteration-based ones (``convert_to_iter_based``).

        ``begin`` and a finite ``end`` are multiplied by ``epoch_length`` and truncated to
        int; the arguments in :attr:`epoch_scaled_args` are multiplied (element-wise for
        lists); ``by_epoch`` becomes False.
        """
        name = cls.__name__
        if not kwargs.get("by_epoch", True):
            raise arg_error(
                name,
                "convert_to_iter_based",
                "only schedulers with by_epoch=True can be converted to iteration-based.",
            )
        if not isinstance(epoch_length, int) or isinstance(epoch_length, bool) or epoch_length <= 0:
            raise arg_error(
                name,
                "epoch_length",
                f"convert_to_iter_based needs a positive int epoch_length (the number of "
                f"iterations per epoch), got {epoch_length!r}.",
            )
        out = dict(kwargs)
        out["by_epoch"] = False
        out["begin"] = int(out.get("begin", 0) * epoch_length)
        end = out.get("end", INF)
        if end != INF:
            out["end"] = int(end * epoch_length)
        for key in cls.epoch_scaled_args:
            value = out.get(key)
            if value is None:
                continue
            if isinstance(value, Sequence) and not isinstance(value, str):
                out[key] = [v * epoch_length for v in value]
            else:
                out[key] = value * epoch_length
        return out

    @classmethod
    def build_iter_from_epoch(
        cls, *args: Any, epoch_length: int | None = None, **kwargs: Any
    ) -> ParamScheduler:
        """Build an iteration-based instance from epoch-based arguments (MMEngine's API)."""
        return cls(*args, **cls.epoch_to_iter_kwargs(kwargs, epoch_length))  # type: ignore[arg-type]


#: MMEngine's name for the base class, for user code that subclasses it.
_ParamScheduler = ParamScheduler


class ClosedFormParamScheduler(ParamScheduler):
    """A non-chainable schedule whose value is a function of the base value and the step.

    Subclasses implement :meth:`_value_at`; ``step`` is ``last_step`` (0 at ``begin``), the
    base value is the group's ``initial_<param>``. Other schedulers active at the same step are
    overwritten, as with MMCV's ``lr_config`` policies.
    """

    chainable: ClassVar[bool] = False

    def _value_at(self, base_value: float, step: int, group_index: int) -> float:
        raise NotImplementedError

    def _get_value(self) -> list[Any]:
        return [self._value_at(base, self.last_step, i) for i, base in enumerate(self.base_values)]


def check_factor(owner: str, key: str, value: Any) -> None:
    """Raise unless ``value`` is a number in [0, 1] (the multiplicative factors)."""
    if not is_number(value) or not 0 <= value <= 1:
        raise arg_error(owner, key, f"must be a number between 0 and 1, got {value!r}.")


def check_eta_min(owner: str, eta_min: Any, eta_min_ratio: Any) -> None:
    """Raise unless exactly one of ``eta_min`` / ``eta_min_ratio`` is given."""
    if (eta_min is None) == (eta_min_ratio is None):
        raise arg_error(
            owner,
            "eta_min",
            "give exactly one of eta_min (an absolute minimum) and eta_min_ratio (a fraction "
            f"of the base value), got eta_min={eta_min!r}, eta_min_ratio={eta_min_ratio!r}.",
        )


def per_group_values(owner: str, key: str, value: Any, optimizer: Any) -> list[Any]:
    """Expand a scalar to one value per param group, or check a list's length.

    A wrapper may expose one more group than its optimizer (MMEngine's base-settings group);
    a list sized for the optimizer then repeats its last value for it.
    """
    n_groups = len(param_groups_of(optimizer))
    if isinstance(value, Sequence) and not isinstance(value, str):
        values = list(value)
        n_inner = len(param_groups_of(torch_optimizer_of(optimizer)))
        if len(values) == n_inner and n_groups == n_inner + 1:
            values.append(values[-1])
        if len(values) != n_groups:
            raise arg_error(
                owner,
                key,
                f"has {len(values)} values for {n_groups} param groups; give one "
                "value per param group or a single number.",
            )
        return values
    return [value] * n_groups
