"""Hook priorities (SPEC §7.1): lower runs earlier; names or ints in [0, 100]."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from segwright.utils.errors import ConfigError


class Priority(IntEnum):
    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority: int | str | Priority) -> int:
    """An int in [0, 100] from an int, a name (any case) or a :class:`Priority`."""
    if isinstance(priority, bool):
        raise ConfigError(f"Hook priority must be a name or an int in [0, 100], got {priority!r}.")
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ConfigError(f"Hook priority must be in [0, 100], got {priority}.")
        return int(priority)
    if isinstance(priority, str):
        try:
            return int(Priority[priority.upper()])
        except KeyError:
            names = ", ".join(p.name for p in Priority)
            raise ConfigError(
                f"Unknown hook priority {priority!r}; use one of {names} or an int."
            ) from None
    raise ConfigError(f"Hook priority must be a name or an int in [0, 100], got {priority!r}.")


def with_priorities(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> Any:
    """``cfg.default_hooks`` with ``cfg.default_hook_priorities`` (hook name -> priority) applied.

    A hook spec's own ``priority`` wins and a removed (None) hook stays removed. The MMSeg 0.x
    translation gives the default hooks MMCV's priorities this way (docs/migration.md).
    """
    default_hooks, priorities = cfg.get("default_hooks"), cfg.get("default_hook_priorities")
    if not priorities:
        return default_hooks
    if not isinstance(priorities, Mapping):
        raise ConfigError(
            "default_hook_priorities must be a dict such as dict(checkpoint='NORMAL'), "
            f"got {priorities!r}."
        )
    merged = dict(default_hooks or {})
    for name, priority in priorities.items():
        spec = merged.get(name, defaults.get(name))
        if isinstance(spec, Mapping) and "priority" not in spec:
            merged[name] = {**spec, "priority": priority}
    return merged
