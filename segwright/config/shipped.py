"""Where the configs shipped with segwright live, and ``pkg::path`` base references."""

from __future__ import annotations

from pathlib import Path

from segwright.utils.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Scopes whose ``scope::path`` references point into our shipped config tree, and the
#: folder of that tree each one names (MMDetection's configs live under ``configs/mmdet``).
SHIPPED_SCOPES = {"segwright": "", "mmseg": "", "mmdet": "mmdet"}


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
        folder = SHIPPED_SCOPES[scope]
        found = find_shipped_config(f"{folder}/{relative}" if folder else relative)
        if found is not None:
            return found.resolve()
    raise ConfigError(
        f"{including}: the _base_ entry {reference!r} names a config inside the package "
        f"{scope!r}, and segwright ships no config at {relative!r}. Copy that file next to "
        "your config and use a relative path."
    )


def find_renamed_base(missing: Path) -> Path | None:
    """The MMDetection 3.x name of a 2.x config file that does not exist, if that one does.

    MMDetection 3.x renamed its config files: the method part of the name joins its words
    with hyphens (``mask_rcnn_r50_fpn.py`` became ``mask-rcnn_r50_fpn.py``). Configs written
    for 2.x, and guides that quote them, still name the old files. The reverse spelling is
    tried too. Returns None when no spelling exists.
    """
    parts = missing.stem.split("_")
    candidates = []
    for joined in range(len(parts), 1, -1):
        head, rest = "-".join(parts[:joined]), parts[joined:]
        candidates.append("_".join([head, *rest]))
    candidates.append(missing.stem.replace("-", "_"))
    for stem in candidates:
        candidate = missing.with_name(stem + missing.suffix)
        if candidate != missing and candidate.is_file():
            return candidate
    return None
