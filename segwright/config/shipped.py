"""Where the configs shipped with segwright live, and ``pkg::path`` base references."""

from __future__ import annotations

from pathlib import Path

from segwright.utils.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Scopes whose ``scope::path`` references point into our shipped config tree.
SHIPPED_SCOPES = ("segwright", "mmseg")


def shipped_config_dirs() -> list[Path]:
    """The shipped ``configs/`` folder: inside the package (pip install) or beside it (checkout)."""
    candidates = [_PACKAGE_DIR / "configs", _PACKAGE_DIR.parent / "configs"]
    return [c for c in candidates if c.is_dir()]


def find_shipped_config(relative: str) -> Path | None:
    """A shipped config by relative path (``pspnet/pspnet_r50-d8_...py``), or None."""
    for root in shipped_config_dirs():
        candidate = root / relative
        if candidate.is_file():
            return candidate
    return None


def resolve_scoped(reference: str, including: Path) -> Path:
    """Resolve ``'mmseg::_base_/models/x.py'`` against the shipped configs."""
    scope, _, relative = reference.partition("::")
    if scope in SHIPPED_SCOPES:
        found = find_shipped_config(relative)
        if found is not None:
            return found.resolve()
    raise ConfigError(
        f"{including}: the _base_ entry {reference!r} names a config inside the package "
        f"{scope!r}, and segwright ships no config at {relative!r}. Copy that file next to "
        "your config and use a relative path."
    )
