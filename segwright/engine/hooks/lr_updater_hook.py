"""MMCV 0.x learning-rate policies (``lr_config``) as hooks that set the lr before each iteration.

SPEC §5.1. Each policy is a closed form of the progress ``t`` (``runner.iter``, or
``runner.epoch`` with ``by_epoch=True``) and of each param group's base lr ``initial_lr``
(set once in ``before_run``, so paramwise lr multipliers survive). A warmup multiplies the
*scheduled* lr during the first ``warmup_iters`` iterations; it does not delay the schedule.

Timing follows MMCV's runners: with ``by_epoch=False`` the lr is recomputed in every
``before_train_iter``; with ``by_epoch=True`` it is computed in ``before_train_epoch`` and only
the warmup touches it per iteration. MMCV's ``IterBasedRunner`` never calls
``before_train_epoch``, and its ``register_training_hooks`` makes ``by_epoch=False`` the default
of ``lr_config``; :func:`segwright.engine.hooks.legacy_schedules.lr_config_to_hook` takes
``iter_based=True`` to do the same. Our ``IterBasedTrainLoop`` calls ``before_train_epoch``
once, at epoch 0, so a ``by_epoch=True`` policy there holds its epoch-0 value (the base lr, as
MMCV's frozen lr) for the whole run.

The hooks act on every group of ``runner.optim_wrapper.param_groups`` (which includes the
wrapper's base-settings group when there are several groups, so a logged ``base_lr`` follows
the schedule too). Method names (``get_lr``, ``get_regular_lr``, ``get_warmup_lr``) and
attributes (``base_lr``, ``regular_lr``) are MMCV's, so 0.x custom policies port unchanged.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from segwright.engine.hooks.hook import Hook
from segwright.registry import HOOKS, current_build_path
from segwright.utils.errors import ConfigError

WARMUP_KINDS = ("constant", "linear", "exp")


# -- small shared helpers (also used by the momentum hooks) ------------------------------------


def anneal_cos(start: float, end: float, factor: float, weight: float = 1.0) -> float:
    """Cosine from ``start`` (factor 0) to ``end`` (factor 1); ``weight`` scales the amplitude."""
    return end + 0.5 * weight * (start - end) * (math.cos(math.pi * factor) + 1)


def anneal_linear(start: float, end: float, factor: float) -> float:
    """Straight line from ``start`` (factor 0) to ``end`` (factor 1)."""
    return start + (end - start) * factor


ANNEAL_FUNCS: dict[str, Callable[..., float]] = {"cos": anneal_cos, "linear": anneal_linear}


def is_number(value: Any) -> bool:
    """True for real numbers other than bools."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def option_error(owner: str, key: str, message: str) -> ConfigError:
    """A :class:`ConfigError` naming the argument and, inside a build, its config key path."""
    path = current_build_path()
    where = f"Config key '{path}.{key}' ({owner})" if path else f"{owner} argument '{key}'"
    return ConfigError(f"{where}: {message}")


