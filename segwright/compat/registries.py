"""Registry names under OpenMMLab paths: ``Registry``/``build_from_cfg`` and MMDetection's scope.

``mmseg.registry.MODELS`` *is* :data:`segwright.registry.MODELS`; only MMDetection's registries
need a view of their own, so that a user module registering through ``mmdet.registry`` adds to
the ``mmdet`` table (see :data:`segwright.registry.SCOPES_WITH_TABLES`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from segwright import registry as _registry


class Registry(_registry.Registry):
    """``Registry(name, build_func=None, parent=None, scope=None, locations=())`` as OpenMMLab
    spells it; a name missing here is looked up in ``parent``.

    ``build_func`` is called as ``build_func(cfg, registry=..., default_args=...)`` (the
    keywords both MMCV and MMEngine builders accept). ``scope`` is accepted and ignored.
    """

    def __init__(
        self,
        name: str,
        build_func: Callable[..., Any] | None = None,
        parent: Any = None,
        scope: str | None = None,
        locations: Sequence[str] = (),
    ) -> None:
        wrapped = None
        if build_func is not None:

            def wrapped(cfg: Any, registry: Any, default_args: Any) -> Any:
                return build_func(cfg, registry=registry, default_args=default_args)

        super().__init__(name, locations=locations, build_func=wrapped)
        self.parent = parent
        self.scope = scope

    def get(self, key: str) -> Any | None:
        found = super().get(key)
        if found is None and self.parent is not None:
            found = self.parent.get(key)
        return found


class ScopedRegistry:
    """A view of a segwright registry that registers, looks up and builds in one scope."""

    def __init__(self, registry: _registry.Registry, scope: str) -> None:
        self.registry = registry
        self.scope = scope

    def __repr__(self) -> str:
        return f"ScopedRegistry({self.registry!r}, scope={self.scope!r})"

    def __getattr__(self, attr: str) -> Any:
        if attr in ("registry", "scope"):  # not set yet (copy, pickle): no recursion
            raise AttributeError(attr)
        return getattr(self.registry, attr)

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None if isinstance(key, str) else False

    def register_module(self, name: Any = None, force: bool = False, module: Any = None) -> Any:
        """As :meth:`segwright.registry.Registry.register_module`, in this view's scope."""
        return self.registry.register_module(
            name=name, force=force, module=module, scope=self.scope
        )

    def get(self, key: str) -> Any | None:
        with _registry.default_scope(self.scope):
            return self.registry.get(key)

    def build(self, cfg: Any, default_args: Mapping[str, Any] | None = None, key: str = "") -> Any:
        with _registry.default_scope(self.scope):
            return self.registry.build(cfg, default_args, key=key)


def build_from_cfg(cfg: Any, registry: Any, default_args: Mapping[str, Any] | None = None) -> Any:
    """``build_from_cfg(cfg, registry, default_args)`` for segwright registries and scoped views."""
    if isinstance(registry, ScopedRegistry):
        with _registry.default_scope(registry.scope):
            return _registry.build_from_cfg(cfg, registry.registry, default_args)
    return _registry.build_from_cfg(cfg, registry, default_args)


MMDET_MODELS = ScopedRegistry(_registry.MODELS, "mmdet")
MMDET_DATASETS = ScopedRegistry(_registry.DATASETS, "mmdet")
MMDET_TRANSFORMS = ScopedRegistry(_registry.TRANSFORMS, "mmdet")
MMDET_METRICS = ScopedRegistry(_registry.METRICS, "mmdet")
MMDET_HOOKS = ScopedRegistry(_registry.HOOKS, "mmdet")
MMDET_TASK_UTILS = ScopedRegistry(_registry.TASK_UTILS, "mmdet")
