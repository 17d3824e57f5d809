"""MMCV 0.x ``lr_config``/``momentum_config`` policies as closed-form parameter schedulers.

SPEC §5.1, §5.2. MMCV's updater hooks set the value in ``before_train_iter`` from the current
iteration ``i``: ``regular(t) × warmup(i)`` for the lr (the momentum is *divided* by the warmup
factor), where ``t`` is ``i`` (MMCV ``by_epoch=False``) or the epoch (``by_epoch=True``, the
regular value changes at epoch starts). A warmup multiplies the *scheduled* value during the first
``warmup_iters`` iterations; it does not delay the schedule.

These schedulers reproduce that order of updates in the 1.x engine: they are stepped after every
iteration (``by_epoch=False`` in MMEngine's sense), the value written at step ``i`` is the one in
force while iteration ``i`` trains, and it is the same closed form, computed with the same
operations, as MMCV's. ``progress`` says what MMCV's ``by_epoch`` said:

- ``'iter'``: the schedule follows the iteration (MMCV ``by_epoch=False``);
- ``'epoch'``: it follows the epoch, ``i // epoch_length`` (MMCV ``by_epoch=True``);
- ``'frozen'``: MMCV ``by_epoch=True`` under an ``IterBasedRunner``, which never calls
  ``before_train_epoch``: the value stays the base value and no warmup applies.

The base value of each group is ``initial_<param>`` (recorded once, so paramwise multipliers and
resumes keep it). The run lengths (``epoch_length``, ``max_iters``, ``max_epochs``) come from the
runner through :func:`~segwright.engine.optim.schedulers.builder.build_param_schedulers`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from segwright.engine.optim.schedulers.base import (
    INF,
    ClosedFormParamScheduler,
    arg_error,
    is_number,
    param_groups_of,
    torch_optimizer_of,
)
from segwright.registry import check_arguments
from segwright.utils.errors import ConfigError

WARMUP_KINDS = ("constant", "linear", "exp")
#: Passed as the optimizer by :meth:`MMCVPolicyScheduler.check_config`: check, build nothing.
CHECK_ONLY = object()


class _ArgumentsChecked(Exception):
    """Raised where a check-only construction reaches the optimizer."""


PROGRESS_KINDS = ("iter", "epoch", "frozen")


# -- closed forms ---------------------------------------------------------------------------------


def anneal_cos(start: float, end: float, factor: float, weight: float = 1.0) -> float:
    """Cosine from ``start`` (factor 0) to ``end`` (factor 1); ``weight`` scales the amplitude."""
    return end + 0.5 * weight * (start - end) * (math.cos(math.pi * factor) + 1)


def anneal_linear(start: float, end: float, factor: float) -> float:
    """Straight line from ``start`` (factor 0) to ``end`` (factor 1)."""
    return start + (end - start) * factor


ANNEAL_FUNCS: dict[str, Callable[..., float]] = {"cos": anneal_cos, "linear": anneal_linear}


def warmup_factor(kind: str, cur_iter: int, warmup_iters: int, ratio: float) -> float:
    """The factor a warmup applies at ``cur_iter`` (lr × factor; momentum ÷ factor)."""
    if kind == "constant":
        return ratio
    if kind == "linear":
        return 1 - (1 - cur_iter / warmup_iters) * (1 - ratio)
    return ratio ** (1 - cur_iter / warmup_iters)


def step_exponent(progress: int, step: int | Sequence[int]) -> int:
    """How many times a step policy has decayed at ``progress``."""
    if isinstance(step, int):
        return progress // step
    for index, milestone in enumerate(step):
        if progress < milestone:
            return index
    return len(step)


# -- argument checks ------------------------------------------------------------------------------


def check_bool(owner: str, key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise arg_error(owner, key, f"must be True or False, got {value!r}.")


def check_number(owner: str, key: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not is_number(value):
        raise arg_error(owner, key, f"must be a number, got {value!r}.")


def check_int(owner: str, key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise arg_error(owner, key, f"must be an int >= {minimum}, got {value!r}.")


def check_warmup(owner: str, warmup: Any, warmup_iters: Any, warmup_ratio: Any) -> None:
    """MMCV's warmup checks: a known kind, ``warmup_iters > 0`` and ``0 < warmup_ratio <= 1``."""
    if warmup is not None and warmup not in WARMUP_KINDS:
        raise arg_error(
            owner, "warmup", f"must be None, 'constant', 'linear' or 'exp', got {warmup!r}."
        )
    if isinstance(warmup_iters, bool) or not isinstance(warmup_iters, int):
        raise arg_error(
            owner, "warmup_iters", f"must be a whole number (an int), got {warmup_iters!r}."
        )
    if warmup is None:
        return
    if warmup_iters <= 0:
        raise arg_error(
            owner,
            "warmup_iters",
            f"must be positive when warmup={warmup!r} is set, got {warmup_iters}. "
            "Set warmup=None for no warmup.",
        )
    if not is_number(warmup_ratio) or not 0 < warmup_ratio <= 1:
        raise arg_error(owner, "warmup_ratio", f"must be in (0, 1], got {warmup_ratio!r}.")