def check_bool(owner: str, key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise option_error(owner, key, f"must be True or False, got {value!r}.")


def check_number(owner: str, key: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not is_number(value):
        raise option_error(owner, key, f"must be a number, got {value!r}.")


def check_warmup(owner: str, warmup: Any, warmup_iters: Any, warmup_ratio: Any) -> None:
    """MMCV's warmup checks: a known kind, ``warmup_iters > 0`` and ``0 < warmup_ratio <= 1``."""
    if warmup is not None and warmup not in WARMUP_KINDS:
        raise option_error(
            owner,
            "warmup",
            f"must be None, 'constant', 'linear' or 'exp', got {warmup!r}.",
        )
    if isinstance(warmup_iters, bool) or not isinstance(warmup_iters, int):
        raise option_error(
            owner, "warmup_iters", f"must be a whole number (an int), got {warmup_iters!r}."
        )
    if warmup is None:
        return
    if warmup_iters <= 0:
        raise option_error(
            owner,
            "warmup_iters",
            f"must be positive when warmup={warmup!r} is set, got {warmup_iters}. "
            "Set warmup=None for no warmup.",
        )
    if not is_number(warmup_ratio) or not 0 < warmup_ratio <= 1:
        raise option_error(owner, "warmup_ratio", f"must be in (0, 1], got {warmup_ratio!r}.")


def warmup_factor(kind: str, cur_iter: int, warmup_iters: int, ratio: float) -> float:
    """The factor a warmup applies at ``cur_iter`` (lr × factor; momentum ÷ factor)."""
    if kind == "constant":
        return ratio
    if kind == "linear":
        return 1 - (1 - cur_iter / warmup_iters) * (1 - ratio)
    return ratio ** (1 - cur_iter / warmup_iters)


def check_anneal(owner: str, anneal_strategy: Any) -> Callable[..., float]:
    if anneal_strategy not in ANNEAL_FUNCS:
        raise option_error(
            owner, "anneal_strategy", f"must be 'cos' or 'linear', got {anneal_strategy!r}."
        )
    return ANNEAL_FUNCS[anneal_strategy]


def check_steps(owner: str, key: str, step: Any) -> None:
    """``step``: a positive int, or a list of positive ints (milestones)."""
    if isinstance(step, Sequence) and not isinstance(step, str):
        if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in step):
            raise option_error(owner, key, f"must contain positive ints, got {list(step)!r}.")
        return
    if isinstance(step, bool) or not isinstance(step, int) or step <= 0:
        raise option_error(
            owner, key, f"must be a positive int or a list of positive ints, got {step!r}."
        )


def step_exponent(progress: int, step: int | Sequence[int]) -> int:
    """How many times a step policy has decayed at ``progress``."""
    if isinstance(step, int):
        return progress // step
    for index, milestone in enumerate(step):
        if progress < milestone:
            return index
    return len(step)


def check_min_or_ratio(owner: str, key: str, minimum: Any, ratio: Any) -> None:
    """Exactly one of an absolute minimum and a ratio of the base value must be given."""
    if (minimum is None) == (ratio is None):
        raise option_error(
            owner,
            key,
            f"give exactly one of {key} (an absolute value) and {key}_ratio (a fraction of the "
            f"base value), got {key}={minimum!r}, {key}_ratio={ratio!r}.",
        )
    check_number(owner, key, minimum, allow_none=True)
    check_number(owner, f"{key}_ratio", ratio, allow_none=True)


def parse_target_ratio(owner: str, target_ratio: Any) -> tuple[float, float]:
    """Cyclic ``target_ratio``: a number ``r`` -> ``(r, r/1e5)``, or a 1- or 2-tuple; no lists."""
    if is_number(target_ratio):
        return (target_ratio, target_ratio / 1e5)
    if isinstance(target_ratio, tuple) and all(is_number(r) for r in target_ratio):
        if len(target_ratio) == 1:
            return (target_ratio[0], target_ratio[0] / 1e5)
        if len(target_ratio) == 2:
            return (target_ratio[0], target_ratio[1])
    raise option_error(
        owner,
        "target_ratio",
        f"must be a number or a tuple of one or two numbers, got {type(target_ratio).__name__} "
        f"{target_ratio!r}. As in MMCV a list is not accepted; write a tuple, e.g. (10, 1e-4).",
    )


def check_cyclic(
    owner: str, by_epoch: Any, cyclic_times: Any, step_ratio_up: Any, gamma: Any
) -> None:
    if by_epoch is not False:
        raise option_error(
            owner,
            "by_epoch",
            f"must be False (cyclic schedules run per iteration), got {by_epoch!r}.",
        )
    if isinstance(cyclic_times, bool) or not isinstance(cyclic_times, int) or cyclic_times < 1:
        raise option_error(owner, "cyclic_times", f"must be a positive int, got {cyclic_times!r}.")
    if not is_number(step_ratio_up) or not 0 <= step_ratio_up < 1:
        raise option_error(owner, "step_ratio_up", f"must be in [0, 1), got {step_ratio_up!r}.")
    if not is_number(gamma) or not 0 < gamma <= 1:
        raise option_error(owner, "gamma", f"must be in (0, 1], got {gamma!r}.")


def check_pct(owner: str, key: str, value: Any) -> None:
    """MMCV wants a float in [0, 1] (``pct_start``, ``start_percent``)."""
    if not isinstance(value, float) or not 0 <= value <= 1:
        raise option_error(owner, key, f"must be a float between 0 and 1, got {value!r}.")


def cyclic_phases(
    owner: str, max_iters: int, cyclic_times: int, step_ratio_up: float, ratios: tuple
) -> tuple[int, list[tuple[int, int, float, float]]]:
    """Iterations per cycle and the (start, end, start_ratio, end_ratio) of its up/down phases."""
    per_cycle = max_iters // cyclic_times
    if per_cycle <= 0:
        raise option_error(
            owner,
            "cyclic_times",
            f"is {cyclic_times}, more than the run's {max_iters} iterations; each cycle needs "
            "at least one iteration.",
        )
    up = int(step_ratio_up * per_cycle)
    return per_cycle, [(0, up, 1, ratios[0]), (up, per_cycle, ratios[0], ratios[1])]


def cyclic_value(
    base: float,
    cur_iter: int,
    per_cycle: int,
    phases: list[tuple[int, int, float, float]],
    gamma: float,
    anneal: Callable[..., float],
) -> float:
    """The cyclic schedule at ``cur_iter``; ``gamma`` shrinks each later cycle's amplitude."""
    within = cur_iter % per_cycle
    scale = gamma ** (cur_iter // per_cycle)
    for start, end, start_ratio, end_ratio in phases:
        if start <= within < end:
            if start == 0:
                end_ratio = 1 - scale + end_ratio * scale
            else:
                start_ratio = 1 - scale + start_ratio * scale
            return anneal(base * start_ratio, base * end_ratio, (within - start) / (end - start))
    raise AssertionError("unreachable: the phases cover every iteration of a cycle")


def param_groups(runner: Any) -> list[dict[str, Any]]:
    """The groups a schedule writes: the wrapper's (with its base-settings group)."""
    holder = getattr(runner, "optim_wrapper", None) or getattr(runner, "optimizer", None)
    groups = getattr(holder, "param_groups", None)
    if groups is None:
        raise ConfigError(
            "An lr/momentum updater hook needs runner.optim_wrapper with param groups; it runs "
            "only during training."
        )
    return groups


def torch_optimizer(runner: Any) -> Any:
    holder = getattr(runner, "optim_wrapper", None) or getattr(runner, "optimizer", None)
    return getattr(holder, "optimizer", holder)


def per_group(owner: str, key: str, value: Any, runner: Any) -> list[Any]:
    """One value per param group from a number, a per-group list, or ``{optimizer name: ...}``."""
    n_groups = len(param_groups(runner))
    optimizer = torch_optimizer(runner)
    n_inner = len(optimizer.param_groups)
    if isinstance(value, Mapping):
        name = type(optimizer).__name__
        if name not in value:
            raise option_error(
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
            raise option_error(
                owner,
                key,
                f"has {len(values)} values but the optimizer has {n_inner} param groups; give "
                "one value per param group or a single number.",
            )
        return values + values[-1:] * (n_groups - n_inner)  # the wrapper's base-settings group
    raise option_error(
        owner,
        key,
        f"must be a number, a list (per group) or a dict (per optimizer), got {value!r}.",
    )


def train_dataloader_length(runner: Any) -> int:
    """Iterations per epoch (``len(train dataloader)``), for ``warmup_by_epoch``."""
    loader = getattr(getattr(runner, "train_loop", None), "dataloader", None)
    if loader is None:
        loader = getattr(runner, "data_loader", None)
    if loader is None:
        raise ConfigError(
            "warmup_by_epoch=True needs the train dataloader to know the epoch length."
        )
    return len(loader)


def merge_signature(cls: type, base_init: Callable[..., Any]) -> None:
    """Give ``cls`` a signature listing its own arguments and the base class's keyword ones.

    Subclasses take ``**kwargs`` for the base arguments (as in MMCV); the merged signature lets
    config checks reject unknown argument names with a "did you mean" message.
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
        if name != "self" and name not in names and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    cls.__signature__ = inspect.Signature(own + base)  # type: ignore[attr-defined]


def progress_of(runner: Any, by_epoch: bool) -> tuple[int, int]:
    """``(t, T)``: (epoch, max_epochs) or (iter, max_iters)."""
    if by_epoch:
        return runner.epoch, runner.max_epochs
    return runner.iter, runner.max_iters


# -- the base hook -----------------------------------------------------------------------------


class LrUpdaterHook(Hook):
    """Base of the MMCV lr policies: subclasses define :meth:`get_lr`.

    Args:
        by_epoch: Compute the schedule from the epoch (at each epoch start) instead of the
            iteration (before every iteration).
        warmup: None, ``'constant'``, ``'linear'`` or ``'exp'``.
        warmup_iters: Length of the warmup in iterations (in epochs with ``warmup_by_epoch``).
        warmup_ratio: The warmup's starting factor, in (0, 1].
        warmup_by_epoch: ``warmup_iters`` counts epochs (converted with the epoch length).

    Raises:
        ConfigError: An argument is out of range; the message names it.
    """

    priority = "VERY_HIGH"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            merge_signature(cls, LrUpdaterHook.__init__)

    def __init__(
        self,
        by_epoch: bool = True,
        warmup: str | None = None,
        warmup_iters: int = 0,
        warmup_ratio: float = 0.1,
        warmup_by_epoch: bool = False,
    ) -> None:
        owner = type(self).__name__
        check_bool(owner, "by_epoch", by_epoch)
        check_bool(owner, "warmup_by_epoch", warmup_by_epoch)
        check_warmup(owner, warmup, warmup_iters, warmup_ratio)
        self.by_epoch = by_epoch
        self.warmup = warmup
        self.warmup_ratio = warmup_ratio
        self.warmup_by_epoch = warmup_by_epoch
        # With warmup_by_epoch the iteration count is known only once the data loader is.
        self.warmup_epochs: int | None = warmup_iters if warmup_by_epoch else None
        self.warmup_iters: int | None = None if warmup_by_epoch else warmup_iters
        self.base_lr: list[float] = []
        self.regular_lr: list[float] = []

    # -- what subclasses define ------------------------------------------------------------

    def get_lr(self, runner: Any, base_lr: float) -> float:
        """The scheduled lr of a group whose base lr is ``base_lr``."""
        raise NotImplementedError

    # -- schedule arithmetic ---------------------------------------------------------------

    def get_regular_lr(self, runner: Any) -> list[float]:
        """The scheduled lr of every group, without warmup."""
        return [self.get_lr(runner, base) for base in self.base_lr]

    def get_warmup_lr(self, cur_iters: int) -> list[float]:
        """The regular lrs multiplied by the warmup factor at iteration ``cur_iters``."""
        factor = warmup_factor(self.warmup, cur_iters, self.warmup_iters, self.warmup_ratio)
        return [lr * factor for lr in self.regular_lr]

    def _set_lr(self, runner: Any, lrs: list[float]) -> None:
        for group, lr in zip(param_groups(runner), lrs):
            group["lr"] = lr

    # -- hook stages -----------------------------------------------------------------------

    def before_run(self, runner: Any) -> None:
        groups = param_groups(runner)
        for group in groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lr = [group["initial_lr"] for group in groups]

    def before_train_epoch(self, runner: Any) -> None:
        if self.warmup_iters is None:
            self.warmup_iters = self.warmup_epochs * train_dataloader_length(runner)
        if not self.by_epoch:
            return
        self.regular_lr = self.get_regular_lr(runner)
        self._set_lr(runner, self.regular_lr)

    def before_train_iter(self, runner: Any, batch_idx: int = 0, data_batch: Any = None) -> None:
        cur_iter = runner.iter
        if self.warmup_iters is None:
            raise ConfigError(
                f"{type(self).__name__}: warmup_by_epoch=True needs before_train_epoch to run "
                "first (it converts the warmup epochs to iterations)."
            )
        if not self.by_epoch:
            self.regular_lr = self.get_regular_lr(runner)
            if self.warmup is None or cur_iter >= self.warmup_iters:
                self._set_lr(runner, self.regular_lr)
            else:
                self._set_lr(runner, self.get_warmup_lr(cur_iter))
        elif self.warmup is not None and cur_iter <= self.warmup_iters:
            if cur_iter == self.warmup_iters:
                self._set_lr(runner, self.regular_lr)
            else:
                self._set_lr(runner, self.get_warmup_lr(cur_iter))


# -- policies ----------------------------------------------------------------------------------


@HOOKS.register_module()
class FixedLrUpdaterHook(LrUpdaterHook):
    """``lr = base`` (only the warmup changes it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        return base_lr


@HOOKS.register_module()
class StepLrUpdaterHook(LrUpdaterHook):
    """``lr = base·gamma^k`` (``k = t // step``, or milestones passed), floored at ``min_lr``."""

    def __init__(
        self,
        step: int | Sequence[int],
        gamma: float = 0.1,
        min_lr: float | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_steps(owner, "step", step)
        check_number(owner, "gamma", gamma)
        check_number(owner, "min_lr", min_lr, allow_none=True)
        self.step = step if isinstance(step, int) else list(step)
        self.gamma = gamma
        self.min_lr = min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, _ = progress_of(runner, self.by_epoch)
        lr = base_lr * self.gamma ** step_exponent(progress, self.step)
        if self.min_lr is not None:
            lr = max(lr, self.min_lr)
        return lr


@HOOKS.register_module()
class ExpLrUpdaterHook(LrUpdaterHook):
    """``lr = base·gamma^t``."""

    def __init__(self, gamma: float, **kwargs: Any) -> None:
        check_number(type(self).__name__, "gamma", gamma)
        self.gamma = gamma
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, _ = progress_of(runner, self.by_epoch)
        return base_lr * self.gamma**progress


@HOOKS.register_module()
class PolyLrUpdaterHook(LrUpdaterHook):
    """``lr = (base − min_lr)·(1 − t/T)^power + min_lr``; ``T`` = max_iters: never min_lr."""

    def __init__(self, power: float = 1.0, min_lr: float = 0.0, **kwargs: Any) -> None:
        owner = type(self).__name__
        check_number(owner, "power", power)
        check_number(owner, "min_lr", min_lr)
        self.power = power
        self.min_lr = min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, max_progress = progress_of(runner, self.by_epoch)
        coeff = (1 - progress / max_progress) ** self.power
        return (base_lr - self.min_lr) * coeff + self.min_lr


@HOOKS.register_module()
class InvLrUpdaterHook(LrUpdaterHook):
    """``lr = base·(1 + gamma·t)^(−power)``."""

    def __init__(self, gamma: float, power: float = 1.0, **kwargs: Any) -> None:
        owner = type(self).__name__
        check_number(owner, "gamma", gamma)
        check_number(owner, "power", power)
        self.gamma = gamma
        self.power = power
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, _ = progress_of(runner, self.by_epoch)
        return base_lr * (1 + self.gamma * progress) ** (-self.power)


class _TargetLrMixin:
    """The annealing target: ``min_lr``, or ``base·min_lr_ratio``."""

    min_lr: float | None
    min_lr_ratio: float | None

    def _target(self, base_lr: float) -> float:
        if self.min_lr_ratio is not None:
            return base_lr * self.min_lr_ratio
        return self.min_lr  # type: ignore[return-value]


@HOOKS.register_module()
class CosineAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """Cosine from the base lr (t = 0) towards the target (t = T)."""

    def __init__(
        self, min_lr: float | None = None, min_lr_ratio: float | None = None, **kwargs: Any
    ) -> None:
        check_min_or_ratio(type(self).__name__, "min_lr", min_lr, min_lr_ratio)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, max_progress = progress_of(runner, self.by_epoch)
        return anneal_cos(base_lr, self._target(base_lr), progress / max_progress)


@HOOKS.register_module()
class FlatCosineAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """The base lr until ``s = round(T·start_percent)``, then cosine to the target at ``T``."""

    def __init__(
        self,
        start_percent: float = 0.75,
        min_lr: float | None = None,
        min_lr_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_min_or_ratio(owner, "min_lr", min_lr, min_lr_ratio)
        check_pct(owner, "start_percent", start_percent)
        self.start_percent = start_percent
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, max_progress = progress_of(runner, self.by_epoch)
        start = round(max_progress * self.start_percent)
        if progress < start:
            return base_lr
        return anneal_cos(
            base_lr, self._target(base_lr), (progress - start) / (max_progress - start)
        )


@HOOKS.register_module()
class CosineRestartLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """Cosine annealing restarted after each of ``periods``, amplitude ``restart_weights[i]``."""

    def __init__(
        self,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1,),
        min_lr: float | None = None,
        min_lr_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_min_or_ratio(owner, "min_lr", min_lr, min_lr_ratio)
        if isinstance(periods, (str, bytes)) or not isinstance(periods, Sequence) or not periods:
            raise option_error(owner, "periods", f"must be a list of ints, got {periods!r}.")
        check_steps(owner, "periods", list(periods))
        if not isinstance(restart_weights, Sequence) or not all(
            is_number(w) for w in restart_weights
        ):
            raise option_error(
                owner, "restart_weights", f"must be a list of numbers, got {restart_weights!r}."
            )
        if len(periods) != len(restart_weights):
            raise option_error(
                owner,
                "restart_weights",
                f"has {len(restart_weights)} values for {len(periods)} periods; give one "
                "weight per period.",
            )
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        self.cumulative_periods = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]
        super().__init__(**kwargs)

    def before_run(self, runner: Any) -> None:
        super().before_run(runner)
        _, max_progress = progress_of(runner, self.by_epoch)
        if self.cumulative_periods[-1] < max_progress:
            unit = "epochs" if self.by_epoch else "iterations"
            raise option_error(
                type(self).__name__,
                "periods",
                f"cover {self.cumulative_periods[-1]} {unit}, fewer than the run's "
                f"{max_progress}; MMCV fails once training passes the last period. Make the "
                "periods add up to at least the run length.",
            )

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, _ = progress_of(runner, self.by_epoch)
        index = _period_index(progress, self.cumulative_periods)
        start = 0 if index == 0 else self.cumulative_periods[index - 1]
        alpha = min((progress - start) / self.periods[index], 1)
        return anneal_cos(base_lr, self._target(base_lr), alpha, self.restart_weights[index])


def _period_index(progress: int, cumulative_periods: Sequence[int]) -> int:
    for index, end in enumerate(cumulative_periods):
        if progress < end:
            return index
    raise ConfigError(
        f"Progress {progress} is beyond the cosine-restart periods (cumulative "
        f"{list(cumulative_periods)}). Make the periods add up to at least the run length."
    )


@HOOKS.register_module()
class LinearAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """Straight line from the base lr (t = 0) towards the target (t = T)."""

    def __init__(
        self, min_lr: float | None = None, min_lr_ratio: float | None = None, **kwargs: Any
    ) -> None:
        check_min_or_ratio(type(self).__name__, "min_lr", min_lr, min_lr_ratio)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, max_progress = progress_of(runner, self.by_epoch)
        return anneal_linear(base_lr, self._target(base_lr), progress / max_progress)


@HOOKS.register_module()
class CyclicLrUpdaterHook(LrUpdaterHook):
    """Cycles of lr up to ``base·target_ratio[0]``, then down to ``base·target_ratio[1]``.

    Each of ``cyclic_times`` cycles spends ``step_ratio_up`` of its iterations going up; the
    peak of cycle ``k`` is pulled towards the base by ``gamma^k``.
    """

    def __init__(
        self,
        by_epoch: bool = False,
        target_ratio: float | tuple[float, ...] = (10, 1e-4),
        cyclic_times: int = 1,
        step_ratio_up: float = 0.4,
        anneal_strategy: str = "cos",
        gamma: float = 1,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        self.target_ratio = parse_target_ratio(owner, target_ratio)
        check_cyclic(owner, by_epoch, cyclic_times, step_ratio_up, gamma)
        self.anneal_func = check_anneal(owner, anneal_strategy)
        self.cyclic_times = cyclic_times
        self.step_ratio_up = step_ratio_up
        self.gamma = gamma
        self.max_iter_per_phase: int | None = None
        self.lr_phases: list[tuple[int, int, float, float]] = []
        super().__init__(by_epoch=by_epoch, **kwargs)

    def before_run(self, runner: Any) -> None:
        super().before_run(runner)
        self.max_iter_per_phase, self.lr_phases = cyclic_phases(
            type(self).__name__,
            runner.max_iters,
            self.cyclic_times,
            self.step_ratio_up,
            self.target_ratio,
        )

    def get_lr(self, runner: Any, base_lr: float) -> float:
        return cyclic_value(
            base_lr,
            runner.iter,
            self.max_iter_per_phase,
            self.lr_phases,
            self.gamma,
            self.anneal_func,
        )


@HOOKS.register_module()
class OneCycleLrUpdaterHook(LrUpdaterHook):
    """1cycle: from ``max_lr/div_factor`` up to ``max_lr``, then down to ``/final_div_factor``.

    The base lr of every group becomes ``max_lr/div_factor`` (also written into
    ``initial_lr`` when the group has none). Phases end at ``pct_start·N − 1`` and ``N − 1``
    (three-phase: ``pct_start·N − 1``, ``2·pct_start·N − 2``, ``N − 1``), where ``N`` is
    ``total_steps`` or max_iters.
    """

    def __init__(
        self,
        max_lr: float | Sequence[float] | Mapping[str, Any],
        total_steps: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        kwargs.setdefault("by_epoch", False)
        if kwargs["by_epoch"] is not False:
            raise option_error(
                owner,
                "by_epoch",
                f"must be False (1cycle runs per iteration), got {kwargs['by_epoch']!r}.",
            )
        if not (is_number(max_lr) or isinstance(max_lr, (list, tuple, Mapping))):
            raise option_error(
                owner,
                "max_lr",
                f"must be a number, a list (per group) or a dict (per optimizer), got {max_lr!r}.",
            )
        if total_steps is not None and (
            isinstance(total_steps, bool) or not isinstance(total_steps, int)
        ):
            raise option_error(owner, "total_steps", f"must be an int, got {total_steps!r}.")
        check_pct(owner, "pct_start", pct_start)
        self.anneal_func = check_anneal(owner, anneal_strategy)
        check_number(owner, "div_factor", div_factor)
        check_number(owner, "final_div_factor", final_div_factor)
        check_bool(owner, "three_phase", three_phase)
        self._max_lr = max_lr
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        self.lr_phases: list[tuple[float, float, float]] = []
        super().__init__(**kwargs)

    def before_run(self, runner: Any) -> None:
        owner = type(self).__name__
        total = self.total_steps if self.total_steps is not None else runner.max_iters
        if total < runner.max_iters:
            raise option_error(
                owner,
                "total_steps",
                f"is {total}, fewer than the run's {runner.max_iters} iterations; it must be at "
                "least max_iters.",
            )
        max_lrs = per_group(owner, "max_lr", self._max_lr, runner)
        self.base_lr = [lr / self.div_factor for lr in max_lrs]
        for group, lr in zip(param_groups(runner), self.base_lr):
            group.setdefault("initial_lr", lr)
        pct = self.pct_start
        if self.three_phase:
            self.lr_phases = [
                (float(pct * total) - 1, 1, self.div_factor),
                (float(2 * pct * total) - 2, self.div_factor, 1),
                (total - 1, 1, 1 / self.final_div_factor),
            ]
        else:
            self.lr_phases = [
                (float(pct * total) - 1, 1, self.div_factor),
                (total - 1, self.div_factor, 1 / self.final_div_factor),
            ]

    def get_lr(self, runner: Any, base_lr: float) -> float:
        cur_iter = runner.iter
        start = 0.0
        for end, start_mult, end_mult in self.lr_phases:
            if cur_iter <= end:
                pct = (cur_iter - start) / (end - start)
                return self.anneal_func(base_lr * start_mult, base_lr * end_mult, pct)
            start = end
        raise ConfigError(
            f"{type(self).__name__}: iteration {cur_iter} is past total_steps; "
            "total_steps must be at least max_iters."
        )


__all__ = [
    "CosineAnnealingLrUpdaterHook",
    "CosineRestartLrUpdaterHook",
    "CyclicLrUpdaterHook",
    "ExpLrUpdaterHook",
    "FixedLrUpdaterHook",
    "FlatCosineAnnealingLrUpdaterHook",
    "InvLrUpdaterHook",
    "LinearAnnealingLrUpdaterHook",
    "LrUpdaterHook",
    "OneCycleLrUpdaterHook",
    "PolyLrUpdaterHook",
    "StepLrUpdaterHook",
    "anneal_cos",
    "anneal_linear",
]
