"""Registries: the names a config's ``type=`` can take, and how a config dict becomes an object.

Every built-in registers itself where it is defined. A registry imports the modules that
hold its built-ins (its ``locations``) the first time it is asked for a name, so importing
``segwright`` stays cheap (the CLI answers ``--help`` without importing torch) while users
never have to call a ``register_all_modules()``.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from segwright.utils.errors import (
    ConfigError,
    RegistryError,
    SegwrightError,
    config_error_like,
)
from segwright.utils.key_origins import set_at
from segwright.utils.suggest import close_matches, did_you_mean

#: Scope prefixes found in OpenMMLab configs (``type='mmseg.EncoderDecoder'``); they name our own classes.
KNOWN_SCOPES = ("segwright", "mmseg", "mmengine", "mmcv", "mmdet", "mmpretrain", "mmcls")

#: Scopes whose meaning of a shared name differs from the semantic-segmentation one. A name
#: that MMDetection and MMSegmentation both use (``Resize``, ``LoadAnnotations``,
#: ``CityscapesDataset``, ``CrossEntropyLoss``...) is registered twice: once in the shared table
#: (MMSeg's meaning, what every scope without a table of its own sees) and once in the
#: ``mmdet`` table. Every other scope name reads the shared table only.
SCOPES_WITH_TABLES = ("mmdet",)

# The scope that unprefixed names are looked up in first (a config's ``default_scope``).
_DEFAULT_SCOPE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "segwright_default_scope", default=None
)

# The config key path of the dict being built, e.g. ``model.decode_head.loss_decode[1]``.
_BUILD_PATH: contextvars.ContextVar[str] = contextvars.ContextVar(
    "segwright_build_path", default=""
)


def current_build_path() -> str:
    """The key path of the config dict being built right now ('' outside a build)."""
    return _BUILD_PATH.get()


def join_path(parent: str, key: str) -> str:
    """Join key paths: ``join_path('model', 'backbone')`` -> ``'model.backbone'``; ``[1]`` appends."""
    if not parent:
        return key
    if not key:
        return parent
    return parent + key if key.startswith("[") else f"{parent}.{key}"


@contextlib.contextmanager
def build_path(key: str) -> Iterator[str]:
    """Extend the key path used in error messages while building a nested part."""
    path = join_path(_BUILD_PATH.get(), key)
    token = _BUILD_PATH.set(path)
    try:
        yield path
    finally:
        _BUILD_PATH.reset(token)


def split_scope(key: str) -> tuple[str | None, str]:
    """``'mmseg.EncoderDecoder'`` -> ``('mmseg', 'EncoderDecoder')``; a name without scope -> ``(None, key)``."""
    scope, dot, rest = key.partition(".")
    if dot and scope in KNOWN_SCOPES:
        return scope, rest
    return None, key


def normalize_scope(scope: Any, key: str = "default_scope") -> str | None:
    """The table a scope name reads: ``'mmdet'`` -> ``'mmdet'``; ``'mmseg'``, None... -> None.

    Raises:
        ConfigError: ``scope`` is not a scope name segwright knows.
    """
    if scope is None:
        return None
    if not isinstance(scope, str) or scope not in KNOWN_SCOPES:
        raise ConfigError(
            f"{key}={scope!r} is not a scope segwright knows. Use one of "
            f"{', '.join(repr(s) for s in KNOWN_SCOPES)} ('mmdet' for MMDetection configs, "
            "'mmseg' for MMSegmentation ones), or leave it unset."
        )
    return scope if scope in SCOPES_WITH_TABLES else None


def current_scope() -> str | None:
    """The scope unprefixed ``type`` names are looked up in first (None: the shared table)."""
    return _DEFAULT_SCOPE.get()


@contextlib.contextmanager
def default_scope(scope: str | None, key: str = "default_scope") -> Iterator[str | None]:
    """Look unprefixed names up in ``scope`` first while the block runs (a config's
    ``default_scope``: ``'mmdet'`` gives ``Resize`` MMDetection's meaning)."""
    token = _DEFAULT_SCOPE.set(normalize_scope(scope, key))
    try:
        yield _DEFAULT_SCOPE.get()
    finally:
        _DEFAULT_SCOPE.reset(token)


def _import_dotted(path: str) -> Any | None:
    """Import ``pkg.module.Name`` and return the object, or None when it does not resolve."""
    module_name, dot, attr = path.rpartition(".")
    if not dot:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, attr, None)


