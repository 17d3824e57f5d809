"""``Config``: a merged config with attribute access, overrides, dumping and provenance."""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segwright.config.config_dict import ConfigDict
from segwright.config.custom_imports import import_custom_modules
from segwright.config.dump import FORMATTERS
from segwright.config.loader import Layer, display_path, load
from segwright.config.merge import merge_into
from segwright.config.options import expand_dotted, parse_options
from segwright.config.provenance import Origin, explain, origin_of
from segwright.utils.errors import ConfigError
from segwright.utils.suggest import did_you_mean

if TYPE_CHECKING:
    from segwright.config.load import LoadReport

_OWN_ATTRS = ("_cfg_dict", "_filename", "_text", "_layers", "_load_report")


class Config:
    """A config: the merged values of a file and its ``_base_`` chain, plus overrides.

    Values read as attributes or items (``cfg.model.decode_head.num_classes``,
    ``cfg['model']``). ``Config.fromfile`` reads ``.py``, ``.json`` and ``.yaml`` files.
    """

    def __init__(
        self,
        cfg_dict: Mapping[str, Any] | None = None,
        filename: str | os.PathLike[str] | None = None,
        text: str = "",
        layers: list[Layer] | None = None,
    ) -> None:
        values = ConfigDict(cfg_dict or {})
        object.__setattr__(self, "_cfg_dict", values)
        object.__setattr__(self, "_filename", str(filename) if filename is not None else None)
        object.__setattr__(self, "_text", text)
        if layers is None:
            layers = [Layer(source="(set in code)", values=copy.deepcopy(values))]
        object.__setattr__(self, "_layers", layers)
        object.__setattr__(self, "_load_report", None)

    @classmethod
    def fromfile(
        cls,
        filename: str | os.PathLike[str],
        cfg_options: Mapping[str, Any] | None = None,
        import_custom_modules: bool = True,
    ) -> Config:
        """Load a config file with its bases, apply ``cfg_options``, run ``custom_imports``."""
        loaded = load(filename)
        cfg = cls(
            loaded.values, filename=Path(filename).resolve(), text=loaded.text, layers=loaded.layers
        )
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if import_custom_modules:
            cfg.import_custom_modules()
        return cfg

    @classmethod
    def fromstring(cls, text: str, suffix: str = ".py") -> Config:
        """Load a config from its text (``_base_`` entries resolve against the working directory)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"config{suffix}"
            path.write_text(text, encoding="utf-8")
            loaded = load(path, base_dir=Path.cwd())
        return cls(loaded.values, filename=None, text=loaded.text, layers=loaded.layers)

    # -- overrides -------------------------------------------------------------------------

    def merge_from_dict(self, options: Mapping[str, Any], allow_list_keys: bool = True) -> None:
        """Merge ``{'model.backbone.depth': 101, 'x.1.y': 2}`` into this config.

        Digit parts index lists. A key path that goes through a part that does not exist
        is an error naming that part (a new key at the end of an existing path is fine).
        """
        texts = {k: f"{k}={_short(v)}" for k, v in options.items()}
        self._merge_options(options, texts, allow_list_keys)

    def merge_from_options(self, items: list[str]) -> None:
        """Apply ``--cfg-options`` strings (``['a.b=1', 'c=[1,2]']``)."""
        texts = {}
        for item in items:
            key, _, value = item.partition("=")
            texts[key.strip()] = f"{key.strip()}={value}"
        self._merge_options(parse_options(items), texts, allow_list_keys=True)

    def _merge_options(
        self, options: Mapping[str, Any], texts: dict[str, str], allow_list_keys: bool
    ) -> None:
        self._check_option_paths(options)
        tree = expand_dotted(options)
        merged = merge_into(
            tree,
            self._cfg_dict,
            child_source="--cfg-options",
            base_source=self._source_of,
            allow_list_keys=allow_list_keys,
        )
        object.__setattr__(self, "_cfg_dict", merged)
        self._layers.append(Layer(source="--cfg-options", values=tree, option_text=texts))

    def _source_of(self, key: str) -> str:
        for layer in reversed(self._layers):
            if key in layer.values:
                return layer.source
        return "the config"

    def _check_option_paths(self, options: Mapping[str, Any]) -> None:
        where = f" (config {display_path(self._filename)})" if self._filename else ""
        for dotted in options:
            node: Any = self._cfg_dict
            parts = dotted.split(".")
            for depth, part in enumerate(parts[:-1]):
                walked = ".".join(parts[:depth]) or "the top level"
                if isinstance(node, Mapping):
                    if part not in node:
                        keys = [str(k) for k in node]
                        raise ConfigError(
                            f"--cfg-options {dotted}: '{part}' does not exist at {walked}{where}."
                            f"{did_you_mean(part, keys)} Keys there: {', '.join(keys) or '(none)'}. "
                            f"To add a new section, give it whole: "
                            f"{'.'.join(parts[: depth + 1])}={{'key': value}}."
                        )
                    node = node[part]
                elif isinstance(node, (list, tuple)):
                    if not part.isdigit() or int(part) >= len(node):
                        raise ConfigError(
                            f"--cfg-options {dotted}: '{walked}' is a list of {len(node)} "
                            f"element(s); '{part}' is not an index in 0..{len(node) - 1}."
                        )
                    node = node[int(part)]
                else:
                    raise ConfigError(
                        f"--cfg-options {dotted}: '{walked}' is {node!r} "
                        f"({type(node).__name__}), which has no key '{part}'."
                    )
            last = parts[-1]
            if isinstance(node, (list, tuple)) and (not last.isdigit() or int(last) >= len(node)):
                raise ConfigError(
                    f"--cfg-options {dotted}: '{'.'.join(parts[:-1])}' is a list of {len(node)} "
                    f"element(s); '{last}' is not an index in 0..{len(node) - 1}."
                )
            if not isinstance(node, (Mapping, list, tuple)):
                raise ConfigError(
                    f"--cfg-options {dotted}: '{'.'.join(parts[:-1])}' is {node!r} "
                    f"({type(node).__name__}), which has no key '{last}'."
                )

    def import_custom_modules(self) -> None:
        """Import the modules named in ``custom_imports`` (registers the user's classes)."""
        source = display_path(self._filename) if self._filename else "the config"
        import_custom_modules(self._cfg_dict.get("custom_imports"), source)

    # -- mapping interface -----------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN_ATTRS:
            object.__setattr__(self, name, value)
        else:
            self._cfg_dict[name] = value

    def __delattr__(self, name: str) -> None:
        delattr(self._cfg_dict, name)

    def __getitem__(self, key: str) -> Any:
        return self._cfg_dict[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._cfg_dict[key] = value

    def __delitem__(self, key: str) -> None:
        del self._cfg_dict[key]

    def __contains__(self, key: object) -> bool:
        return key in self._cfg_dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._cfg_dict)

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self.to_dict() == other.to_dict()
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Config (path: {self._filename}): {self._cfg_dict.to_dict()!r}"

    def get(self, key: str, default: Any = None) -> Any:
        return self._cfg_dict.get(key, default)

    def keys(self) -> Any:
        return self._cfg_dict.keys()

    def values(self) -> Any:
        return self._cfg_dict.values()

    def items(self) -> Any:
        return self._cfg_dict.items()

    def pop(self, key: str, *default: Any) -> Any:
        return self._cfg_dict.pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        return self._cfg_dict.setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._cfg_dict.update(*args, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict deep copy of the values."""
        return self._cfg_dict.to_dict()

    def copy(self) -> Config:
        return copy.deepcopy(self)

    def __copy__(self) -> Config:
        cfg = Config(self._cfg_dict, self._filename, self._text, list(self._layers))
        object.__setattr__(cfg, "_load_report", self._load_report)
        return cfg

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        cfg = Config(
            copy.deepcopy(self._cfg_dict, memo),
            self._filename,
            self._text,
            copy.deepcopy(self._layers, memo),
        )
        object.__setattr__(cfg, "_load_report", copy.deepcopy(self._load_report, memo))
        return cfg

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _OWN_ATTRS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "_load_report", None)  # pickles from before it existed
        for key, value in state.items():
            object.__setattr__(self, key, value)

    # -- text ------------------------------------------------------------------------------

    @property
    def filename(self) -> str | None:
        return self._filename

    @property
    def layers(self) -> list[Layer]:
        """What each source (file, ``--cfg-options``) wrote, in merge order (for provenance)."""
        return self._layers

    @property
    def load_report(self) -> LoadReport | None:
        """What :func:`segwright.config.load_config` did (0.x translation, notes); None before it ran."""
        return self._load_report

    @property
    def text(self) -> str:
        """The raw text of every file that went into this config, bases first."""
        return self._text

    @property
    def pretty_text(self) -> str:
        """The merged config as a Python config file."""
        return FORMATTERS["py"](self._cfg_dict)

    def dump(self, file: str | os.PathLike[str] | None = None, format: str | None = None) -> str:
        """Write the merged config to ``file`` (format from its suffix) and return the text."""
        if format is None:
            if file is not None:
                format = Path(file).suffix.lstrip(".")
            elif self._filename is not None:
                format = Path(self._filename).suffix.lstrip(".")
            else:
                format = "py"
        if format not in FORMATTERS:
            raise ConfigError(f"Cannot dump a config as {format!r}; use py, json or yaml.")
        text = FORMATTERS[format](self._cfg_dict)
        if file is not None:
            Path(file).write_text(text, encoding="utf-8")
        return text

    def explain(self) -> list[Origin]:
        """Every leaf key with its value and the file:line or --cfg-options entry that set it."""
        return explain(self._cfg_dict, self._layers)

    def origin_of(self, key: str) -> str | None:
        """Where ``key`` (``'model.decode_head.num_clases'``, ``'x.pipeline[2]'``) was set.

        ``'configs/x.py:12'`` or ``'--cfg-options KEY=VALUE'`` (the user's 0.x file for a
        translated key); for a key nothing wrote, its nearest parent's place; else None. Pass it
        to :func:`segwright.utils.key_origins.key_origins` so build errors name the file and line.
        """
        return origin_of(self._layers, key)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
