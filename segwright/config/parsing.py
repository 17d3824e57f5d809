"""Reading one config file: text substitutions, ``_base_`` discovery, evaluation, line numbers.

``.json`` and ``.yaml`` files run no code (``yaml.safe_load``); ``.py`` files are Python and
are executed, as in MMCV/MMEngine.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import traceback
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from segwright.utils.errors import ConfigError

SUPPORTED_SUFFIXES = (".py", ".json", ".yaml", ".yml")
BASE_KEY = "_base_"
RESERVED_KEYS = ("filename", "text", "pretty_text", "env_variables")

#: A leaf or node of a config, as a tuple of dict keys and list indices.
KeyPath = tuple[Any, ...]

_PREDEFINED = re.compile(
    r"\{\{\s*(fileDirname|fileBasename|fileBasenameNoExtension|fileExtname)\s*\}\}"
)
_ENV = re.compile(r"\{\{\s*['\"]?\s*\$(\w+)\s*(?::\s*(.*?))?\s*['\"]?\s*\}\}")
_BASE_REF = re.compile(r"(['\"]?)\{\{\s*_base_\.([\w.]+)\s*\}\}\1")
TOKEN_PREFIX = "_segwright_base_ref_"


@dataclass
class ParsedFile:
    """One file's own content, before it is merged with its bases."""

    path: Path
    text: str
    bases: list[str]
    # token -> dotted key of a {{_base_.x}} reference, resolved once the bases are merged.
    references: dict[str, str] = field(default_factory=dict)
    lines: dict[KeyPath, int] = field(default_factory=dict)
    tree: ast.Module | None = None
    data: dict[str, Any] = field(default_factory=dict)


def check_suffix(path: Path) -> None:
    if path.suffix not in SUPPORTED_SUFFIXES:
        raise ConfigError(
            f"Config file {path} has an unsupported extension {path.suffix!r}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}."
        )


def substitute_text(text: str, path: Path) -> tuple[str, dict[str, str]]:
    """Apply predefined variables, ``{{$ENV:default}}`` and base-reference tokens to raw text."""
    names = {
        "fileDirname": str(path.parent).replace("\\", "/"),
        "fileBasename": path.name,
        "fileBasenameNoExtension": path.stem,
        "fileExtname": path.suffix,
    }
    text = _PREDEFINED.sub(lambda m: names[m.group(1)], text)

    def env(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name, default)
        if value is None or value == "":
            raise ConfigError(
                f"{path}: environment variable ${name} is not set and has no default. "
                f"Set it, or write {{{{${name}:default}}}}."
            )
        return value

    text = _ENV.sub(env, text)
    references: dict[str, str] = {}

    def reference(match: re.Match[str]) -> str:
        token = f"{TOKEN_PREFIX}{len(references)}_"
        references[token] = match.group(2)
        return f'"{token}"'

    text = _BASE_REF.sub(reference, text)
    return text, references


def _syntax_error(path: Path, exc: SyntaxError) -> ConfigError:
    line = (exc.text or "").rstrip("\n")
    return ConfigError(
        f"Syntax error in config {path}:{exc.lineno}: {exc.msg}\n    {line.strip()}\n"
        "Fix the Python syntax on that line."
    )


def parse_file(path: Path) -> ParsedFile:
    """Read and pre-process one file; the values are produced later by :func:`evaluate`."""
    check_suffix(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc.strerror}.") from None
    text, references = substitute_text(raw, path)
    parsed = ParsedFile(path=path, text=raw, bases=[], references=references)
    if path.suffix == ".py":
        try:
            tree = ast.parse(text, filename=str(path))
        except SyntaxError as exc:
            raise _syntax_error(path, exc) from None
        _reject_lazy_config(tree, path)
        parsed.tree = tree
        parsed.bases = _bases_from_ast(tree, path)
        parsed.lines = python_line_map(tree)
        _warn_trailing_commas(tree, path)
    else:
        data = _load_data_file(text, path)
        parsed.bases = _normalise_bases(data.pop(BASE_KEY, []), path)
        parsed.lines = data_line_map(text)
        parsed.data = data
    return parsed


def _load_data_file(text: str, path: Path) -> dict[str, Any]:
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"Invalid JSON in config {path}:{exc.lineno}: {exc.msg}.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"Invalid YAML in config {path}{where}: {problem}.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"Config {path} must hold a mapping of keys to values at the top, "
            f"got {type(data).__name__}."
        )
    return data


def _normalise_bases(value: Any, path: Path) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{path}: _base_ must be a file path or a list of file paths, got {value!r}.")


def _reject_lazy_config(tree: ast.Module, path: Path) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "read_base":
                    raise ConfigError(
                        f"{path}:{node.lineno}: MMEngine's pure-Python configs "
                        "('with read_base():') are not supported. Write _base_ = [...] "
                        "with paths to the base files instead."
                    )


def _bases_from_ast(tree: ast.Module, path: Path) -> list[str]:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == BASE_KEY
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                raise ConfigError(
                    f"{path}:{node.lineno}: _base_ must be a literal string or list of "
                    "strings (it is read before the file runs)."
                ) from None
            return _normalise_bases(value, path)
    return []


