"""Loading a config file with its whole ``_base_`` chain (SPEC §1.2, §1.5).

The result keeps every file's own values as a :class:`Layer`, in merge order, so that
:mod:`segwright.config.provenance` can tell which file set each key last.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segwright.config.config_dict import ConfigDict
from segwright.config.merge import merge_into
from segwright.config.parsing import (
    BASE_KEY,
    DICT_KEYS,
    RESERVED_KEYS,
    TOKEN_PREFIX,
    KeyPath,
    ParsedFile,
    evaluate,
    parse_file,
)
from segwright.utils.errors import ConfigError

#: ``_deprecation_ = dict(expected='new.py', reference='url')`` in a file: warn, then drop the key.
DEPRECATION_KEY = "_deprecation_"
_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"\d+_")


@dataclass
class Layer:
    """What one source (a file or a set of ``--cfg-options``) wrote, before merging."""

    source: str
    values: Mapping[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)
    # For --cfg-options: the dotted key -> the 'KEY=VALUE' text the user typed.
    option_text: dict[str, str] = field(default_factory=dict)
    # For a translated MMSeg 0.x config: key path -> what it was called in the 0.x file.
    renamed: dict[KeyPath, str] = field(default_factory=dict)


@dataclass
class LoadedConfig:
    values: ConfigDict
    layers: list[Layer]
    text: str
    # top-level key -> the file that (directly or through its own bases) defines it
    owners: dict[str, str]


def display_path(path: Path | str) -> str:
    """A path relative to the working directory when it lies below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def resolve_base_path(base: str, including: Path, base_dir: Path | None = None) -> Path:
    """A ``_base_`` entry is relative to the directory of the file that names it.

    ``base_dir`` replaces that directory (``Config.fromstring`` resolves against the cwd).
    """
    if "::" in base:
        from segwright.config.shipped import resolve_scoped

        return resolve_scoped(base, including)
    return ((base_dir or including.parent) / base).resolve()


def load(
    path: str | Path,
    _stack: tuple[Path, ...] = (),
    _included_by: Path | None = None,
    base_dir: Path | None = None,
) -> LoadedConfig:
    """Load ``path`` and its bases, depth first; raise on missing files and cycles.

    ``base_dir``, when given, is where this file's own ``_base_`` entries are resolved.
    """
    path = Path(path).expanduser()
    path = path.resolve() if path.is_absolute() or path.exists() else path.absolute()
    if path in _stack:
        cycle = " -> ".join(display_path(p) for p in (*_stack[_stack.index(path) :], path))
        raise ConfigError(
            f"The _base_ files form a cycle: {cycle}. Remove one of these _base_ entries."
        )
    if not path.is_file():
        if _included_by is not None:
            raise ConfigError(
                f"Base config not found: {display_path(_included_by)} lists a _base_ that "
                f"resolves to {path}, which does not exist. _base_ paths are relative to the "
                "file that names them."
            )
        raise ConfigError(f"Config file not found: {path}.")

    parsed = parse_file(path)
    stack = (*_stack, path)
    base_values: dict[str, Any] = ConfigDict()
    layers: list[Layer] = []
    texts: list[str] = []
    owners: dict[str, str] = {}
    for base in parsed.bases:
        base_path = resolve_base_path(base, path, base_dir)
        if not base_path.is_file():
            base_path = _renamed_base(base_path, base, parsed, path)
        loaded = load(base_path, stack, _included_by=path)
        duplicates = sorted(set(loaded.values) & set(base_values))
        if duplicates:
            details = "; ".join(
                f"'{key}' in {owners[key]} and {display_path(base_path)}" for key in duplicates
            )
            raise ConfigError(
                f"{display_path(path)}: two _base_ files define the same top-level key: "
                f"{details}. A key may come from one base only; set it in "
                f"{display_path(path)} instead, or drop it from one base."
            )
        base_values.update(loaded.values)
        layers.extend(loaded.layers)
        texts.append(loaded.text)
        for key in loaded.values:
            owners[key] = display_path(base_path)

    # In-place edits through _base_ (``_base_.model.x = 1``) must reach the merge, as in MMEngine.
    own = evaluate(parsed, base_values)
    own = _resolve_references(own, parsed, base_values)
    own = _unwrap_trailing_commas(own, parsed, path)
    _warn_deprecated(own.pop(DEPRECATION_KEY, None), path)
    _check_reserved(own, path)
    layer_values, lines = _with_base_edits(own, parsed.lines, base_values)
    layers.append(Layer(source=display_path(path), values=layer_values, lines=lines))
    texts.append(f"{path}\n{parsed.text}")
    merged = merge_into(
        own,
        base_values,
        child_source=display_path(path),
        base_source=lambda key: owners.get(key, "a base file"),
    )
    for key in own:
        owners.setdefault(key, display_path(path))
    return LoadedConfig(values=merged, layers=layers, text="\n".join(texts), owners=owners)


def _warn_deprecated(info: Any, path: Path) -> None:
    """``_deprecation_ = dict(expected=..., reference=...)`` marks a config file as deprecated."""
    if info is None:
        return
    info = info if isinstance(info, Mapping) else {}
    message = f"The config {display_path(path)} is deprecated."
    if info.get("expected"):
        message += f" Use {info['expected']} instead."
    if info.get("reference"):
        message += f" See {info['reference']}."
    warnings.warn(message, DeprecationWarning, stacklevel=2)


