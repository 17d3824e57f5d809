"""``custom_imports``: import the user's modules so their ``@register_module()`` runs (SPEC §1.6)."""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Mapping
from typing import Any

from segwright.utils.errors import ConfigError


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
    for name in imports:
        try:
            modules.append(importlib.import_module(name))
        except ImportError as exc:
            if allow_failed:
                warnings.warn(f"custom_imports: {name} could not be imported ({exc}); going on.")
                modules.append(None)
                continue
            raise ConfigError(
                f"custom_imports in {source} names the module {name!r}, which cannot be "
                f"imported: {exc}. Make sure it is on the Python path (the working directory "
                f"or PYTHONPATH; searched: {', '.join(sys.path[:4])}, ...), or set "
                "allow_failed_imports=True."
            ) from exc
    return modules
