"""``ConfigDict``: a dict whose keys read as attributes (``cfg.model.decode_head``)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from segwright.utils.suggest import did_you_mean


def to_config_value(value: Any) -> Any:
    """Wrap dicts (also inside lists and tuples) as :class:`ConfigDict`."""
    if isinstance(value, ConfigDict):
        return value
    if isinstance(value, Mapping):
        return ConfigDict(value)
    if isinstance(value, list):
        return [to_config_value(v) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(to_config_value(v) for v in value)
    return value


def to_plain(value: Any) -> Any:
    """Turn ConfigDicts back into plain dicts, recursively (lists and tuples keep their type)."""
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(to_plain(v) for v in value)
    return value


class ConfigDict(dict):
    """A dict with attribute access; nested dicts are ConfigDicts too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, to_config_value(value))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            if name.startswith("__"):
                raise AttributeError(name) from None
            keys = [k for k in self if isinstance(k, str)]
            raise AttributeError(
                f"The config has no key {name!r} here.{did_you_mean(name, keys)} "
                f"Keys at this level: {', '.join(keys) or '(none)'}."
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:  # type: ignore[override]
        if key not in self:
            self[key] = default
        return self[key]

    def copy(self) -> ConfigDict:
        return ConfigDict(self)

    def __copy__(self) -> ConfigDict:
        return ConfigDict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> ConfigDict:
        result = ConfigDict()
        memo[id(self)] = result
        for key, value in self.items():
            dict.__setitem__(result, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return result

    def __reduce__(self) -> tuple[Any, ...]:
        return (ConfigDict, (dict(self),))

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict deep copy."""
        return to_plain(self)
