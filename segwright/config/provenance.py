"""Which file (and line) or ``--cfg-options`` entry set each key of a merged config.

No OpenMMLab tool answers this; ``segwright print-config --explain`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from segwright.config.loader import Layer
from segwright.config.parsing import KeyPath


@dataclass(frozen=True)
class Origin:
    """A leaf of the merged config and where it was set last."""

    key: str
    value: Any
    source: str


def format_key(path: KeyPath) -> str:
    """``('model', 'loss_decode', 1, 'loss_weight')`` -> ``'model.loss_decode.1.loss_weight'``."""
    return ".".join(str(p) for p in path)


def iter_leaves(value: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Every leaf (non-container or empty container) with its key path."""
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from iter_leaves(item, (*path, key))
    elif isinstance(value, (list, tuple)) and value:
        for index, item in enumerate(value):
            yield from iter_leaves(item, (*path, index))
    else:
        yield path, value


def _contains(values: Any, path: KeyPath) -> bool:
    node = values
    for part in path:
        if isinstance(node, Mapping):
            if part in node:
                node = node[part]
            elif str(part) in node:
                node = node[str(part)]
            else:
                return False
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return True


def last_layer(layers: Sequence[Layer], path: KeyPath) -> int | None:
    """The index of the last layer that wrote ``path`` (or a value below it); None if none did."""
    for index in range(len(layers) - 1, -1, -1):
        if _contains(layers[index].values, path):
            return index
    return None


def describe(layer: Layer, path: KeyPath) -> str:
    """Where ``layer`` set ``path``: ``file:line``, ``--cfg-options KEY=VALUE`` or the source."""
    text = _describe(layer, path)
    for cut in range(len(path), 0, -1):
        renamed = getattr(layer, "renamed", {}).get(path[:cut])
        if renamed is not None:
            return f"{text} ({renamed})"
    return text


def _describe(layer: Layer, path: KeyPath) -> str:
    if layer.option_text:
        for cut in range(len(path), 0, -1):
            text = layer.option_text.get(format_key(path[:cut]))
            if text is not None:
                return f"--cfg-options {text}"
        return "--cfg-options"
    for cut in range(len(path), 0, -1):
        line = layer.lines.get(path[:cut])
        if line is not None:
            return f"{layer.source}:{line}"
    return layer.source


def explain(values: Mapping[str, Any], layers: Sequence[Layer]) -> list[Origin]:
    """For each leaf of ``values``, the last layer that wrote it."""
    origins = []
    for path, value in iter_leaves(values):
        index = last_layer(layers, path)
        source = "(set in code)" if index is None else describe(layers[index], path)
        origins.append(Origin(format_key(path), value, source))
    return origins


_INDEX = re.compile(r"\[(\d+)\]")


def parse_key(key: str) -> KeyPath:
    """``'model.loss_decode[1].loss_weight'`` (or ``'model.loss_decode.1.loss_weight'``) -> key path."""
    parts: list[str | int] = []
    for part in _INDEX.sub(r".\1", key).split("."):
        if part:
            parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def origin_of(layers: Sequence[Layer], key: str) -> str | None:
    """Where ``key`` was set (``'configs/x.py:12'``), else where its nearest parent was.

    A key no layer wrote (added in code, or made up by the 0.x translation) answers with its
    parent's place, so a misspelt argument added by ``--cfg-options`` or a file still has one.

    Returns:
        ``file:line``, ``--cfg-options KEY=VALUE`` or a file name; None when nothing is known.
    """
    path = parse_key(key)
    for cut in range(len(path), 0, -1):
        index = last_layer(layers, path[:cut])
        if index is None:
            continue
        source = describe(layers[index], path[:cut])
        if not source.startswith("("):  # '(set in code)', '(added by the 0.x translation)'
            return source
    return None