def check_anneal(owner: str, anneal_strategy: Any) -> Callable[..., float]:
    if anneal_strategy not in ANNEAL_FUNCS:
        raise arg_error(
            owner, "anneal_strategy", f"must be 'cos' or 'linear', got {anneal_strategy!r}."
        )
    return ANNEAL_FUNCS[anneal_strategy]


def check_steps(owner: str, key: str, step: Any) -> None:
    """``step``: a positive int, or a list of positive ints (milestones)."""
    if isinstance(step, Sequence) and not isinstance(step, str):
        if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in step):
            raise arg_error(owner, key, f"must contain positive ints, got {list(step)!r}.")
        return
    if isinstance(step, bool) or not isinstance(step, int) or step <= 0:
        raise arg_error(
            owner, key, f"must be a positive int or a list of positive ints, got {step!r}."
        )


def check_min_or_ratio(owner: str, key: str, minimum: Any, ratio: Any) -> None:
    """Exactly one of an absolute minimum and a ratio of the base value must be given."""
    if (minimum is None) == (ratio is None):
        raise arg_error(
            owner,
            key,
            f"give exactly one of {key} (an absolute value) and {key}_ratio (a fraction of the "
            f"base value), got {key}={minimum!r}, {key}_ratio={ratio!r}.",
        )
    check_number(owner, key, minimum, allow_none=True)
    check_number(owner, f"{key}_ratio", ratio, allow_none=True)


def check_pct(owner: str, key: str, value: Any) -> None:
    """MMCV wants a float in [0, 1] (``pct_start``, ``start_percent``)."""
    if not isinstance(value, float) or not 0 <= value <= 1:
        raise arg_error(owner, key, f"must be a float between 0 and 1, got {value!r}.")


def per_group(owner: str, key: str, value: Any, optimizer: Any) -> list[Any]:
    """One value per param group from a number, a per-group list, or ``{optimizer name: ...}``."""
    n_groups = len(param_groups_of(optimizer))
    inner = torch_optimizer_of(optimizer)
    n_inner = len(inner.param_groups)
    if isinstance(value, Mapping):
        name = type(inner).__name__
        if name not in value:
            raise arg_error(
                owner,
                key,
                f"is a dict keyed by optimizer name but has no entry for {name!r} "
                f"(keys: {', '.join(map(repr, value))}).",
            )
        value = value[name]
    if is_number(value):
        return [value] * n_groups
    if isinstance(value, Sequence) and not isinstance(value, str):
        values = list(value)
        if len(values) != n_inner:
            raise arg_error(
                owner,
                key,
                f"has {len(values)} values but the optimizer has {n_inner} param groups; give "
                "one value per param group or a single number.",
            )
        return values + values[-1:] * (n_groups - n_inner)  # the wrapper's base-settings group
    raise arg_error(
        owner,
        key,
        f"must be a number, a list (per group) or a dict (per optimizer), got {value!r}.",
    )


def merge_signature(cls: type, base_init: Callable[..., Any]) -> None:
    """Give ``cls`` a signature listing its own arguments and the base class's keyword ones.

    Policies take ``**kwargs`` for the shared arguments; the merged signature lets config checks
    reject unknown argument names with a "did you mean" message.
    """
    own = [
        p
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    names = {p.name for p in own}
    base = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for name, p in inspect.signature(base_init).parameters.items()
        if name not in names
        and name != "self"
        and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    ]
    cls.__signature__ = inspect.Signature(own + base)  # type: ignore[attr-defined]


# -- the base scheduler ---------------------------------------------------------------------------