class Registry:
    """A name -> class (or function) table with ``build`` from config dicts.

    Args:
        name: What the registry holds ("model", "hook", ...); used in messages.
        locations: Modules imported on first lookup so their built-ins register themselves.
        build_func: Replaces the default :meth:`build_from_cfg` (e.g. to build lists).
    """

    def __init__(
        self,
        name: str,
        locations: Sequence[str] = (),
        build_func: Callable[..., Any] | None = None,
    ) -> None:
        self.name = name
        self._locations = list(locations)
        self._imported = not self._locations
        self._module_dict: dict[str, Any] = {}
        self._scoped: dict[str, dict[str, Any]] = {}  # scope -> its own meaning of shared names
        self._build_func = build_func
        self._internal: set[str] = set()  # test helpers: buildable, never offered to users
        self._defaults: dict[str, str] = {}  # default key -> type name (default_specs)

    def __repr__(self) -> str:
        return f"Registry(name={self.name!r}, items={len(self._module_dict)})"

    # -- registration ----------------------------------------------------------------------

    def _register(
        self,
        module: Any,
        names: str | Sequence[str] | None,
        force: bool,
        scope: str | None = None,
        internal: bool = False,
        default_key: str | None = None,
    ) -> None:
        if scope is not None and scope not in SCOPES_WITH_TABLES:
            raise ValueError(
                f"scope={scope!r}: only {', '.join(SCOPES_WITH_TABLES)} has a table of its own; "
                "register without a scope to add to the shared table."
            )
        table = self._module_dict if scope is None else self._scoped.setdefault(scope, {})
        if not callable(module):
            raise TypeError(
                f"Only callables can be registered in the {self.name} registry, got {module!r}."
            )
        if names is None:
            names = [module.__name__]
        elif isinstance(names, str):
            names = [names]
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"Registered names must be strings, got {name!r}.")
            existing = table.get(name)
            if existing is not None and existing is not module and not force:
                where = getattr(existing, "__module__", "?")
                within = f" (scope {scope!r})" if scope else ""
                raise RegistryError(
                    f"{name!r} is already registered in the {self.name} registry{within} (by "
                    f"{where}). Pick another name, or pass force=True to replace it."
                )
            table[name] = module
        (self._internal.update if internal else self._internal.difference_update)(names)
        if default_key is not None:
            kind = f"{scope}.{names[0]}" if scope else names[0]
            taken = self._defaults.get(default_key)
            if taken not in (None, kind) and not force:
                raise RegistryError(
                    f"default_key={default_key!r} of the {self.name} registry is taken by "
                    f"{taken!r}. Pick another key, or pass force=True to replace it."
                )
            self._defaults[default_key] = kind

    def register_module(
        self,
        name: str | Sequence[str] | None = None,
        force: bool = False,
        module: Any = None,
        scope: str | None = None,
        internal: bool = False,
        default_key: str | None = None,
    ) -> Any:
        """Register a class or function, as a decorator or a call.

        ``@R.register_module()``, ``@R.register_module(name='Alias')`` or
        ``R.register_module(module=Cls)`` (returns ``Cls``). A duplicate name raises unless
        ``force=True``. ``scope='mmdet'`` registers MMDetection's meaning of a name that the
        shared table already gives MMSegmentation's meaning (see :data:`SCOPES_WITH_TABLES`).
        ``internal=True`` (test helpers): buildable, but left out of the names errors offer.
        ``default_key='preflight'``: a part every consumer builds, see :meth:`default_specs`.
        """
        if not isinstance(force, bool):
            raise TypeError(f"force must be a bool, got {type(force).__name__}.")
        if module is not None:
            self._register(module, name, force, scope, internal, default_key)
            return module
        if name is not None and not isinstance(name, str) and callable(name):
            # MMCV's deprecated form: register_module(SomeClass).
            self._register(name, None, force, scope, internal, default_key)
            return name

        def decorator(obj: Any) -> Any:
            self._register(obj, name, force, scope, internal, default_key)
            return obj

        return decorator

    # -- lookup ----------------------------------------------------------------------------

    def import_builtins(self) -> None:
        """Import the modules that register this registry's built-ins (once)."""
        if self._imported:
            return
        self._imported = True  # set first: a location may look names up while it imports
        try:
            for location in self._locations:
                importlib.import_module(location)
        except BaseException:
            # Retry (and fail loudly again) on the next lookup rather than answer
            # "unknown type" for every built-in from then on.
            self._imported = False
            raise

    def get(self, key: str) -> Any | None:
        """The object registered as ``key``, else None.

        The scope, a ``mmdet.`` prefix or else the current :func:`default_scope`, picks that
        scope's meaning of a shared name; every other name (and ``mmseg.``/``mmengine.``
        prefixed ones) reads the shared table. A dotted Python path (``my_pkg.hooks.MyHook``)
        is imported as a last resort, as MMEngine does for configs that name classes by their
        import path.
        """
        self.import_builtins()
        prefix, bare = split_scope(key)
        scope = normalize_scope(prefix) if prefix is not None else current_scope()
        if scope is not None and bare in self._scoped.get(scope, {}):
            return self._scoped[scope][bare]
        if key in self._module_dict:
            return self._module_dict[key]
        if bare in self._module_dict:
            return self._module_dict[bare]
        if "." in key:
            return _import_dotted(key)
        return None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        self.import_builtins()
        return len(self._module_dict)

    def names(self, include_internal: bool = True) -> list[str]:
        """All registered names, sorted; scoped meanings as ``'mmdet.Resize'``; test helpers
        only with ``include_internal``."""
        self.import_builtins()
        scoped = [f"{scope}.{name}" for scope, table in self._scoped.items() for name in table]
        hidden = set() if include_internal else self._internal
        return sorted(n for n in [*self._module_dict, *scoped] if split_scope(n)[1] not in hidden)

    def default_specs(self) -> dict[str, dict[str, Any]]:
        """``{key: dict(type=name)}`` registered with ``default_key``: parts that consumers build
        unless a config removes (``default_hooks.<key>=None``) or replaces them."""
        self.import_builtins()
        return {key: dict(type=kind) for key, kind in self._defaults.items()}

    def set_build_func(self, build_func: Callable[..., Any]) -> None:
        """Replace how this registry builds (e.g. schedulers convert epochs to iterations)."""
        self._build_func = build_func

    @property
    def module_dict(self) -> Mapping[str, Any]:
        self.import_builtins()
        return dict(self._module_dict)

    # -- building --------------------------------------------------------------------------

    def build(self, cfg: Any, default_args: Mapping[str, Any] | None = None, key: str = "") -> Any:
        """Build an object from a config dict ``dict(type=..., **kwargs)``.

        Args:
            cfg: The dict; ``type`` is a registered name, a dotted path or a class.
            default_args: Arguments used where ``cfg`` has none (``setdefault``).
            key: This dict's key in its parent config, for error messages (``'decode_head'``).
        """
        self.import_builtins()  # built-ins may also install a build_func
        with build_path(key):
            if self._build_func is not None:
                return self._build_func(cfg, self, default_args)
            return build_from_cfg(cfg, self, default_args)


