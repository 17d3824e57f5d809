"""``custom_imports``: import the user's modules so their ``@register_module()`` runs (SPEC §1.6).

Floors above this one may wrap the imports in a context of their own through
:func:`register_import_context` (``segwright.compat`` provides MMCV/MMEngine/MMSeg import paths
that way), so this floor never imports upward.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from segwright.utils.errors import ConfigError


class CustomImportError(ConfigError, ImportError):
    """A module named in ``custom_imports`` could not be imported (a ConfigError and an ImportError)."""


_IMPORT_CONTEXTS: list[Callable[[], contextlib.AbstractContextManager[Any]]] = []


def register_import_context(factory: Callable[[], contextlib.AbstractContextManager[Any]]) -> None:
    """Enter ``factory()`` around every ``custom_imports`` import (registering twice is a no-op)."""
    if factory not in _IMPORT_CONTEXTS:
        _IMPORT_CONTEXTS.append(factory)


def import_custom_modules(
    custom_imports: Mapping[str, Any] | None, source: str = "the config"
) -> list[Any]:
    """Import every module named in ``custom_imports['imports']``; return them (None if failed)."""
    if not custom_imports:
        return []
    if not isinstance(custom_imports, Mapping):
        raise ConfigError(
            f"custom_imports in {source} must be dict(imports=[...], allow_failed_imports=False), "
            f"got {custom_imports!r}."
        )
    imports = custom_imports.get("imports", [])
    if isinstance(imports, str):
        imports = [imports]
    if not isinstance(imports, (list, tuple)) or not all(isinstance(i, str) for i in imports):
        raise ConfigError(
            f"custom_imports.imports in {source} must be a module name or a list of names, "
            f"got {imports!r}."
        )
    allow_failed = bool(custom_imports.get("allow_failed_imports", False))
    modules = []
    with contextlib.ExitStack() as stack:
        for factory in _IMPORT_CONTEXTS:
            stack.enter_context(factory())
        for name in imports:
            modules.append(_import_one(name, allow_failed, source))
    return modules


def _import_one(name: str, allow_failed: bool, source: str) -> Any:
    """Import ``name``; None (with a warning) when it fails and ``allow_failed`` is set."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if allow_failed:
            warnings.warn(f"custom_imports: {name} could not be imported ({exc}); going on.")
            return None
        missing = exc.name or ""
        if missing and missing != name and not name.startswith(missing + "."):
            # The module was found; something it imports was not.
            raise CustomImportError(
                f"custom_imports in {source} names the module {name!r}; importing it failed: {exc}"
            ) from exc
        raise CustomImportError(
            f"custom_imports in {source} names the module {name!r}, which cannot be "
            f"imported: {exc}. Make sure it is on the Python path (the working directory "
            f"or PYTHONPATH; searched: {', '.join(sys.path[:4])}, ...), or set "
            "allow_failed_imports=True."
        ) from exc
