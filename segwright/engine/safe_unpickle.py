"""Reading checkpoints that pickle foreign objects, without running any code from them.

MMEngine and MMCV checkpoints carry objects of their own classes next to the weights (e.g.
``HistoryBuffer`` in the message hub). ``torch.load(weights_only=True)`` refuses them, and a
plain ``torch.load`` would need MMEngine installed and would run whatever the file says. Here
each foreign class is replaced by an inert placeholder that only records what it was given,
NumPy arrays are rebuilt by NumPy's own reconstructors, and everything is still read with
``weights_only=True``: no function named in the file is called.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

_TRUSTED: contextvars.ContextVar[bool] = contextvars.ContextVar("segwright_trusted", default=False)


@contextlib.contextmanager
def trusted_pickles(trusted: bool = True) -> Iterator[None]:
    """Within this block, files the user trusts may be unpickled (``--trust-checkpoint``).

    The Runner sets it around building the model when ``trust_checkpoint=True`` (the config
    key, set by ``--trust-checkpoint``), so e.g. a loss's ``class_weight='w.pkl'`` may load.
    ``trusted=False`` leaves the current setting as it is.
    """
    if not trusted:
        yield
        return
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def pickles_trusted() -> bool:
    """Whether the caller runs inside :func:`trusted_pickles`."""
    return _TRUSTED.get()


class ForeignObject:
    """Stands in for an object of a class that is not ours; holds its arguments and state."""

    # Objects rebuilt through __new__ never run __init__: keep the attributes defined anyway.
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}  # noqa: RUF012  (never mutated)
    state: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__qualname__} (not loaded)>"


def _numpy_globals() -> dict[str, Any]:
    """NumPy's array and scalar reconstructors, under the names pickles use for them."""
    names: dict[str, Any] = {}
    core = getattr(np, "_core", None) or np.core
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        names[f"{module}._reconstruct"] = core.multiarray._reconstruct
        names[f"{module}.scalar"] = core.multiarray.scalar
    names["numpy.ndarray"] = np.ndarray
    names["numpy.dtype"] = np.dtype
    for dtype_cls in vars(np.dtypes).values():
        if isinstance(dtype_cls, type):
            names[f"numpy.dtypes.{dtype_cls.__name__}"] = dtype_cls
    return names


def _placeholder(full_name: str) -> type:
    module, _, name = full_name.rpartition(".")
    return type(name, (ForeignObject,), {"__module__": module, "__qualname__": name})


def _aliased(obj: Any, full_name: str) -> Any:
    """NumPy objects are matched by the name in the file, which may differ across versions."""
    module, _, name = full_name.rpartition(".")
    if getattr(obj, "__module__", None) == module and getattr(obj, "__qualname__", None) == name:
        return obj
    return (obj, full_name)


def load_with_placeholders(
    path: str | os.PathLike[str], map_location: Any = "cpu"
) -> tuple[Any, list[str]]:
    """``torch.load(weights_only=True)`` with placeholders for foreign classes.

    Returns the loaded object and the names of the classes that were replaced.
    """
    needed = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    numpy_names = _numpy_globals()
    safe: list[Any] = []
    replaced: list[str] = []
    for full_name in needed:
        if full_name in numpy_names:
            safe.append(_aliased(numpy_names[full_name], full_name))
        else:
            safe.append(_placeholder(full_name))
            replaced.append(full_name)
    if any(name.startswith("numpy") for name in needed):
        # Rebuilt dtypes are of these classes; torch checks them when the pickle sets their state.
        safe.extend(cls for cls in vars(np.dtypes).values() if isinstance(cls, type))
    with torch.serialization.safe_globals(safe):
        loaded = torch.load(path, map_location=map_location, weights_only=True)
    return loaded, replaced
