"""One training run per work dir: the lock, stale locks, unique log folders, stale temp files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from segwright.config import Config
from segwright.engine.hooks import Hook
from segwright.engine.runner import Runner
from segwright.engine.workdir_lock import (
    LOCK_NAME,
    WorkDirBusyError,
    WorkDirLock,
    make_log_dir,
    process_alive,
    process_start,
)
from segwright.testing import toy_config
from segwright.utils.errors import SegwrightError


def _runner(work_dir, **overrides) -> Runner:
    cfg = toy_config(work_dir, max_iters=2, val_interval=100, **overrides)
    cfg["val_dataloader"] = None
    return Runner.from_cfg(Config(cfg))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid names no process now
    return proc.pid


def _write_lock(work_dir, pid: int, host: str | None = None, **extra) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    info = dict(pid=pid, host=host or socket.gethostname(), started="2026-01-02 03:04:05")
    info.update(extra)
    (work_dir / LOCK_NAME).write_text(json.dumps(info))


def _log_text(runner: Runner) -> str:
    return (runner.log_dir / f"{runner.timestamp}.log").read_text()


def test_a_second_run_is_refused_naming_the_first_and_the_fix(tmp_path):
    _write_lock(tmp_path, os.getppid(), command="segwright train a.py")  # a live process
    runner = _runner(tmp_path)
    with pytest.raises(WorkDirBusyError) as info:
        runner.train()
    runner.close()
    message = str(info.value)
    assert isinstance(info.value, SegwrightError)
    for part in (str(os.getppid()), socket.gethostname(), "2026-01-02 03:04:05", "--work-dir"):
        assert part in message
    assert "segwright train a.py" in message
    assert not list(tmp_path.glob("iter_*.pth"))  # nothing of the first run's was touched
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getppid()


def test_a_lock_on_another_host_is_never_taken_over(tmp_path):
    _write_lock(tmp_path, _dead_pid(), host="some-other-machine")
    with pytest.raises(WorkDirBusyError, match="some-other-machine"):
        WorkDirLock(tmp_path).acquire()


def test_a_stale_lock_is_taken_over_with_a_log_line(tmp_path):
    dead = _dead_pid()
    _write_lock(tmp_path, dead)
    runner = _runner(tmp_path)
    runner.train()
    runner.close()
    log = _log_text(runner)
    assert "Took over the stale lock" in log and f"pid {dead}" in log
    assert (tmp_path / "iter_2.pth").is_file()
    assert not (tmp_path / LOCK_NAME).exists()  # released at the end


def test_a_reused_pid_does_not_keep_a_lock_alive(tmp_path):
    start = process_start(os.getppid())
    if start is None:
        pytest.skip("no /proc: pid reuse cannot be told")
    assert process_alive(os.getppid(), start)
    assert not process_alive(os.getppid(), str(int(start) + 1))  # same pid, other process
    _write_lock(tmp_path, os.getppid(), pid_start=str(int(start) + 1))
    WorkDirLock(tmp_path).acquire().release()


class _Check(Hook):
    """Inside training: the lock names this process; a second train() there is refused."""

    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.seen: list[str] = []

    def before_train(self, runner):
        info = json.loads((self.work_dir / LOCK_NAME).read_text())
        self.seen.append(f"pid={info['pid']}")
        second = _runner(self.work_dir)
        try:
            second.train()
        except WorkDirBusyError as exc:
            self.seen.append(str(exc))
        raise RuntimeError("boom")  # the lock must go anyway


def test_the_lock_is_held_while_training_and_released_on_an_exception(tmp_path):
    runner = _runner(tmp_path)
    check = _Check(tmp_path)
    runner.register_hook(check)
    with pytest.raises(RuntimeError, match="boom"):
        runner.train()
    runner.close()
    assert check.seen[0] == f"pid={os.getpid()}"
    assert "is in use by another training run" in check.seen[1]
    assert not (tmp_path / LOCK_NAME).exists()
    again = _runner(tmp_path)
    again.train()  # the work dir is free again
    again.close()


def test_log_folders_are_unique_within_one_second(tmp_path):
    first = make_log_dir(tmp_path, "20260101_000000")
    second = make_log_dir(tmp_path, "20260101_000000")
    assert first == ("20260101_000000", tmp_path / "20260101_000000")
    assert second == ("20260101_000000_1", tmp_path / "20260101_000000_1")
    a, b = _runner(tmp_path), _runner(tmp_path)
    assert a.log_dir != b.log_dir and a.log_dir.is_dir() and b.log_dir.is_dir()
    assert b.log_dir.name == b.timestamp
    a.close()
    b.close()


def test_temp_files_of_a_killed_run_are_removed_at_the_next_start(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    dead = _dead_pid()
    stale = [
        tmp_path / f".iter_2.pth.{dead}-0123abcd.tmp",
        tmp_path / f".last_checkpoint.{dead}-0123abcd.tmp",
        tmp_path / ".iter_1.pth.k2j_4xq9.tmp",  # mkstemp name of older versions
    ]
    live = tmp_path / f".iter_9.pth.{os.getppid()}-0123abcd.tmp"  # a writer that still runs
    other = tmp_path / "notes.tmp"
    for path in [*stale, live, other]:
        path.write_bytes(b"partial")
    runner = _runner(tmp_path)
    runner.train()
    runner.close()
    assert not any(p.exists() for p in stale)
    assert live.exists() and other.exists()
    assert "Removed 3 temp file(s)" in _log_text(runner)
    assert not [p for p in tmp_path.glob(".*.tmp") if p not in (live,)]
