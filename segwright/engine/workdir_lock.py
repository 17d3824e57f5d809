"""One training run per work dir: a lock file naming the run that holds it.

Two runs in one work dir overwrite each other's checkpoints and ``last_checkpoint``. So
``Runner.train`` holds ``<work_dir>/.segwright.lock`` (pid, host, start time, command) for
the whole run, on rank 0, and releases it when training ends, also by an exception. A second
run is refused with a message naming the first. A lock whose process no longer runs on this
host (killed, crashed, or its pid reused by another program) is stale: the next run takes it
over and says so in its log. Temp files left by a killed writer are removed once the lock is
held, when no other run can be writing them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from segwright.engine.checkpoint_files import create_temp, remove_stale_temp_files
from segwright.utils.errors import SegwrightError

LOCK_NAME = ".segwright.lock"
#: A lock file that cannot be parsed and is older than this is stale (seconds).
UNREADABLE_STALE_AFTER = 60.0
#: Locks this process holds (resolved paths): one train() per work dir, also within a process.
_HELD: set[Path] = set()


class WorkDirBusyError(SegwrightError, RuntimeError):
    """Another run holds the work dir's lock."""


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of ``/proc/<pid>/stat`` (state, ppid, ...), or None where unavailable."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def process_alive(pid: int, start: str | None = None) -> bool:
    """Whether ``pid`` is a running process here (a zombie is not; nor a reused pid).

    Args:
        start: The :func:`process_start` recorded with the pid; when it differs from the
            running process's, the pid was reused by another program.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except OSError:
        return True  # cannot tell (e.g. Windows quirks): assume it runs, never steal
    fields = _proc_stat(pid)
    if fields is None:
        return True
    if fields[0] in ("Z", "X"):
        return False
    return start is None or len(fields) <= 19 or fields[19] == start


def _describe(info: dict[str, Any]) -> str:
    started = info.get("started", "an unknown time")
    command = f" ({info['command']})" if info.get("command") else ""
    return f"pid {info.get('pid', '?')} on host {info.get('host', '?')}, started {started}{command}"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("pid"), int) else None


def _stale_reason(path: Path, info: dict[str, Any] | None) -> str | None:
    """Why the existing lock at ``path`` is stale, or None while its run may still be going."""
    if info is None:
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return "it disappeared"
        if age > UNREADABLE_STALE_AFTER:
            return f"the lock file is unreadable and {age:.0f} s old"
        return None
    if info.get("host") != socket.gethostname():
        return None  # a process on another machine cannot be checked from here
    pid = int(info["pid"])
    if pid == os.getpid():
        return None if path.resolve() in _HELD else "it was left by this process"
    if not process_alive(pid, info.get("pid_start")):
        return "that process no longer runs (killed or crashed)"
    return None


@contextlib.contextmanager
def _guard(folder: Path) -> Iterator[None]:
    """Serialise lock take-overs between processes (flock on the folder; skipped if unsupported)."""
    try:
        import fcntl

        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


class WorkDirLock:
    """The lock of one work dir; :meth:`acquire` then :meth:`release` (or use ``with``)."""

    def __init__(self, work_dir: str | os.PathLike[str], logger: Any = None) -> None:
        self.work_dir = Path(work_dir).resolve()
        self.path = self.work_dir / LOCK_NAME
        self.logger = logger
        self.token = os.urandom(8).hex()
        self.held = False

    def _info(self) -> dict[str, Any]:
        return dict(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=time.strftime("%Y-%m-%d %H:%M:%S %z"),
            command=" ".join(sys.argv)[:300],
            pid_start=process_start(os.getpid()),
            token=self.token,
        )

    def _log(self, message: str) -> None:
        if self.logger is not None:
            self.logger.warning(message)

    def _create(self) -> bool:
        """Create the lock file with its content in one step; False if it exists."""
        text = json.dumps(self._info()).encode("utf-8")
        fd, scratch = create_temp(self.path)  # a name stale_temp_files() knows
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(scratch, self.path)  # atomic, never overwrites: the lock appears whole
                return True
            except FileExistsError:
                return False
            except OSError:  # no hard links on this file system: exclusive create instead
                try:
                    fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    return False
                with os.fdopen(fd, "wb") as handle:
                    handle.write(text)
                return True
        finally:
            scratch.unlink(missing_ok=True)

    def acquire(self) -> WorkDirLock:
        """Take the lock, or raise :class:`WorkDirBusyError` naming the run that holds it."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with _guard(self.work_dir):
            for _ in range(5):
                if self._create():
                    break
                try:
                    info = _read(self.path)
                except FileNotFoundError:
                    continue  # released meanwhile
                reason = _stale_reason(self.path, info)
                if reason is None:
                    raise WorkDirBusyError(self._busy_message(info))
                self._log(
                    f"Took over the stale lock of work dir {self.work_dir} "
                    f"({_describe(info or {})}): {reason}."
                )
                self.path.unlink(missing_ok=True)
            else:
                raise WorkDirBusyError(self._busy_message(None))
        self.held = True
        _HELD.add(self.path)
        self._clean_temp_files()
        return self

    def _busy_message(self, info: dict[str, Any] | None) -> str:
        holder = (
            f"another training run ({_describe(info)})"
            if info
            else f"another training run (its lock file {self.path} is being written or unreadable)"
        )
        return (
            f"Work dir {self.work_dir} is in use by {holder}. Two runs in one work dir "
            "overwrite each other's checkpoints. Give this run another work dir (--work-dir "
            "DIR, or work_dir=... in the config), or wait until that run ends. If that run is "
            f"gone (e.g. its machine crashed), delete {self.path}."
        )

    def _clean_temp_files(self) -> None:
        removed = remove_stale_temp_files(self.work_dir)
        if removed:
            names = ", ".join(p.name for p in removed[:5])
            more = f" and {len(removed) - 5} more" if len(removed) > 5 else ""
            self._log(
                f"Removed {len(removed)} temp file(s) left in {self.work_dir} by a killed run: "
                f"{names}{more}."
            )

    def release(self) -> None:
        """Remove the lock file if it is still ours."""
        if not self.held:
            return
        self.held = False
        _HELD.discard(self.path)
        with contextlib.suppress(FileNotFoundError), _guard(self.work_dir):
            info = _read(self.path)
            if info is not None and info.get("token") == self.token:
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> WorkDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def holds_work_dir_lock(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a Runner method (``train``) holding its work dir's lock (rank 0 takes it)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        from segwright.utils.dist import is_main_process

        if not is_main_process():
            return method(self, *args, **kwargs)
        with WorkDirLock(self.work_dir, getattr(self, "logger", None)):
            return method(self, *args, **kwargs)

    return wrapper


def make_log_dir(work_dir: Path, timestamp: str | None = None) -> tuple[str, Path]:
    """Create ``work_dir/<timestamp>`` (``<timestamp>_1``, ... when taken); return (name, path).

    ``timestamp`` defaults to the local time as ``%Y%m%d_%H%M%S``.

    ``mkdir`` without ``exist_ok`` is atomic, so two runs that start in the same second get
    two folders. Ranks > 0 create nothing and get the plain name.
    """
    from segwright.utils.dist import is_main_process

    timestamp = timestamp or time.strftime("%Y%m%d_%H%M%S", time.localtime())
    if not is_main_process():
        return timestamp, work_dir / timestamp
    work_dir.mkdir(parents=True, exist_ok=True)
    name = timestamp
    for index in range(1, 10_000):
        try:
            (work_dir / name).mkdir()
            return name, work_dir / name
        except FileExistsError:
            name = f"{timestamp}_{index}"
    raise WorkDirBusyError(f"Cannot create a new log folder in {work_dir}: too many runs.")