def _line_of(parsed: ParsedFile, key: str) -> str:
    line = parsed.lines.get((key,))
    return f":{line}" if line else ""


def _unwrap_trailing_commas(
    values: dict[str, Any], parsed: ParsedFile, path: Path
) -> dict[str, Any]:
    """Take the dict out of ``key = dict(...),``'s 1-tuple for keys that hold one dict, and warn."""
    for key in DICT_KEYS & set(values):
        value = values[key]
        if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], Mapping):
            warnings.warn(
                f"{display_path(path)}{_line_of(parsed, key)}: '{key} = dict(...),' ends with a "
                f"comma, which makes '{key}' a tuple holding one dict. '{key}' must be a dict, "
                "so it is read as that dict and merged with the base as usual (MMCV/MMEngine "
                "would fail on the tuple). Remove the trailing comma to silence this warning.",
                UserWarning,
                stacklevel=2,
            )
            values[key] = value[0]
    return values


def _renamed_base(missing: Path, base: str, parsed: ParsedFile, path: Path) -> Path:
    """A 2.x-named MMDetection base that exists under its 3.x name (warned), else ``missing``."""
    from segwright.config.shipped import find_renamed_base

    renamed = find_renamed_base(missing)
    if renamed is None:
        return missing
    warnings.warn(
        f"{display_path(path)}{_line_of(parsed, BASE_KEY)}: the _base_ {base!r} does not exist; "
        f"using {display_path(renamed)}, its MMDetection 3.x name (3.x joins the method's words "
        "with '-', e.g. mask-rcnn_r50_fpn.py). Write the new name to silence this warning.",
        UserWarning,
        stacklevel=2,
    )
    return renamed


def _check_reserved(values: Mapping[str, Any], path: Path) -> None:
    for key in RESERVED_KEYS:
        if key in values:
            raise ConfigError(
                f"{display_path(path)} defines '{key}', a name the Config object reserves. "
                "Rename that key."
            )


def lookup_base(base: Mapping[str, Any], dotted: str) -> Any:
    """Follow ``a.b.0.c`` through dicts (and list indices) of the merged bases."""
    node: Any = base
    walked: list[str] = []
    for part in dotted.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            where = ".".join(walked) or "the top level"
            keys = list(node) if isinstance(node, Mapping) else []
            raise KeyError((part, where, keys))
        walked.append(part)
    return node


def _resolve_references(values: Any, parsed: ParsedFile, base: Mapping[str, Any]) -> Any:
    """Replace ``{{_base_.a.b}}`` tokens by the merged bases' values (whole values only)."""
    if not parsed.references:
        return values

    def resolve(value: Any, key: str) -> Any:
        if isinstance(value, str) and value in parsed.references:
            dotted = parsed.references[value]
            try:
                return copy.deepcopy(lookup_base(base, dotted))
            except KeyError as exc:
                part, where, keys = exc.args[0]
                raise ConfigError(
                    f"{display_path(parsed.path)}: the reference {{{{_base_.{dotted}}}}} at key "
                    f"'{key}' cannot be resolved: '{part}' is not a key at {where} of the merged "
                    f"base files (keys there: {', '.join(map(str, keys)) or 'none'}). References "
                    "only see values from the _base_ files, not from this file."
                ) from None
        if isinstance(value, str) and TOKEN_PREFIX in value:
            token = _TOKEN.search(value)
            dotted = parsed.references.get(token.group(0), "...") if token else "..."
            raise ConfigError(
                f"{display_path(parsed.path)}: the reference {{{{_base_.{dotted}}}}} at key "
                f"'{key}' is part of a longer string. A {{{{_base_.x}}}} reference must be the "
                f"whole value; in a .py config build the string from _base_.{dotted} instead."
            )
        if isinstance(value, Mapping):
            return {k: resolve(v, f"{key}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v, f"{key}.{i}") for i, v in enumerate(value)]
        if isinstance(value, tuple) and type(value) is tuple:
            return tuple(resolve(v, f"{key}.{i}") for i, v in enumerate(value))
        return value

    return {k: resolve(v, str(k)) for k, v in values.items()}


def _with_base_edits(
    own: Mapping[str, Any], lines: dict[KeyPath, int], base: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    """Add in-place edits (``_base_.model.x = 1``) to what a file wrote, for provenance.

    Such an edit changes the merged bases rather than this file's own values, yet this
    file is where the value was set.
    """
    edits = [p for p in lines if len(p) > 1 and p[0] == BASE_KEY]
    if not edits:
        return dict(own), lines
    values: dict[str, Any] = copy.deepcopy(dict(own))
    lines = dict(lines)
    for edit in sorted(edits, key=len):
        path = edit[1:]
        found, value = _walk(base, path)
        if not found or _walk(own, path)[0]:
            continue  # the file's own value for this key wins over its edit of the base
        node: Any = values
        for part in path[:-1]:
            if not isinstance(node, dict):
                break
            node = node.setdefault(part, {})
        else:
            if isinstance(node, dict):
                node[path[-1]] = copy.deepcopy(value)
                lines[path] = lines[edit]
    return values, lines


def _walk(values: Any, path: KeyPath) -> tuple[bool, Any]:
    node = values
    for part in path:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False, None
    return True, node
