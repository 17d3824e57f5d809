"""Checks of the obvious values of ``default_hooks``/``custom_hooks`` entries, at load time.

The hooks check their arguments too, but only once the Runner builds them; a typo such as
``interval=0`` or ``rule='greter'`` is cheaper to report while the config loads, with the file
and line that set it. One table row per argument name: the rule applies to every hook that
takes that argument (CheckpointHook, LoggerHook, a user's hook with ``interval``...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from segwright.utils.errors import ConfigError

#: MMEngine's priority names (``segwright.engine.priority.Priority``; this floor cannot import it).
PRIORITY_NAMES = ("HIGHEST", "VERY_HIGH", "HIGH", "ABOVE_NORMAL", "NORMAL", "BELOW_NORMAL",
                  "LOW", "VERY_LOW", "LOWEST")  # fmt: skip
RULES = ("greater", "less")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _interval(value: Any, hook: Mapping[str, Any]) -> bool:
    # CheckpointHook's interval=-1 means "only at the end" (with save_last).
    never = str(hook.get("type", "")).endswith("CheckpointHook") and value == -1
    return _whole(value) and (value >= 1 or never)


def _names(value: Any, allowed: tuple[str, ...] | None = None) -> bool:
    items = value if isinstance(value, (list, tuple)) else [value]
    return bool(items) and all(
        isinstance(v, str) and v and (allowed is None or v in allowed) for v in items
    )


def _priority(value: Any, hook: Mapping[str, Any]) -> bool:
    if _whole(value):
        return 0 <= value <= 100
    return isinstance(value, str) and value.upper() in PRIORITY_NAMES


#: argument -> (is the value fine, what is expected). None is always fine (the hook's default).
RULES_BY_ARGUMENT: dict[str, tuple[Callable[[Any, Mapping[str, Any]], bool], str]] = {
    "interval": (_interval, "a whole number >= 1 (CheckpointHook also takes -1: only the last)"),
    "max_keep_ckpts": (
        lambda v, _: _whole(v) and (v >= 1 or v == -1),
        "a whole number >= 1, or -1 to keep all",
    ),
    "save_best": (
        lambda v, _: _names(v),
        "a metric name such as 'mIoU', a list of names, 'auto' (the first metric) or None",
    ),
    "rule": (lambda v, _: _names(v, RULES), "'greater', 'less', a list of those, or None"),
    "priority": (_priority, f"one of {', '.join(PRIORITY_NAMES)} or a whole number in 0..100"),
}


def _entries(cfg: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(key path, hook dict)`` for every hook entry written as a dict."""
    out = []
    default_hooks = cfg.get("default_hooks")
    if isinstance(default_hooks, Mapping):
        out += [
            (f"default_hooks.{n}", h) for n, h in default_hooks.items() if isinstance(h, Mapping)
        ]
    custom_hooks = cfg.get("custom_hooks")
    if isinstance(custom_hooks, (list, tuple)):
        out += [
            (f"custom_hooks[{i}]", h) for i, h in enumerate(custom_hooks) if isinstance(h, Mapping)
        ]
    return out


def check_hook_values(cfg: Mapping[str, Any]) -> None:
    """Check ``interval``, ``max_keep_ckpts``, ``save_best``, ``rule`` and ``priority`` of hooks.

    Raises:
        ConfigError: A value is of the wrong type or out of range; the message names the key
            and, for a config read from files, the file and line that set it.
    """
    origin_of = getattr(cfg, "origin_of", None)
    for path, hook in _entries(cfg):
        for name, (ok, expected) in RULES_BY_ARGUMENT.items():
            value = hook.get(name)
            if value is None or ok(value, hook):
                continue
            key = f"{path}.{name}"
            origin = origin_of(key) if origin_of is not None else None
            where = f" (set at {origin})" if origin else ""
            kind = f" ({hook['type']})" if "type" in hook else ""
            raise ConfigError(
                f"{key}{kind} must be {expected}, got {value!r}{where}. Fix the value in the "
                "config, or remove it to keep the hook's default."
            )
