"""Merging a child config into its base (SPEC §1.3), the rule every ``_base_`` and override obeys.

Dicts merge recursively; lists, tuples and scalars replace; ``dict(_delete_=True, ...)``
replaces instead of merging. Unlike MMCV/MMEngine, ``_delete_`` never survives into the
result (SPEC trap 2), and merging a dict over a non-dict is a :class:`ConfigError` that
names the key and both sources instead of a bare ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from segwright.config.config_dict import ConfigDict
from segwright.utils.errors import ConfigError

DELETE_KEY = "_delete_"


def strip_delete(value: Any) -> Any:
    """Remove ``_delete_`` keys at any depth (they only steer merging)."""
    if isinstance(value, Mapping):
        return ConfigDict({k: strip_delete(v) for k, v in value.items() if k != DELETE_KEY})
    if isinstance(value, list):
        return [strip_delete(v) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(strip_delete(v) for v in value)
    return value


def _path(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def merge_into(
    child: Mapping[str, Any],
    base: Mapping[str, Any],
    *,
    child_source: str = "the child config",
    base_source: Callable[[str], str] | str = "its base",
    allow_list_keys: bool = False,
    prefix: str = "",
) -> ConfigDict:
    """Return ``base`` updated by ``child`` (neither is modified).

    Args:
        child: The overriding values.
        base: The values being overridden.
        child_source / base_source: Where each side came from, for error messages; a callable
            gets the top-level key and names the base file that set it.
        allow_list_keys: Digit keys index lists (``--cfg-options`` and ``merge_from_dict``).
        prefix: Key path of ``child`` inside the whole config.
    """
    merged = ConfigDict(base)
    for key, value in child.items():
        path = _path(prefix, key)
        if isinstance(value, Mapping):
            value = dict(value)
            delete = bool(value.pop(DELETE_KEY, False))
            if key not in merged or delete:
                merged[key] = strip_delete(value)
                continue
            target = merged[key]
            if isinstance(target, Mapping):
                merged[key] = merge_into(
                    value,
                    target,
                    child_source=child_source,
                    base_source=base_source,
                    allow_list_keys=allow_list_keys,
                    prefix=path,
                )
            elif (
                allow_list_keys
                and isinstance(target, (list, tuple))
                and all(_is_index(k) for k in value)
            ):
                merged[key] = _merge_into_list(value, target, path, child_source, base_source)
            else:
                source = base_source(path.split(".")[0]) if callable(base_source) else base_source
                raise ConfigError(
                    f"Key '{path}' is a dict in {child_source} but a {type(target).__name__} "
                    f"({target!r}) in {source}, so they cannot be merged. To replace the base "
                    f"value, add _delete_=True to the dict in {child_source}."
                )
        else:
            merged[key] = strip_delete(value)
    return merged


def _is_index(key: Any) -> bool:
    return isinstance(key, int) or (isinstance(key, str) and key.isdigit())


def _merge_into_list(
    child: Mapping[str, Any],
    target: list[Any] | tuple[Any, ...],
    path: str,
    child_source: str,
    base_source: Callable[[str], str] | str,
) -> list[Any] | tuple[Any, ...]:
    """Update elements of a list (or tuple, kept a tuple) addressed by digit keys."""
    merged = list(target)
    for key, value in child.items():
        index = int(key)
        if index >= len(merged):
            raise ConfigError(
                f"Index {index} in '{path}.{key}' from {child_source} is out of range: "
                f"'{path}' has {len(merged)} element(s) (indices 0..{len(merged) - 1})."
            )
        element = merged[index]
        if isinstance(value, Mapping):
            value = dict(value)
            if not value.pop(DELETE_KEY, False):
                if isinstance(element, Mapping):
                    merged[index] = merge_into(
                        value,
                        element,
                        child_source=child_source,
                        base_source=base_source,
                        allow_list_keys=True,
                        prefix=f"{path}.{key}",
                    )
                    continue
                if isinstance(element, (list, tuple)) and value and all(map(_is_index, value)):
                    # Nested sequences: ``x.0.1=5`` on ``x=[(1, 2), (3, 4)]``.
                    merged[index] = _merge_into_list(
                        value, element, f"{path}.{key}", child_source, base_source
                    )
                    continue
        # MMEngine crashes here for scalars (SPEC trap 6); setting the element is what users mean.
        merged[index] = strip_delete(value)
    return tuple(merged) if isinstance(target, tuple) else merged