class MMCVPolicyScheduler(ClosedFormParamScheduler):
    """Base of the MMCV policies: subclasses define :meth:`regular` (the value before warmup).

    Args:
        optimizer: A torch optimizer or an optimizer wrapper.
        progress: ``'iter'``, ``'epoch'`` or ``'frozen'`` (see the module docstring).
        warmup: None, ``'constant'``, ``'linear'`` or ``'exp'``.
        warmup_iters: Length of the warmup in iterations (in epochs with ``warmup_by_epoch``).
        warmup_ratio: The warmup's factor at iteration 0, in (0, 1]; default 0.1 for the lr,
            0.9 for the momentum (which is divided by it).
        warmup_by_epoch: ``warmup_iters`` counts epochs (converted with ``epoch_length``).
        epoch_length: Iterations per epoch (given by the runner).
        max_iters: Iterations of the run (given by the runner).
        max_epochs: Epochs of the run (given by the runner).
        begin, end, last_step, verbose: As for every scheduler.
        by_epoch: Must stay False: the schedule is stepped after every iteration.

    Raises:
        ConfigError: An argument is out of range; the message names it.
    """

    #: The param-group key the policy schedules (``'lr'`` or ``'momentum'``).
    scheduled: ClassVar[str] = "lr"
    default_warmup_ratio: ClassVar[float] = 0.1
    #: Run lengths the builder passes when the config does not give them.
    run_length_args: ClassVar[tuple[str, ...]] = ("epoch_length", "max_iters", "max_epochs")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__ and cls.__init__ is not MMCVPolicyScheduler.__init__:
            merge_signature(cls, MMCVPolicyScheduler.__init__)

    def __init__(
        self,
        optimizer: Any,
        progress: str = "iter",
        warmup: str | None = None,
        warmup_iters: int = 0,
        warmup_ratio: float | None = None,
        warmup_by_epoch: bool = False,
        epoch_length: int | None = None,
        max_iters: int | None = None,
        max_epochs: int | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = False,
        verbose: bool = False,
    ) -> None:
        owner = type(self).__name__
        if warmup_ratio is None:
            warmup_ratio = self.default_warmup_ratio
        if progress not in PROGRESS_KINDS:
            raise arg_error(
                owner, "progress", f"must be 'iter', 'epoch' or 'frozen', got {progress!r}."
            )
        if by_epoch is not False:
            raise arg_error(
                owner,
                "by_epoch",
                f"must be False (MMCV policies are stepped after every iteration; "
                f"progress='epoch' follows the epoch), got {by_epoch!r}.",
            )
        check_bool(owner, "warmup_by_epoch", warmup_by_epoch)
        check_warmup(owner, warmup, warmup_iters, warmup_ratio)
        for key, value in (
            ("epoch_length", epoch_length),
            ("max_iters", max_iters),
            ("max_epochs", max_epochs),
        ):
            if value is not None:
                check_int(owner, key, value, 1)
        self.progress = progress
        self.warmup = warmup
        self.warmup_ratio = warmup_ratio
        self.warmup_by_epoch = warmup_by_epoch
        self.epoch_length = epoch_length
        self.max_iters = max_iters
        self.max_epochs = max_epochs
        if optimizer is CHECK_ONLY:
            raise _ArgumentsChecked
        if warmup_by_epoch and warmup is not None:
            warmup_iters = warmup_iters * self._need("epoch_length", "warmup_by_epoch=True")
        self.warmup_iters = warmup_iters
        if progress == "epoch":
            self._need("epoch_length", "progress='epoch'")
        if end == INF and max_iters is not None:
            end = max_iters  # MMCV computes no value past the run (CosineRestart would fail)
        self._attach(optimizer, self.scheduled, begin, end, last_step, by_epoch, verbose)
        self.base_values = self._bases()
        self._global_step = -1
        self.step()

    @classmethod
    def check_config(cls, args: Mapping[str, Any]) -> None:
        """Check the arguments of a config entry without an optimizer or run lengths.

        The config floor calls it while it translates ``lr_config``, so a bad argument is
        reported under the key the user wrote (inside :func:`segwright.registry.build_path`).

        Raises:
            ConfigError: An unknown, missing or out-of-range argument; the message names it.
        """
        check_arguments(cls, {"optimizer": None, **args}, cls.__name__)
        try:
            cls(CHECK_ONLY, **args)
        except _ArgumentsChecked:
            return

    def _need(self, key: str, why: str) -> int:
        value = getattr(self, key)
        if value is None:
            raise arg_error(
                type(self).__name__,
                key,
                f"is needed for {why}; the runner gives it when it builds param_scheduler.",
            )
        return value

    def _bases(self) -> list[float]:
        """The base value of every group (MMCV's ``base_lr``/``base_momentum``)."""
        return [group[f"initial_{self.scheduled}"] for group in self._groups()]

    # -- what subclasses define --------------------------------------------------------------

    def regular(self, base: float, group_index: int) -> float:
        """The scheduled value at the current progress, before warmup."""
        raise NotImplementedError

    # -- progress ----------------------------------------------------------------------------

    @property
    def cur_iter(self) -> int:
        """The iteration whose value is being computed (MMCV's ``runner.iter``)."""
        return self.last_step

    def progress_of(self) -> tuple[int, int]:
        """``(t, T)``: (epoch, max_epochs) or (iter, max_iters), as MMCV's ``by_epoch`` chose."""
        if self.progress == "iter":
            return self.last_step, self._need("max_iters", "this policy")
        epoch = 0 if self.progress == "frozen" else self.last_step // self.epoch_length
        return epoch, self._need("max_epochs", "this policy")

    # -- values ------------------------------------------------------------------------------

    def _value_at(self, base_value: float, step: int, group_index: int) -> float:
        if self.progress == "frozen":
            return base_value
        value = self.regular(base_value, group_index)
        if self.warmup is None or step >= self.warmup_iters:
            return value
        factor = warmup_factor(self.warmup, step, self.warmup_iters, self.warmup_ratio)
        return self.apply_warmup(value, factor)

    def apply_warmup(self, value: float, factor: float) -> float:
        return value * factor

    # -- checkpointing: the anneal function is derived from anneal_strategy, never saved -------

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.pop("anneal_func", None)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        super().load_state_dict(state_dict)
        if hasattr(self, "anneal_strategy"):
            self.anneal_func = ANNEAL_FUNCS[self.anneal_strategy]


