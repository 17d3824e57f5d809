"""Checks and closed-form helpers shared by the lr and momentum updater hooks (SPEC §5.1, §5.2).

Option validation with messages naming the hook, warmup factors, annealing curves, cyclic
phases and the runner look-ups (param groups, progress, dataloader length).
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from segwright.registry import current_build_path
from segwright.utils.errors import ConfigError

WARMUP_KINDS = ("constant", "linear", "exp")


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
