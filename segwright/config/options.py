"""``--cfg-options KEY=VALUE`` parsing, compatible with MMEngine's DictAction (SPEC §1.7).

Differences from MMEngine, all listed in ``docs/config.md``:

* Spaces inside a value are kept (``name=my dir`` -> ``'my dir'``); MMEngine removes every
  space. Spaces around list/tuple elements are still dropped.
* A value wrapped in matching quotes stays a string (``v="'1'"`` -> ``'1'``); MMEngine strips
  the quotes and returns the int ``1``.
* A value that is a Python dict literal (``{'type': 'OHEMPixelSampler', 'thresh': 0.7}``) is
  parsed as a dict, so a new config section can be added from the command line.
* ``list.0=5`` sets a list element (MMEngine crashes) — handled in :mod:`segwright.config.merge`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from segwright.utils.errors import ConfigError


def parse_scalar(text: str) -> Any:
    """int -> float -> bool (any case) -> ``None`` (exact) -> string, like DictAction."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text == "None":
        return None
    return text


def _scan(text: str) -> Iterator[tuple[int, str, int]]:
    """Yield ``(index, char, depth)`` for characters outside quotes; depth counts ([{ nesting."""
    closing = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []
    quote = ""
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char in closing:
            stack.append(closing[char])
        elif char in ")]}":
            if not stack or stack.pop() != char:
                yield i, char, -1  # a closing bracket that matches no opening one
                return
        yield i, char, len(stack)


def _split_top_level(text: str, original: str) -> list[str]:
    """Split on commas that are not inside brackets, braces or quotes."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, char, depth in _scan(text):
        if depth < 0:
            raise ConfigError(f"Unbalanced brackets in --cfg-options value {original!r}.")
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise ConfigError(f"Unbalanced brackets in --cfg-options value {original!r}.")
    parts.append(text[start:])
    return parts


def _is_quoted(text: str) -> bool:
    return len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""


def parse_value(text: str, _original: str | None = None) -> Any:
    """Parse one ``--cfg-options`` value: scalars, lists, tuples, nested, dict literals."""
    original = text if _original is None else _original
    text = text.strip()
    if _is_quoted(text):
        return text[1:-1]
    if text.startswith("{") and text.endswith("}"):
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise ConfigError(
                f"--cfg-options value {original!r} looks like a dict but is not a valid Python "
                f"literal ({exc}). Quote keys and strings: {{'type': 'Foo', 'x': 1}}."
            ) from None
    is_tuple = text.startswith("(") and text.endswith(")")
    is_list = text.startswith("[") and text.endswith("]")
    if is_tuple or is_list:
        inner = text[1:-1]
        # Only unwrap when the outer brackets enclose everything, e.g. not "(1,2),(3,4)".
        if _encloses(text):
            items = [] if not inner.strip() else _split_top_level(inner, original)
            values = [parse_value(item, original) for item in items if item.strip() != ""]
            return tuple(values) if is_tuple else values
    if "," not in text:
        return parse_scalar(text)
    items = _split_top_level(text, original)
    if len(items) == 1:  # every comma is inside brackets, e.g. "(1,2)x": not a list
        return parse_scalar(text)
    return [parse_value(item, original) for item in items if item.strip() != ""]


def _encloses(text: str) -> bool:
    """True when the first bracket closes at the very end of ``text``."""
    for i, char, depth in _scan(text):
        if char in ")]}" and depth == 0 and i != len(text) - 1:
            return False
    return True


def parse_options(items: Iterable[str]) -> dict[str, Any]:
    """``['a.b=1', 'c=[1,2]']`` -> ``{'a.b': 1, 'c': [1, 2]}``; later duplicates win."""
    options: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(
                f"--cfg-options entry {item!r} is not KEY=VALUE. "
                "Example: --cfg-options model.decode_head.num_classes=3"
            )
        options[key.strip()] = parse_value(value)
    return options


def expand_dotted(options: Mapping[str, Any]) -> dict[str, Any]:
    """``{'a.b.c': 1}`` -> ``{'a': {'b': {'c': 1}}}``."""
    tree: dict[str, Any] = {}
    for dotted, value in options.items():
        node = tree
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(
                    f"--cfg-options sets both '{part}' and keys below it in {dotted!r}."
                )
        node[parts[-1]] = value
    return tree
