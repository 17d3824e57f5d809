"""Name -> layer-class lookup shared by the conv, norm and activation builders.

Layer kinds (``norm_cfg``, ``act_cfg``, ``conv_cfg``) use small private tables instead of the
MODELS registry so that ``MODELS.names()`` lists only buildable model parts. A name missing from
the table is still looked up in MODELS, so a user's registered layer keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.registry import MODELS, current_build_path, split_scope
from segwright.utils.errors import ConfigError
from segwright.utils.suggest import did_you_mean


def split_cfg(cfg: Any, kind: str) -> tuple[Any, dict[str, Any]]:
    """Return ``(type, other_keys)`` of a layer config dict, or raise a ConfigError."""
    if not isinstance(cfg, Mapping):
        raise ConfigError(
            f"{kind} must be a dict such as dict(type=...), got {type(cfg).__name__}: {cfg!r}."
        )
    if "type" not in cfg:
        raise ConfigError(f"{kind} {dict(cfg)!r} has no 'type' key.")
    args = dict(cfg)
    return args.pop("type"), args


def lookup(table: Mapping[str, Any], layer_type: Any, kind: str) -> Any:
    """The class named ``layer_type`` in ``table`` (or MODELS); a class passes through."""
    if not isinstance(layer_type, str):
        if callable(layer_type):
            return layer_type
        raise ConfigError(f"{kind} type must be a name or a class, got {layer_type!r}.")
    _, bare = split_scope(layer_type)
    if bare in table:
        return table[bare]
    found = MODELS.get(layer_type)
    if found is not None:
        return found
    path = current_build_path()
    where = f" (config key '{path}')" if path else ""
    raise ConfigError(
        f"Unknown {kind} type {layer_type!r}{where}.{did_you_mean(bare, table)} "
        f"Known {kind} types: {', '.join(sorted(table))}."
    )
