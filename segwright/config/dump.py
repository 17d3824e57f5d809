"""Writing a config back out as Python, JSON or YAML (SPEC §1.8).

The Python form keeps insertion order (MMEngine sorts keys) and round-trips: loading the dump
gives an equal config. JSON and YAML have no tuples, so tuples come back as lists.
"""

from __future__ import annotations

import json
import keyword
import math
from collections.abc import Mapping
from typing import Any

import yaml

from segwright.utils.errors import ConfigError

_LINE = 88
_INDENT = "    "


def _is_identifier(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def object_path(obj: Any) -> str:
    """Dotted import path of a class or function (``type=SomeClass`` in a config)."""
    return f"{obj.__module__}.{obj.__qualname__}"


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return repr(value)
    if isinstance(value, type) or callable(value):
        return repr(object_path(value))
    raise ConfigError(
        f"Cannot write {type(value).__name__} value {value!r} to a config file; "
        "configs hold numbers, strings, booleans, None, lists, tuples and dicts."
    )


def format_value(value: Any, indent: str = "") -> str:
    """Python source for ``value``: ``dict(...)`` for dicts, one line when it fits."""
    one_line = _format_flat(value)
    if len(indent) + len(one_line) <= _LINE:
        return one_line
    inner = indent + _INDENT
    if isinstance(value, Mapping):
        if all(_is_identifier(k) for k in value):
            items = [f"{inner}{k}={format_value(v, inner)}" for k, v in value.items()]
            return "dict(\n" + ",\n".join(items) + f",\n{indent})"
        items = [f"{inner}{k!r}: {format_value(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f",\n{indent}}}"
    if isinstance(value, (list, tuple)):
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        items = [f"{inner}{format_value(v, inner)}" for v in value]
        return open_ + "\n" + ",\n".join(items) + f",\n{indent}{close}"
    return one_line


def _format_flat(value: Any) -> str:
    if isinstance(value, Mapping):
        if all(_is_identifier(k) for k in value):
            return "dict(" + ", ".join(f"{k}={_format_flat(v)}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{k!r}: {_format_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_format_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        if len(value) == 1:
            return f"({_format_flat(value[0])},)"
        return "(" + ", ".join(_format_flat(v) for v in value) + ")"
    return _scalar(value)


def to_python(values: Mapping[str, Any]) -> str:
    """The whole config as a Python config file."""
    lines = []
    for key, value in values.items():
        if not _is_identifier(key):
            raise ConfigError(
                f"Top-level key {key!r} is not a Python name, so the config cannot be written "
                "as a .py file; dump it as .json or .yaml."
            )
        lines.append(f"{key} = {format_value(value)}")
    return "\n".join(lines) + "\n"


def to_serialisable(value: Any) -> Any:
    """Plain JSON/YAML types: tuples become lists, classes become their import path."""
    if isinstance(value, Mapping):
        return {str(k): to_serialisable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_serialisable(v) for v in value]
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return object_path(value)
    return value


def to_json(values: Mapping[str, Any]) -> str:
    return json.dumps(to_serialisable(values), indent=4) + "\n"


def to_yaml(values: Mapping[str, Any]) -> str:
    return yaml.safe_dump(to_serialisable(values), sort_keys=False, default_flow_style=None)


FORMATTERS = {"py": to_python, "json": to_json, "yaml": to_yaml, "yml": to_yaml}
