"""MMSeg 0.x keys left in a 1.x-style config: applied where the user meant them, else reported.

The training-tricks habit ``optimizer=dict(paramwise_cfg=...)`` over a 1.x base config means
``optim_wrapper.paramwise_cfg`` (a 1.x config reads only ``optim_wrapper``). A setting of the
``optimizer`` helper that a later file wrote than the one that set ``optim_wrapper`` is
applied to ``optim_wrapper``, with a note naming the file and line. The other 0.x keys are
reported with their file:line, since nothing reads them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from segwright.config.config import Config
from segwright.config.legacy.detect import ignored_legacy_keys
from segwright.config.parsing import KeyPath
from segwright.config.provenance import describe, format_key, iter_leaves, last_layer

_MISSING = object()


def _target(path: KeyPath) -> KeyPath | None:
    """Where a leaf of 0.x ``optimizer`` / ``optimizer_config`` lives in ``optim_wrapper``.

    ``optimizer_config.grad_clip`` is ``optim_wrapper.clip_grad``; the other
    ``optimizer_config`` keys have no 1.x place here (None: they stay reported as ignored).
    """
    if path[0] == "optimizer_config":
        return ("optim_wrapper", "clip_grad", *path[2:]) if path[1:2] == ("grad_clip",) else None
    if len(path) > 1 and path[1] in ("paramwise_cfg", "constructor"):
        return ("optim_wrapper", *path[1:])
    return ("optim_wrapper", "optimizer", *path[1:])


def _legacy_leaves(values: Mapping[str, Any]) -> list[tuple[KeyPath, Any]]:
    """The leaves of ``optimizer`` and of ``optimizer_config.grad_clip`` (None is a leaf)."""
    optimizer = values.get("optimizer")
    leaves = list(iter_leaves(optimizer, ("optimizer",))) if isinstance(optimizer, Mapping) else []
    config = values.get("optimizer_config")
    if isinstance(config, Mapping) and "grad_clip" in config:
        clip = config["grad_clip"]
        path: KeyPath = ("optimizer_config", "grad_clip")
        leaves += list(iter_leaves(clip, path)) if isinstance(clip, Mapping) else [(path, clip)]
    return leaves


def _lookup(values: Any, path: KeyPath) -> tuple[Any, int]:
    """The value at ``path`` (or ``_MISSING``) and how many parts of it exist."""
    node = values
    for depth, part in enumerate(path):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return _MISSING, depth
    return node, len(path)


def _assign(values: dict[str, Any], path: KeyPath, value: Any) -> None:
    node: Any = values
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


def apply_legacy_over_native(cfg: Config) -> tuple[Config, list[str], dict[str, str]]:
    """Apply (or report) the 0.x keys of a 1.x-style config.

    Args:
        cfg: A merged 1.x-style config (it has ``optim_wrapper`` or ``train_dataloader``).

    Returns:
        The config (a new one when something was applied), notes on what was applied (each
        naming the file and line), and the 0.x keys that have no effect, each with where it
        was set.
    """
    applied: list[str] = []
    ignored = {}
    for key in ignored_legacy_keys(cfg):
        index = last_layer(cfg.layers, (key,))
        ignored[key] = "" if index is None else describe(cfg.layers[index], (key,))
    optimizer, wrapper = cfg.get("optimizer"), cfg.get("optim_wrapper")
    clip = cfg.get("optimizer_config")
    legacy = isinstance(optimizer, Mapping) or isinstance(clip, Mapping)
    if not legacy or not isinstance(wrapper, Mapping):
        return cfg, applied, ignored
    values = cfg.to_dict()
    layers = cfg.layers
    changes: list[tuple[KeyPath, KeyPath, Any]] = []
    for path, value in _legacy_leaves(values):
        target = _target(path)
        if target is None:
            continue
        current, depth = _lookup(values, target)
        if current == value or (current is _MISSING and value is None):
            continue
        source = last_layer(layers, path)
        # the 1.x key (or the part of it that exists) and which layer wrote it last
        owner = last_layer(layers, target[: max(depth, 1)])
        if source is not None and owner == source:  # beside optim_wrapper, yet not in it
            if layers[source].lines:  # a file (a config built in code keeps its helpers quiet)
                ignored[format_key(path)] = describe(layers[source], path)
            continue
        if source is None or (owner is not None and owner > source):
            continue  # a later file wrote optim_wrapper: it wins, as the user meant
        changes.append((path, target, value))
    if not changes:
        return cfg, applied, ignored
    if any(path[0] == "optimizer_config" for path, _, _ in changes):
        ignored.pop("optimizer_config", None)  # its grad_clip is applied (its other keys: none)
    for path, target, value in changes:
        _assign(values, target, copy.deepcopy(value))
        where = describe(layers[last_layer(layers, path)], path)  # type: ignore[index]
        applied.append(
            f"{format_key(path)} ({where}) is an MMSeg 0.x setting in a 1.x-style config, "
            f"which reads only optim_wrapper: applied as {format_key(target)}={value!r} (write "
            "it there to silence this note)."
        )
    out = Config(
        values, filename=cfg.filename, text=cfg.text, layers=_with_applied(layers, changes)
    )
    return out, applied, ignored


def _with_applied(layers: list[Any], changes: list[tuple[KeyPath, KeyPath, Any]]) -> list[Any]:
    """The layers, each applied key credited to the file:line of the 0.x key it came from."""
    layers = copy.deepcopy(layers)
    for path, target, value in changes:
        index = last_layer(layers, path)
        if index is None:
            continue
        layer = layers[index]
        node = layer.values
        for part in target[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[target[-1]] = value
        for cut in range(len(path), 0, -1):
            line = layer.lines.get(path[:cut])
            if line is not None:
                layer.lines[target] = line
                break
        layer.renamed[target] = f"0.x {format_key(path)}"
    return layers
