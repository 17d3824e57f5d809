"""OpenMMLab import paths for user modules: ``from mmseg.registry import MODELS`` without MMSeg.

A user module written for MMSegmentation, MMCV or MMEngine (a custom head, hook, optimizer or
optimizer constructor) imports names such as ``mmcv.runner.optimizer.OPTIMIZERS``,
``mmseg.registry.MODELS`` or ``mmengine.hooks.Hook``. While a config's ``custom_imports`` are
imported, and only when no real package of that name can be imported, segwright provides those
names as virtual modules that point at its own registries and base classes
(:data:`~segwright.compat.table.MODULES`). So ``@OPTIMIZERS.register_module()`` registers into
:data:`segwright.registry.OPTIMIZERS` and the config can name the class. A name outside the
table raises an ImportError that names the segwright equivalent.

Design (where this sits in the house):
    The shims hand out classes from the engine and the models, so they live on the apis floor,
    beside ``segwright.apis``. The config floor only exposes
    :func:`segwright.config.custom_imports.register_import_context`; this package registers
    :func:`openmmlab_names` there, and the package face (``segwright/__init__.py``) imports this
    package, so the hook is in place whatever entry point loads a config (``Config.fromfile``,
    ``load_config``, the Runner, the CLI) without the config floor importing upward. Importing
    this package is cheap: no torch until a user module reads a name.

    The finder is appended to ``sys.meta_path`` only while :func:`openmmlab_names` is active and
    removed afterwards, together with the virtual modules; modules imported meanwhile keep the
    objects they imported (a process started with ``spawn`` that re-imports such a module
    does so without the shims). A real ``mmcv``/``mmengine``/``mmseg``/``mmdet`` is never shadowed:
    the finder answers a top-level name only when every other finder has declined it, and a
    submodule only under its own virtual package.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from segwright.compat.finder import ShimFinder, is_shim
from segwright.compat.table import MODULES, ROOTS

_FINDER = ShimFinder()
_depth = 0


@contextlib.contextmanager
def openmmlab_names() -> Iterator[None]:
    """Provide the OpenMMLab import paths of :data:`MODULES` while the block runs (re-entrant).

    Use it to import a user module outside ``custom_imports``::

        with openmmlab_names():
            import my_project.heads
    """
    global _depth
    if _depth == 0 and _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _deactivate()


def _deactivate() -> None:
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if n.partition(".")[0] in ROOTS]:
        if is_shim(sys.modules.get(name)):
            del sys.modules[name]


def install() -> None:
    """Wrap every ``custom_imports`` import in :func:`openmmlab_names` (idempotent)."""
    from segwright.config.custom_imports import register_import_context

    register_import_context(openmmlab_names)


__all__ = ["MODULES", "install", "openmmlab_names"]
