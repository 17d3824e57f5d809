"""Checkpoints that outlive crashes: file mode, atomic pointer, keep-list after resume, best first."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import torch

from segwright.config import Config
from segwright.engine.checkpoint import read_checkpoint, save_checkpoint
from segwright.engine.checkpoint_files import write_text_atomic
from segwright.engine.hooks import Hook
from segwright.engine.hooks.checkpoint_hook import CheckpointHook
from segwright.engine.logging import LogStore
from segwright.engine.runner import Runner
from segwright.testing import toy_config
from segwright.utils.errors import CheckpointError


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    yield set_mask
    os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_checkpoints_get_the_usual_file_mode(tmp_path, umask):
    path = save_checkpoint({"state_dict": {"w": torch.ones(2)}}, tmp_path / "a.pth")
    assert path.stat().st_mode & 0o777 == 0o644
    umask(0o027)
    path = save_checkpoint({"state_dict": {"w": torch.ones(2)}}, tmp_path / "b.pth")
    assert path.stat().st_mode & 0o777 == 0o640
    assert write_text_atomic(tmp_path / "last", "x").stat().st_mode & 0o777 == 0o640


def test_last_checkpoint_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    pointer = tmp_path / "last_checkpoint"
    write_text_atomic(pointer, "/runs/iter_1.pth")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # what a kill between write and rename would leave

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(pointer, "/runs/iter_2.pth")
    monkeypatch.undo()
    assert pointer.read_text() == "/runs/iter_1.pth"
    assert [p.name for p in tmp_path.iterdir()] == ["last_checkpoint"]  # no temp file left


def test_an_unreadable_checkpoint_says_so(tmp_path, monkeypatch):
    path = save_checkpoint({"state_dict": {"w": torch.ones(2)}}, tmp_path / "iter_1.pth")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(torch, "load", denied)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert "unreadable" in message and "chmod" in message and "truncated" not in message
    monkeypatch.undo()
    if hasattr(os, "getuid") and os.getuid() != 0:  # root reads anything
        path.chmod(0o000)
        with pytest.raises(CheckpointError, match="unreadable"):
            read_checkpoint(path)


class _StopAt(Hook):
    """Ends a run after ``iters`` iterations, once their checkpoint is written (a kill)."""

    priority = "LOWEST"

    def __init__(self, iters):
        self.iters = iters

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 >= self.iters:
            raise KeyboardInterrupt


def _train(work_dir: Path, stop_at=None, resume=False) -> Runner:
    cfg = toy_config(work_dir, max_iters=8, val_interval=1, resume=resume)
    cfg["default_hooks"]["checkpoint"] = dict(
        type="CheckpointHook", by_epoch=False, interval=1, max_keep_ckpts=2, save_best="mIoU"
    )
    runner = Runner.from_cfg(Config(cfg))
    if stop_at is not None:
        runner.register_hook(_StopAt(stop_at))
    try:
        runner.train()
    except KeyboardInterrupt:
        pass
    finally:
        runner.close()
    return runner


def _periodic(work_dir: Path) -> list[str]:
    return sorted((p.name for p in work_dir.glob("iter_*.pth")), key=lambda n: int(n[5:-4]))


def test_max_keep_ckpts_never_deletes_the_checkpoint_a_run_resumed_from(tmp_path):
    _train(tmp_path, stop_at=4)
    assert _periodic(tmp_path) == ["iter_3.pth", "iter_4.pth"]
    (tmp_path / "iter_1.pth").write_bytes(b"")  # an old file the keep list must not trip on
    resumed = _train(tmp_path, resume=True)
    assert "Resumed from" in (resumed.log_dir / f"{resumed.timestamp}.log").read_text()
    # The list is rebuilt from the disk in iteration order (1, 3, 4): the oldest go first,
    # the resumed-from iter_4 stays, the newest two are kept.
    assert _periodic(tmp_path) == ["iter_4.pth", "iter_7.pth", "iter_8.pth"]
    assert read_checkpoint(tmp_path / "iter_8.pth")["meta"]["iter"] == 8
    assert (tmp_path / "last_checkpoint").read_text() == str(tmp_path / "iter_8.pth")
    assert len(list(tmp_path.glob("best_mIoU_iter_*.pth"))) == 1


class _FakeRunner:
    """What CheckpointHook's best-checkpoint path reads of a runner."""

    def __init__(self, work_dir: Path):
        self.work_dir = work_dir
        self.log_store = LogStore()
        self.logger = logging.getLogger("test_best_first")
        self.train_loop = object()
        self.epoch, self.iter = 0, 0
        self.events: list[str] = []
        self.fail = False

    def save_checkpoint(self, path, **kwargs):
        path = Path(path)
        self.events.append(f"write {path.name} (old best on disk: {self._bests()})")
        if self.fail:
            raise OSError("No space left on device")
        save_checkpoint({"state_dict": {"w": torch.ones(1)}}, path)

    def _bests(self) -> list[str]:
        return sorted(p.name for p in self.work_dir.glob("best_*.pth"))


def test_the_new_best_is_written_before_the_old_one_is_deleted(tmp_path):
    hook = CheckpointHook(by_epoch=False, save_best="mIoU")
    runner = _FakeRunner(tmp_path)
    hook.before_train(runner)
    runner.iter = 2
    hook.after_val_epoch(runner, {"mIoU": 0.5})
    runner.iter, runner.fail = 4, True
    with pytest.raises(OSError, match="No space"):
        hook.after_val_epoch(runner, {"mIoU": 0.6})  # the disk fills while writing the new best
    assert runner._bests() == ["best_mIoU_iter_2.pth"]  # the old best survives the crash
    assert runner.log_store.get_info("best_ckpt") == str(tmp_path / "best_mIoU_iter_2.pth")
    assert runner.log_store.get_info("best_score") == 0.5
    runner.iter, runner.fail = 6, False
    hook.after_val_epoch(runner, {"mIoU": 0.7})
    assert (
        runner.events[-1]
        == "write best_mIoU_iter_6.pth (old best on disk: ['best_mIoU_iter_2.pth'])"
    )
    assert runner._bests() == ["best_mIoU_iter_6.pth"]