def _describe_path(key: str = "") -> str:
    path = current_build_path()
    return f" at config key '{path}'{set_at(join_path(path, key))}" if path else ""


def resolve_type(registry: Registry, obj_type: Any) -> Any:
    """Turn a ``type`` value into a callable, or raise a :class:`RegistryError` that helps."""
    if isinstance(obj_type, str):
        obj = registry.get(obj_type)
        if obj is None:
            _, bare = split_scope(obj_type)
            shown = registry.names(include_internal=False)
            raise RegistryError(
                f"Unknown {registry.name} type {obj_type!r}{_describe_path('type')}."
                f"{did_you_mean(bare, shown)} "
                f"Registered {registry.name} types: {', '.join(shown) or '(none)'}. "
                "A class of your own must be registered with "
                f"@register_module() in a module listed in custom_imports."
            )
        return obj
    if callable(obj_type):
        return obj_type
    raise ConfigError(
        f"'type'{_describe_path('type')} must be a name or a class, got {type(obj_type).__name__} {obj_type!r}."
    )


_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _forwarded_parameters(cls: type) -> list[inspect.Parameter] | None:
    """The keyword parameters a segwright class's ``**kwargs`` reach, or None if unknown.

    Product classes forward ``**kwargs`` to their base class (``PSPHead`` -> ``BaseDecodeHead``),
    so the keys they accept are their own plus the next ``__init__`` up the MRO, repeated while
    that one forwards too. Outside segwright (user classes, torch) ``**kwargs`` may be consumed
    in any way, so the answer is None and nothing is refused.
    """
    if not getattr(cls, "__module__", "").startswith("segwright."):
        return None
    collected: list[inspect.Parameter] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if not getattr(klass, "__module__", "").startswith("segwright."):
            # torch.nn.Module / object take no config keys: the chain ends here.
            return collected if klass in (object, torch_module()) else None
        try:
            params = list(inspect.signature(init).parameters.values())[1:]  # drop self
        except (TypeError, ValueError):
            return None
        collected += [p for p in params if p.kind in _KEYWORD_KINDS]
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return collected
    return collected