#: Top-level keys whose value is one dict. ``key = dict(...),`` (a stray trailing comma, as in
#: MMDetection's fine-tuning guide) makes a 1-tuple of it; the loader reads the dict (and
#: warns) for these keys, since a tuple there can only be a mistake.
DICT_KEYS = frozenset(
    {
        "model", "data_preprocessor", "tta_model", "default_hooks", "env_cfg", "randomness",
        "log_processor", "visualizer", "optim_wrapper", "train_cfg", "val_cfg", "test_cfg",
        "train_dataloader", "val_dataloader", "test_dataloader", "model_wrapper_cfg",
        # MMSeg 0.x keys
        "data", "optimizer", "optimizer_config", "lr_config", "momentum_config",
        "checkpoint_config", "log_config", "evaluation", "runner", "dist_params",
    }
)  # fmt: skip


def _warn_trailing_commas(tree: ast.Module, path: Path) -> None:
    """Warn about ``x = dict(...),``: a one-element tuple that replaces the base value.

    Keys of :data:`DICT_KEYS` are left to the loader, which reads the dict out of the tuple.
    """
    for node in tree.body:
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Tuple):
            continue
        if ast.unparse(node.targets[0]) in DICT_KEYS:
            continue
        elts = node.value.elts
        # A bare tuple starts where its element starts; "(dict(...),)" is written on purpose.
        bare = len(elts) == 1 and (node.value.lineno, node.value.col_offset) == (
            elts[0].lineno,
            elts[0].col_offset,
        )
        if bare and _is_dict_expr(elts[0]):
            name = ast.unparse(node.targets[0])
            warnings.warn(
                f"{path}:{node.lineno}: '{name} = dict(...),' ends with a comma, which makes "
                f"'{name}' a tuple holding one dict; it replaces the base value instead of "
                "merging into it (as in MMCV/MMEngine). Remove the trailing comma.",
                UserWarning,
                stacklevel=2,
            )


def _is_dict_expr(node: ast.AST) -> bool:
    if isinstance(node, ast.Dict):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict"


def python_line_map(tree: ast.Module) -> dict[KeyPath, int]:
    """The line that writes each key path of a ``.py`` config, found from its syntax tree."""
    lines: dict[KeyPath, int] = {}

    def walk(node: ast.AST, path: KeyPath) -> None:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "dict"
        ):
            for kw in node.keywords:
                if kw.arg is not None:
                    lines[path + (kw.arg,)] = kw.value.lineno
                    walk(kw.value, path + (kw.arg,))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant):
                    lines[path + (key.value,)] = key.lineno
                    walk(value, path + (key.value,))
        elif isinstance(node, (ast.List, ast.Tuple)):
            for index, element in enumerate(node.elts):
                lines[path + (index,)] = element.lineno
                walk(element, path + (index,))

    for node in tree.body:
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            targets = [node.target]
        for target in targets:
            path = _target_path(target)
            if path:
                lines[path] = node.lineno
                walk(node.value, path)
    return lines


def _target_path(node: ast.AST) -> KeyPath:
    """``model.decode_head['num_classes']`` -> ``('model', 'decode_head', 'num_classes')``."""
    parts: list[Any] = []
    while True:
        if isinstance(node, ast.Name):
            parts.append(node.id)
            return tuple(reversed(parts))
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            parts.append(node.slice.value)
            node = node.value
        else:
            return ()


def data_line_map(text: str) -> dict[KeyPath, int]:
    """The line of each key path of a YAML or JSON document (JSON is read as YAML here)."""
    lines: dict[KeyPath, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: Any, path: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = getattr(key_node, "value", None)
                if isinstance(key, str):
                    lines[path + (key,)] = key_node.start_mark.line + 1
                    walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[path + (index,)] = item.start_mark.line + 1
                walk(item, path + (index,))

    if root is not None:
        walk(root, ())
    return lines


def _user_frame_line(exc: BaseException, path: Path) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == str(path):
            return frame.lineno
    return None


def evaluate(parsed: ParsedFile, base: dict[str, Any]) -> dict[str, Any]:
    """Run a ``.py`` file (with ``_base_`` bound to its merged bases) or return a data file's dict."""
    if parsed.tree is None:
        return parsed.data
    from segwright.config.config_dict import ConfigDict

    tree = parsed.tree
    body = [
        node
        for node in tree.body
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == BASE_KEY
        )
    ]
    module = ast.Module(body=body, type_ignores=[])
    code = compile(module, filename=str(parsed.path), mode="exec")
    namespace: dict[str, Any] = {
        "__file__": str(parsed.path),
        "__name__": "__segwright_config__",
        BASE_KEY: base if isinstance(base, ConfigDict) else ConfigDict(base),
    }
    sys.path.insert(0, str(parsed.path.parent))
    try:
        exec(code, namespace)
    except Exception as exc:
        line = _user_frame_line(exc, parsed.path)
        where = f"{parsed.path}:{line}" if line else str(parsed.path)
        source = ""
        if line:
            text_lines = parsed.text.splitlines()
            if 0 < line <= len(text_lines):
                source = f"\n    {text_lines[line - 1].strip()}"
        hint = (
            "Check that the base files define the key read through _base_."
            if (BASE_KEY in source)
            else ""
        )
        raise ConfigError(
            f"Running config {where} failed: {type(exc).__name__}: {exc}{source}\n{hint}".rstrip()
        ) from exc
    finally:
        try:
            sys.path.remove(str(parsed.path.parent))
        except ValueError:
            pass
    values = {}
    for name, value in namespace.items():
        if name.startswith("__") or name == BASE_KEY:
            continue
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.ModuleType)):
            continue
        values[name] = value
    return values
