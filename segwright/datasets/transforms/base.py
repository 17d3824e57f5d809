"""The transform base class and small argument validators shared by the built-in transforms.

A transform is a callable ``results -> results | None`` on a plain dict (MMCV 2.x's contract):
``None`` asks the dataset to fetch another sample instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segwright.utils.errors import ConfigError


class BaseTransform:
    """Subclasses implement :meth:`transform`; calling the object runs it.

    Custom transforms written for MMCV (``from mmcv.transforms import BaseTransform``) port by
    importing this class instead.
    """

    def __call__(self, results: dict[str, Any]) -> dict[str, Any] | None:
        return self.transform(results)

    def transform(self, results: dict[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError(f"{type(self).__name__} must implement transform(results).")

    def __repr__(self) -> str:
        args = ", ".join(
            f"{key}={value!r}" for key, value in vars(self).items() if not key.startswith("_")
        )
        return f"{type(self).__name__}({args})"


def int_pair(value: Any, name: str, owner: str, positive: bool = True) -> tuple[int, int]:
    """``5 -> (5, 5)``; ``(h, w)`` stays; anything else is a :class:`ConfigError`."""
    if isinstance(value, bool):
        raise ConfigError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}.")
    if isinstance(value, int):
        pair = (value, value)
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{owner}: {name} must hold ints, got {value!r}.")
        pair = (int(value[0]), int(value[1]))
    else:
        raise ConfigError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}.")
    if positive and min(pair) <= 0:
        raise ConfigError(f"{owner}: {name} must be positive, got {value!r}.")
    return pair


def float_range(value: Any, name: str, owner: str) -> tuple[float, float]:
    """A ``(low, high)`` pair of numbers with ``low <= high``."""
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 2
        or not all(isinstance(v, (int, float)) for v in value)
    ):
        raise ConfigError(f"{owner}: {name} must be a pair (low, high) of numbers, got {value!r}.")
    low, high = float(value[0]), float(value[1])
    if low > high:
        raise ConfigError(f"{owner}: {name} must have low <= high, got {value!r}.")
    return low, high


def check_choice(value: Any, name: str, owner: str, choices: Sequence[Any]) -> Any:
    """Raise a :class:`ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(
            f"{owner}: {name}={value!r} is not supported; use one of "
            f"{', '.join(repr(c) for c in choices)}."
        )
    return value


def check_backend_args(backend_args: Any, owner: str) -> None:
    """Only local files are read; a remote ``backend_args`` is a :class:`ConfigError`."""
    if backend_args is None:
        return
    if not isinstance(backend_args, dict):
        raise ConfigError(f"{owner}: backend_args must be a dict or None, got {backend_args!r}.")
    backend = backend_args.get("backend", "local")
    if backend not in ("local", "disk"):
        raise ConfigError(
            f"{owner}: backend_args={backend_args!r} asks for the {backend!r} file backend; "
            "segwright reads local files only. Copy or mount the data locally and set "
            "backend_args=None."
        )
