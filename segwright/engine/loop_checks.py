"""Checks of a train loop's settings and data, made when the loop is built (before iteration 0).

Kept apart from ``loops.py`` so the loop core stays short: the train loops call
:func:`check_train_loop` once from their constructor and :func:`val_interval_at` when deciding
whether to validate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segwright.engine.data import InfiniteSampler, index_sampler
from segwright.utils.errors import ConfigError


def check_interval(name: str, value: Any, loop: str) -> int:
    """A positive whole number (``val_interval``, a dynamic interval)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ConfigError(f"train_cfg.{name} of {loop} must be a whole number, got {value!r}.")
    if value <= 0:
        raise ConfigError(
            f"train_cfg.{name} of {loop} must be at least 1, got {value}. To validate rarely, "
            "use a large interval; to never validate, remove val_dataloader, val_cfg and "
            "val_evaluator."
        )
    return int(value)


def check_dynamic_intervals(value: Any, loop: str) -> list[tuple[int, int]]:
    """``[(milestone, interval), ...]`` sorted, as MMEngine reads ``dynamic_intervals``.

    From each milestone on (an iteration or epoch count), validation runs every ``interval``.
    """
    if value is None:
        return []
    where = f"train_cfg.dynamic_intervals of {loop}"
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError(
            f"{where} must be a list of (milestone, interval) pairs, got {value!r}; e.g. "
            "dynamic_intervals=[(2000, 100)] validates every 100 from 2000 on."
        )
    pairs = []
    for index, item in enumerate(value):
        if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 2:
            raise ConfigError(
                f"{where}[{index}] must be a (milestone, interval) pair, got {item!r}."
            )
        milestone = item[0]
        if isinstance(milestone, bool) or not isinstance(milestone, int) or milestone < 0:
            raise ConfigError(
                f"{where}[{index}]: the milestone must be a whole number >= 0, got {milestone!r}."
            )
        pairs.append((milestone, check_interval(f"dynamic_intervals[{index}]", item[1], loop)))
    return sorted(pairs)


def val_interval_at(progress: int, val_interval: int, dynamic: list[tuple[int, int]]) -> int:
    """The validation interval in force after ``progress`` iterations (or epochs)."""
    interval = val_interval
    for milestone, value in dynamic:
        if progress >= milestone:
            interval = value
    return interval


def sampler_is_endless(sampler: Any) -> bool:
    """Whether ``sampler`` never ends a pass over the data (it only stops when the loop does).

    A sampler tells with a boolean ``infinite`` attribute, so one of the user's own (written for
    MMEngine, say) can set ``infinite = True``; without it, :class:`InfiniteSampler` and its
    subclasses are endless and every other sampler ends each pass.
    """
    flag = getattr(sampler, "infinite", None)
    if isinstance(flag, bool):
        return flag
    return isinstance(sampler, InfiniteSampler)


def check_train_loop(loop: Any) -> None:
    """The loop's data gives it something to train on, in a way it can finish.

    Raises:
        ConfigError: An epoch loop with an endless sampler, or a loader with no batch.
    """
    name = type(loop).__name__
    loader = loop.dataloader
    sampler = index_sampler(loader)
    if loop.by_epoch and sampler_is_endless(sampler):
        raise ConfigError(
            f"train_dataloader.sampler ({type(sampler).__name__}) is endless, like "
            f"InfiniteSampler, so it never ends an epoch, but "
            f"train_cfg is an {name}. Use sampler=dict(type='DefaultSampler', shuffle=True) "
            "for epoch-based training, or type='IterBasedTrainLoop' with max_iters."
        )
    for name in ("max_iters", "max_epochs"):
        if getattr(loop, name, None) == 0 and (name == "max_epochs") == loop.by_epoch:
            raise ConfigError(
                f"train_cfg.{name}=0: training would stop before its first iteration. Set "
                f"train_cfg.{name} to at least 1."
            )
    try:
        num_batches = len(loader)
    except TypeError:  # an iterable dataset without a length
        return
    if num_batches == 0:
        dataset = getattr(loader, "dataset", None)
        size = len(dataset) if hasattr(dataset, "__len__") else "?"
        batch_size = getattr(loader, "batch_size", None) or getattr(
            getattr(loader, "batch_sampler", None), "batch_size", "?"
        )
        if size == 0:
            raise ConfigError(
                "train_dataloader.dataset has no samples (after its indices/ann_file/filter "
                "settings), so training would run 0 iterations. Check train_dataloader.dataset."
            )
        raise ConfigError(
            f"train_dataloader gives no batch: batch_size={batch_size} with drop_last=True on a "
            f"dataset of {size} samples, so training would run 0 iterations. Lower "
            "train_dataloader.batch_size, set drop_last=False, or add data."
        )
