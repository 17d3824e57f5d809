"""Where a config key was set (``configs/x.py:12``), for error messages of the floors that
cannot import the config floor (the registry).

The config floor knows each key's file and line (``Config.origin_of``); the registry raises
the errors about keys. :func:`key_origins` lends the one to the other for a block of code,
through a context variable, so neither imports the other.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

#: ``resolver('model.decode_head.num_clases') -> 'configs/x.py:12'`` (None: not known).
Resolver = Callable[[str], str | None]

_RESOLVER: contextvars.ContextVar[Resolver | None] = contextvars.ContextVar(
    "segwright_key_origins", default=None
)


@contextlib.contextmanager
def key_origins(resolver: Resolver | None) -> Iterator[None]:
    """While the block runs, errors about a config key say where it was set.

    ``resolver('model.decode_head.num_clases')`` returns ``'configs/x.py:12'``, or None when it
    does not know; ``Config.origin_of`` is one. Registry errors then end the key with
    ``(set at configs/x.py:12)``.
    """
    token = _RESOLVER.set(resolver)
    try:
        yield
    finally:
        _RESOLVER.reset(token)


def set_at(key: str) -> str:
    """`` (set at FILE:LINE)`` for the config key path ``key``, or '' when nothing is known."""
    resolver = _RESOLVER.get()
    if resolver is None or not key:
        return ""
    try:
        origin = resolver(key)
    except Exception:  # noqa: BLE001 - never hide the user's error behind a lookup failure
        return ""
    return f" (set at {origin})" if origin else ""
