"""Files that outlive crashes: atomic writes with the usual mode, and stale temp files.

A file is written to a temporary name beside it (``.<name>.<pid>-<token>.tmp``), flushed to
disk, then renamed over the target (``os.replace``), so a reader sees the old file or the
whole new one, never a torn write. The temporary file is created with mode 0666 minus the
umask, like any file the user's tools create (``tempfile.mkstemp`` would give 0600, which
the final file would keep). Its name carries the writer's pid, so a temp file left by a
killed writer can be told from one another process is still writing.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: ``.<target name>.<pid>-<hex token>.tmp``: our temp files.
_TEMP = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")
#: Temp files of older segwright versions (``tempfile.mkstemp``): ``.<target>.<random>.tmp``.
_LEGACY_TEMP = re.compile(r"^\.(?P<target>.+\.pth|last_checkpoint)\.[A-Za-z0-9_]{8}\.tmp$")


def temp_path(path: Path) -> Path:
    """A new temporary name beside ``path``, carrying this process's pid."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def create_temp(path: Path) -> tuple[int, Path]:
    """Open a new temp file for ``path`` (O_EXCL; the mode is 0666 minus the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(16):  # a token clash is all but impossible; retry anyway
        tmp = temp_path(path)
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"Could not create a temporary file beside {path}.")


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` atomically: ``write(handle)`` fills a temp file that then replaces it.

    On any error (or a KeyboardInterrupt) the temp file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write a small text file (e.g. ``last_checkpoint``) atomically."""
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def _pid_alive(pid: int) -> bool:
    from segwright.engine.workdir_lock import process_alive

    return process_alive(pid)


def stale_temp_files(folder: str | os.PathLike[str], target: str | None = None) -> list[Path]:
    """Temp files in ``folder`` whose writer no longer runs (only those for ``target`` if given).

    Ours are stale when the pid in their name is not a live process on this host; those of
    older versions (no pid in the name) count as stale: call this only while holding the work
    dir's lock (:mod:`segwright.engine.workdir_lock`), when no other run writes there.
    """
    found = []
    folder = Path(folder)
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        if not path.name.endswith(".tmp"):
            continue
        match = _TEMP.match(path.name)
        if match is not None:
            pid = int(match["pid"])
            if pid == os.getpid() or _pid_alive(pid):
                continue
        elif target is not None or _LEGACY_TEMP.match(path.name) is None:
            continue
        if target is None or match["target"] == target:
            found.append(path)
    return sorted(found)


def remove_stale_temp_files(
    folder: str | os.PathLike[str], target: str | None = None
) -> list[Path]:
    """Delete :func:`stale_temp_files`; return what was deleted."""
    removed = []
    for path in stale_temp_files(folder, target):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed
