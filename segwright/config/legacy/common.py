"""Helpers shared by the 0.x data translation modules: type names, key checks, scales."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segwright.registry import split_scope
from segwright.utils.errors import ConfigError

#: 0.x steps that only formatted the sample; one ``PackSegInputs`` replaces them all.
FORMAT_STEPS = frozenset(
    {"DefaultFormatBundle", "ImageToTensor", "ToTensor", "Transpose", "ToDataContainer", "Collect"}
)


def bare_type(cfg: Any, key: str) -> str:
    """The ``type`` of a config dict without an ``mmseg.``-style scope prefix."""
    if not isinstance(cfg, Mapping) or "type" not in cfg:
        raise ConfigError(f"Config key '{key}' must be a dict with a 'type', got {cfg!r}.")
    kind = cfg["type"]
    if not isinstance(kind, str):
        raise ConfigError(f"Config key '{key}.type' must be a name, got {kind!r}.")
    return split_scope(kind)[1]


def _check_keys(cfg: Mapping[str, Any], allowed: Sequence[str], key: str, what: str) -> None:
    unknown = sorted(str(k) for k in cfg if k not in allowed and k != "type")
    if unknown:
        raise ConfigError(
            f"Config key '{key}' ({what}) has argument(s) {unknown} that segwright cannot "
            f"translate. Accepted: {', '.join(allowed)}. Remove them, or write the 1.x form."
        )


def _pair(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _is_scale(value: Any) -> bool:
    """A single ``(w, h)``: two numbers (a list after JSON/YAML, a tuple in Python)."""
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def _scales(value: Any, key: str) -> list[tuple[int, int]] | None:
    """0.x ``img_scale``: None, one ``(w, h)`` or a list of them."""
    if value is None:
        return None
    if _is_scale(value):
        return [tuple(value)]  # type: ignore[list-item]
    if isinstance(value, (list, tuple)) and value and all(_is_scale(s) for s in value):
        return [tuple(s) for s in value]
    raise ConfigError(
        f"Config key '{key}.img_scale' must be (w, h) or a list of (w, h), got {value!r}."
    )