class MomentumPolicyMixin:
    """Schedule ``momentum``, or ``betas[0]`` for the Adam family (no mirrored key)."""

    scheduled: ClassVar[str] = "momentum"
    default_warmup_ratio: ClassVar[float] = 0.9

    def _attach(self, optimizer: Any, param_name: str, *args: Any) -> None:
        groups = param_groups_of(optimizer)
        for index, group in enumerate(groups):
            if "momentum" not in group and "betas" not in group:
                raise ConfigError(
                    f"{type(self).__name__} schedules momentum, but param group {index} has "
                    "neither 'momentum' nor 'betas' (the optimizer has no momentum). Remove "
                    "momentum_config or use an optimizer with momentum (SGD, Adam, AdamW...)."
                )
        # The base class reads group['momentum']; Adam groups lend betas[0] for the moment.
        lent = [group for group in groups if "momentum" not in group]
        for group in lent:
            group["momentum"] = group["betas"][0]
        try:
            super()._attach(optimizer, param_name, *args)  # type: ignore[misc]
        finally:
            for group in lent:
                del group["momentum"]

    def apply_warmup(self, value: float, factor: float) -> float:
        return value / factor

    def step(self) -> None:
        """MMCV's ``_set_momentum``: write ``momentum`` and/or ``betas[0]``."""
        self._global_step += 1  # type: ignore[attr-defined]
        groups = self._groups()  # type: ignore[attr-defined]
        if self.begin <= self._global_step < self.end:  # type: ignore[attr-defined]
            self.last_step += 1  # type: ignore[attr-defined]
            for index, (group, value) in enumerate(zip(groups, self._get_value())):  # type: ignore[attr-defined]
                write_momentum(group, value)
                self._log_value(index, value)  # type: ignore[attr-defined]
        self._last_value = [read_momentum(group) for group in groups]


def read_momentum(group: Mapping[str, Any]) -> float:
    """A group's momentum: ``momentum``, or ``betas[0]`` for Adam-family optimizers."""
    if "momentum" in group:
        return group["momentum"]
    return group["betas"][0]


def write_momentum(group: dict[str, Any], value: float) -> None:
    """Set ``momentum`` and/or ``betas[0]``, whichever the group has."""
    if "momentum" in group:
        group["momentum"] = value
    if "betas" in group:
        group["betas"] = (value, group["betas"][1])


__all__ = ["MMCVPolicyScheduler", "MomentumPolicyMixin"]