def torch_module() -> Any:
    """``torch.nn.Module`` when torch is imported (the registry floor does not import it)."""
    torch = sys.modules.get("torch")
    return torch.nn.Module if torch is not None else None


def check_arguments(obj: Any, kwargs: Mapping[str, Any], label: str) -> None:
    """Raise a :class:`ConfigError` naming the bad argument when ``obj(**kwargs)`` cannot bind."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # builtins without a signature: let the call speak
        return
    params = list(signature.parameters.values())
    catch_all = [p.name for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    if catch_all:
        # Convention: ``**kwargs`` is forwarded to the base class; any other name
        # (``**resize_kwargs``) is consumed by the class itself, which checks it.
        forwarded = (
            _forwarded_parameters(obj)
            if isinstance(obj, type) and catch_all == ["kwargs"]
            else None
        )
        accepts_any = forwarded is None
        if forwarded is not None:
            own = {p.name for p in params}
            params = [p for p in params if p.kind in _KEYWORD_KINDS]
            params += [p for p in forwarded if p.name not in own]
    else:
        accepts_any = False
    accepted = list(dict.fromkeys(p.name for p in params if p.kind in _KEYWORD_KINDS))
    if not accepts_any:
        unknown = [k for k in kwargs if k not in accepted]
        if unknown:
            hints = "".join(did_you_mean(k, accepted) for k in unknown)
            raise ConfigError(
                f"{label}{_describe_path(str(unknown[0]))} got unexpected argument(s) "
                f"{', '.join(repr(k) for k in unknown)}.{hints} "
                f"Accepted arguments: {', '.join(accepted) or '(none)'}."
            )
    missing = [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind in _KEYWORD_KINDS
        and p.name not in kwargs
    ]
    if missing:
        given = [k for k in kwargs if k not in accepted]
        hints = "".join(
            f" Given {k!r}: did you mean {m!r}?"
            for k in given
            for m in close_matches(k, missing, n=1)
        )
        raise ConfigError(
            f"{label}{_describe_path()} is missing required argument(s) "
            f"{', '.join(repr(k) for k in missing)}.{hints} Accepted arguments: "
            f"{', '.join(accepted)}."
        )


def build_from_cfg(
    cfg: Any, registry: Registry, default_args: Mapping[str, Any] | None = None
) -> Any:
    """Default build: look ``type`` up in ``registry`` and call it with the other keys."""
    if not isinstance(cfg, Mapping):
        raise ConfigError(
            f"Expected a dict with a 'type' key to build a {registry.name}{_describe_path()}, "
            f"got {type(cfg).__name__}: {cfg!r}."
        )
    if default_args is not None and not isinstance(default_args, Mapping):
        raise TypeError(f"default_args must be a dict or None, got {type(default_args).__name__}.")
    args = dict(cfg)
    for name, value in (default_args or {}).items():
        args.setdefault(name, value)
    scope = args.pop("_scope_", None)
    if scope is not None:  # MMEngine: this dict and what it builds read names in that scope
        with default_scope(scope, key=join_path(current_build_path(), "_scope_")):
            return build_from_cfg(args, registry)
    if "type" not in args:
        raise ConfigError(
            f"The {registry.name} config{_describe_path()} has no 'type' key: {dict(cfg)!r}. "
            f"Add type='<name>' (one of: {', '.join(registry.names(include_internal=False)[:20])}...)."
        )
    obj_type = args.pop("type")
    obj = resolve_type(registry, obj_type)
    label = getattr(obj, "__name__", repr(obj))
    check_arguments(obj, args, label)
    try:
        return obj(**args)
    except SegwrightError as exc:
        raise _with_path(exc) from None
    except (TypeError, ValueError, IndexError, AssertionError) as exc:
        if not isinstance(obj, type):
            raise  # a build function may raise for its own reasons
        # A value of the right name but the wrong type or range (num_classes=2.0, prob=1.5)
        # fails inside the class or in torch: say which config key it came from.
        raise config_error_like(exc)(
            f"{label}{_describe_path()} cannot be built from its arguments: "
            f"{type(exc).__name__}: {exc}. Check the values of "
            f"{', '.join(f'{k}={v!r}' for k, v in args.items() if k in cfg and not _is_built(v))[:400]}."
        ) from exc


def _with_path(exc: SegwrightError) -> SegwrightError:
    """``exc`` with the config key it was raised under, unless its message has it already."""
    path = current_build_path()
    message = str(exc)
    if not path or path in message or len(exc.args) != 1:
        return exc
    try:
        return type(exc)(f"{message} (config key '{path}'{set_at(path)})")
    except Exception:  # noqa: BLE001 - an error class with another signature: leave it
        return exc


def _is_built(value: Any) -> bool:
    """An object passed in (a module, a dataset), not a config value worth printing."""
    return not isinstance(value, (int, float, str, bool, list, tuple, dict, type(None)))


def build_if_dict(value: Any, registry: Registry, key: str = "", **default_args: Any) -> Any:
    """Build ``value`` when it is a config dict; pass built objects (and None) through."""
    if isinstance(value, Mapping):
        return registry.build(value, default_args or None, key=key)
    return value


# The registries of ARCHITECTURE.md. Locations are imported on first lookup.
MODELS = Registry(
    "model",
    locations=[
        "segwright.models",
        "segwright.engine.model",
        "segwright.engine.ema",
        "segwright.testing",
    ],
)
TASK_UTILS = Registry("task util", locations=["segwright.models"])  # pixel samplers (OHEM)
DATASETS = Registry("dataset", locations=["segwright.datasets", "segwright.testing"])
TRANSFORMS = Registry("transform", locations=["segwright.datasets"])
DATA_SAMPLERS = Registry("data sampler", locations=["segwright.engine.data"])
FUNCTIONS = Registry("function", locations=["segwright.engine.data"])  # collate functions
OPTIMIZERS = Registry("optimizer", locations=["segwright.engine.optim"])
OPTIM_WRAPPERS = Registry("optimizer wrapper", locations=["segwright.engine.optim"])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    "optimizer wrapper constructor", locations=["segwright.engine.optim"]
)
PARAM_SCHEDULERS = Registry("parameter scheduler", locations=["segwright.engine.optim"])
HOOKS = Registry(
    "hook",
    locations=[
        "segwright.engine.hooks",
        "segwright.task_hooks.preflight",
        "segwright.task_hooks.test_outputs",
        "segwright.task_hooks.visualization_hook",
        "segwright.task_hooks.det_visualization_hook",
    ],
)
LOOPS = Registry("loop", locations=["segwright.engine.loops"])
METRICS = Registry("metric", locations=["segwright.evaluation"])
EVALUATORS = Registry("evaluator", locations=["segwright.evaluation"])
VISBACKENDS = Registry("visualization backend", locations=["segwright.engine.logging"])
LOG_PROCESSORS = Registry("log processor", locations=["segwright.engine.logging"])

ALL_REGISTRIES = {
    r.name: r
    for r in (
        MODELS,
        TASK_UTILS,
        DATASETS,
        TRANSFORMS,
        DATA_SAMPLERS,
        FUNCTIONS,
        OPTIMIZERS,
        OPTIM_WRAPPERS,
        OPTIM_WRAPPER_CONSTRUCTORS,
        PARAM_SCHEDULERS,
        HOOKS,
        LOOPS,
        METRICS,
        EVALUATORS,
        VISBACKENDS,
        LOG_PROCESSORS,
    )
}
