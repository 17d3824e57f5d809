"""The import machinery behind ``segwright.compat``: a meta-path finder for virtual modules.

A virtual module (``mmseg.registry``, ``mmcv.runner``...) is an empty package whose names are
looked up in :data:`segwright.compat.table.MODULES` the first time they are read, so loading one
imports nothing heavy until a user module asks for a name. A name or submodule that the table
lacks raises an ImportError that names the segwright equivalent.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

from segwright.compat.table import MODULES, ROOTS, equivalent

DOCS = 'docs/migration.md, "Modules written for MMSeg, MMCV or MMEngine"'


def not_provided(dotted: str, module: str | None = None) -> ImportError:
    """The ImportError for a name of ``module``, or a whole module, that the shims lack."""
    kind = "names" if module else "modules"
    root = module or dotted.rpartition(".")[0] or dotted
    return ImportError(
        f"{dotted} is not among the OpenMMLab {kind} segwright provides (OpenMMLab is not "
        f"installed, so segwright stands in for {root} while it imports a config's "
        f"custom_imports). segwright's equivalent: {equivalent(dotted)}. The names covered are "
        f"listed in {DOCS}.",
        name=module or dotted,
    )


class ShimModule(types.ModuleType):
    """A virtual OpenMMLab module whose names resolve lazily to segwright objects."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        submodule = f"{name}.{attr}"
        if submodule in MODULES:
            return importlib.import_module(submodule)
        target = MODULES.get(name, {}).get(attr)
        if target is None:
            if attr.startswith("_"):
                raise AttributeError(f"module {name!r} has no attribute {attr!r}")
            raise not_provided(submodule, name)
        module_name, _, obj_name = target.partition(":")
        value = getattr(importlib.import_module(module_name), obj_name)
        setattr(self, attr, value)
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(MODULES.get(self.__name__, {})))


def is_shim(module: Any) -> bool:
    """Whether ``module`` is one of our virtual modules."""
    return isinstance(module, ShimModule)


class ShimFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads the virtual modules; sits last on ``sys.meta_path`` while active."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        root = fullname.partition(".")[0]
        if root not in ROOTS:
            return None
        if fullname == root:
            if self._installed_elsewhere(fullname):
                return None  # a real package: never shadow it
        elif not is_shim(sys.modules.get(root)):
            return None  # a submodule of a real package: its own finders answer
        if fullname not in MODULES:
            raise not_provided(fullname)
        return importlib.machinery.ModuleSpec(
            fullname, self, origin="segwright.compat", is_package=True
        )

    def _installed_elsewhere(self, fullname: str) -> bool:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            try:
                if finder.find_spec(fullname, None) is not None:
                    return True
            except (ImportError, ValueError):
                continue
        return False

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return ShimModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []
        module.__all__ = sorted(MODULES[module.__name__])
        module.__doc__ = (
            f"segwright's stand-in for {module.__name__} (OpenMMLab is not installed); see {DOCS}."
        )
