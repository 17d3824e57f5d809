"""Provenance through the 0.x translation: each translated key keeps the file:line it came from.

The translation moves and renames keys (``optimizer.lr`` -> ``optim_wrapper.optimizer.lr``,
``data.samples_per_gpu`` -> ``train_dataloader.batch_size``), so the layers of the 0.x config
(one per file and ``--cfg-options``) are rewritten onto the translated key paths. A translated
leaf is traced to the 0.x leaf it most likely came from: the same path with the same value, else
a leaf of the same name (or its 0.x name) and value, else the 0.x section it was made from
(``runner`` for ``train_cfg.type``). ``segwright print-config --explain`` then names the user's
file and line, with the 0.x name in brackets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.config.loader import Layer
from segwright.config.parsing import KeyPath
from segwright.config.provenance import format_key, iter_leaves, last_layer

#: 1.x leaf name -> its 0.x name, where the translation renames a leaf.
_LEAF_RENAMES = {
    "batch_size": "samples_per_gpu",
    "num_workers": "workers_per_gpu",
    "val_interval": "interval",
    "clip_grad": "grad_clip",
}
#: 1.x top-level key -> the 0.x keys it is made from (the first present names the origin).
_SECTIONS: dict[str, tuple[str, ...]] = {
    "optim_wrapper": ("optimizer", "optimizer_config", "fp16"),
    "train_cfg": ("runner", "total_iters", "workflow", "evaluation"),
    "val_cfg": ("evaluation", "workflow", "data"),
    "test_cfg": ("data", "evaluation"),
    "train_dataloader": ("data",),
    "val_dataloader": ("data",),
    "test_dataloader": ("data",),
    "val_evaluator": ("evaluation",),
    "test_evaluator": ("evaluation",),
    "param_scheduler": ("lr_config", "momentum_config"),
    "custom_hooks": ("custom_hooks", "lr_config", "momentum_config", "workflow", "evaluation"),
    "default_hooks": ("checkpoint_config", "log_config", "lr_config", "evaluation"),
    "default_hook_priorities": ("checkpoint_config", "log_config", "lr_config"),
    "log_processor": ("log_config",),
    "visualizer": ("log_config",),
    "env_cfg": ("dist_params", "cudnn_benchmark", "mp_cfg"),
    "resume": ("resume_from",),
    "load_from": ("resume_from", "load_from"),
    "data_preprocessor": ("img_norm_cfg", "data"),
    "model": ("img_norm_cfg", "data", "model"),
}
_UNTRACED = "(added by the MMSeg 0.x translation)"


def _name(path: KeyPath) -> str:
    """The last key name of a path (list indices skipped)."""
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return ""


def _value_key(value: Any) -> str:
    return f"{type(value).__name__}:{value!r}"


def _get(values: Any, path: KeyPath) -> Any:
    node = values
    for part in path:
        node = node[part]
    return node


def _has(values: Mapping[str, Any], path: KeyPath) -> bool:
    try:
        _get(values, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _insert(tree: dict[Any, Any], path: KeyPath, value: Any) -> None:
    node = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


class _Tracer:
    """Finds, for a translated leaf, the 0.x leaf (and layer) it came from."""

    def __init__(
        self,
        values: Mapping[str, Any],
        layers: list[Layer],
        made_from: Mapping[KeyPath, KeyPath] | None = None,
    ) -> None:
        self.values = values
        self.layers = layers
        self.made_from = dict(made_from or {})
        self.by_name: dict[tuple[str, str], list[KeyPath]] = {}
        for path, value in iter_leaves(values):
            self.by_name.setdefault((_name(path), _value_key(value)), []).append(path)

    def trace(self, path: KeyPath, value: Any) -> tuple[KeyPath, bool] | None:
        """``(0.x path, exact)``: exact means the leaf itself, else the section it was made from."""
        if _has(self.values, path) and _get(self.values, path) == value:
            return path, True
        name = _name(path)
        candidates = self.by_name.get((name, _value_key(value)), [])
        if name in _LEAF_RENAMES:
            candidates = candidates + self.by_name.get((_LEAF_RENAMES[name], _value_key(value)), [])
        sections = _SECTIONS.get(str(path[0]), ())
        source = self._made_from(path)
        if source is not None:  # the translator said which 0.x key this part came from
            candidates = [c for c in candidates if c[: len(source)] == source]
            sections = (str(source[0]),)
        if candidates:
            return max(candidates, key=lambda c: self._score(c, path, sections)), True
        for section in sections:
            if section in self.values:
                return (section,), False
        return None

    def _made_from(self, path: KeyPath) -> KeyPath | None:
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.made_from:
                return self.made_from[path[:cut]]
        return None

    @staticmethod
    def _score(candidate: KeyPath, path: KeyPath, sections: tuple[str, ...]) -> tuple[int, int]:
        """Shared words (``val_dataloader`` and ``data.val`` share ``val``), then a shared tail."""
        shared = len(_words(candidate) & _words(path)) + (2 if candidate[0] in sections else 0)
        tail = 0
        while tail < min(len(candidate), len(path)) and candidate[-1 - tail] == path[-1 - tail]:
            tail += 1
        return shared, tail


def _words(path: KeyPath) -> set[str]:
    return {word for part in path if isinstance(part, str) for word in part.split("_")}


def _section_layer(layers: list[Layer], section: str) -> int | None:
    """The last file that wrote a 0.x section (``--cfg-options`` only when no file did)."""
    for index in range(len(layers) - 1, -1, -1):
        if (section,) in layers[index].lines:
            return index
    return last_layer(layers, (section,))


def translated_layers(
    values: Mapping[str, Any],
    layers: list[Layer],
    translated: Mapping[str, Any],
    made_from: Mapping[KeyPath, KeyPath] | None = None,
) -> list[Layer]:
    """The layers of a 0.x config rewritten onto the key paths of its translation.

    Args:
        values: The merged 0.x config values.
        layers: Its layers (one per file and ``--cfg-options``), in merge order.
        translated: The translated values.
        made_from: Translated key path -> the 0.x key it was made from, where the translator
            knows better than a guess by name and value (``param_scheduler[1]`` from
            ``momentum_config`` when both policies share their arguments).

    Returns:
        One layer per input layer (same source), holding the translated leaves traced to it,
        after a first layer that holds the leaves the translation made up.
    """
    tracer = _Tracer(values, layers, made_from)
    untraced = Layer(source=_UNTRACED, values={})
    out = [Layer(source=layer.source, values={}) for layer in layers]
    for path, value in iter_leaves(translated):
        if not path:
            continue
        traced = tracer.trace(path, value)
        index = None
        if traced is not None:
            origin, exact = traced
            index = last_layer(layers, origin) if exact else _section_layer(layers, origin[0])
        if traced is None or index is None:
            _insert(untraced.values, path, value)  # type: ignore[arg-type]
            continue
        origin, exact = traced
        source, target = layers[index], out[index]
        _insert(target.values, path, value)  # type: ignore[arg-type]
        if source.option_text:
            for cut in range(len(origin), 0, -1):
                text = source.option_text.get(format_key(origin[:cut]))
                if text is not None:
                    target.option_text[format_key(path)] = text
                    break
        else:
            for cut in range(len(origin), 0, -1):
                line = source.lines.get(origin[:cut])
                if line is not None:
                    target.lines[path] = line
                    break
        if origin != path:
            what = format_key(origin)
            target.renamed[path] = f"0.x {what}" if exact else f"translated from 0.x {what}"
    return [untraced, *out]
