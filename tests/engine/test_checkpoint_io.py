"""Atomic saves, partial loads with a mismatch report, and readable errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from segwright.engine.checkpoint import (
    find_last_checkpoint,
    load_checkpoint,
    read_checkpoint,
    revise_keys,
    save_checkpoint,
)
from segwright.engine.safe_unpickle import ForeignObject
from segwright.utils.errors import CheckpointError


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "iter_1.pth"
    save_checkpoint({"state_dict": {"w": torch.ones(2)}}, path)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        save_checkpoint({"state_dict": {"w": torch.zeros(2)}}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path)["state_dict"]["w"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iter_1.pth"]


def test_partial_load_reports_missing_unexpected_and_mismatched(tmp_path):
    source = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 5, 1))
    target = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 2, 1), nn.ReLU())
    state = {f"module.{k}": v for k, v in source.state_dict().items()}
    state["module.extra"] = torch.zeros(1)
    save_checkpoint({"state_dict": state}, tmp_path / "c.pth")
    before = target[1].weight.clone()
    _, report = load_checkpoint(target, tmp_path / "c.pth")
    torch.testing.assert_close(target[0].weight, source[0].weight)
    torch.testing.assert_close(target[1].weight, before)
    assert report.loaded == ["0.bias", "0.weight"]
    assert report.unexpected == ["extra"]
    assert [m[0] for m in report.mismatched] == ["1.weight", "1.bias"]
    table = report.summary().splitlines()
    assert table[0].startswith(
        "The model and loaded state dict do not match exactly: 2 keys loaded, 2 with"
    )
    row = next(line for line in table if line.strip().startswith("1.weight "))
    assert "(5, 4, 1, 1)" in row and "(2, 4, 1, 1)" in row and "kept initial value" in row
    assert any(line.strip().startswith("extra") and "not in model" in line for line in table)
    with pytest.raises(CheckpointError, match="do not match exactly"):
        load_checkpoint(target, tmp_path / "c.pth", strict=True)


def test_read_errors_speak_to_the_user(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "nope.pth")
    with pytest.raises(CheckpointError, match="model-zoo scheme"):
        read_checkpoint("open-mmlab://resnet50_v1c")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="Cannot read checkpoint"):
        read_checkpoint(bad)


def test_revise_keys_and_find_last(tmp_path):
    assert revise_keys({"module.a": 1, "b.module.c": 2}) == {"a": 1, "b.module.c": 2}
    for n in (2, 10, 4):
        save_checkpoint({}, tmp_path / f"iter_{n}.pth")
    save_checkpoint({}, tmp_path / "best_mIoU_iter_12.pth")
    assert find_last_checkpoint(tmp_path).name == "iter_10.pth"
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "iter_4.pth"))
    assert find_last_checkpoint(tmp_path).name == "iter_4.pth"


def _foreign_checkpoint(tmp_path, monkeypatch, body: str) -> Path:
    """Save a checkpoint holding objects of a module that is gone when it is read."""
    import importlib

    name = f"fake_hub_{tmp_path.name}"  # unique: monkeypatch restores sys.modules afterwards
    module_dir = tmp_path / "foreign_pkg"
    module_dir.mkdir()
    (module_dir / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(module_dir))
    module = importlib.import_module(name)
    path = tmp_path / "mmengine_style.pth"
    torch.save(module.make(), path)
    monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(module_dir)])
    return path


HUB = """
import numpy as np
import torch

class HistoryBuffer:
    def __init__(self):
        self._log_history = np.array([0.5, 0.25])
        self._count_history = np.array([1, 1])

def make():
    return {
        "meta": {"epoch": 1, "iter": 40, "dataset_meta": {"classes": ("a", "b")}, "np": np.float64(2.5)},
        "state_dict": {"w": torch.ones(2)},
        "message_hub": {"log_scalars": {"train/loss": HistoryBuffer()}},
    }
"""


def test_foreign_objects_load_as_placeholders_without_their_library(tmp_path, monkeypatch):
    path = _foreign_checkpoint(tmp_path, monkeypatch, HUB)
    checkpoint = read_checkpoint(path)
    assert torch.equal(checkpoint["state_dict"]["w"], torch.ones(2))
    buffer = checkpoint["message_hub"]["log_scalars"]["train/loss"]
    assert isinstance(buffer, ForeignObject)
    assert list(buffer.state["_log_history"]) == [0.5, 0.25]  # numpy rebuilt by numpy
    assert checkpoint["meta"]["np"] == 2.5
    assert buffer.args == () and buffer.kwargs == {}  # rebuilt via __new__, attributes still there
    with pytest.raises(CheckpointError, match=r"package 'fake_hub_.*not installed"):
        read_checkpoint(path, trusted=True)


EVIL = """
import os

class Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))

def make():
    import torch
    return {"state_dict": {"w": torch.ones(1)}, "meta": {"x": Evil()}}
"""


def test_no_code_from_the_file_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _foreign_checkpoint(tmp_path, monkeypatch, EVIL)
    # torch refuses os/posix functions outright even as placeholders: a clear error, nothing run.
    with pytest.raises(CheckpointError, match="cannot be read safely"):
        read_checkpoint(path)
    assert not (tmp_path / "PWNED").exists()


def test_weights_that_are_not_tensors_need_the_trust_flag(tmp_path, monkeypatch):
    body = HUB.replace('"state_dict": {"w": torch.ones(2)}', '"state_dict": {"w": HistoryBuffer()}')
    path = _foreign_checkpoint(tmp_path, monkeypatch, body)
    with pytest.raises(CheckpointError, match="trust_checkpoint=True"):
        read_checkpoint(path)


def test_http_checkpoint_offline_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(CheckpointError, match="Cannot download checkpoint"):
        read_checkpoint("http://127.0.0.1:9/none.pth")


KILLED_WRITER = """
import sys, torch
from segwright.engine.checkpoint import save_checkpoint
print("writing", flush=True)
save_checkpoint({"state_dict": {"w": torch.zeros(64, 1024, 1024)}}, sys.argv[1])
print("done", flush=True)
"""


def test_a_kill_during_a_write_leaves_the_previous_checkpoint_loadable(tmp_path):
    import signal
    import subprocess
    import time

    path = tmp_path / "iter_1.pth"
    save_checkpoint({"state_dict": {"w": torch.ones(3)}}, path)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.3)  # well inside the 256 MB write
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # Whatever the moment of the kill, the file at the final path is the old checkpoint or the complete new one.
    state = read_checkpoint(path)["state_dict"]["w"]
    assert torch.equal(state, torch.ones(3)) or state.shape == (64, 1024, 1024)
    save_checkpoint({"state_dict": {"w": torch.full((3,), 2.0)}}, path)  # the next save tidies up
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iter_1.pth"]
