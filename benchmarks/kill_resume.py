"""kill -9 trials: runs killed at random points and during saves, then resumed to the end.

Each trial trains a tiny model in a fresh work dir, SIGKILLs the training process, checks
every checkpoint left on disk, resumes (``resume=True``; sometimes killed again) until the run
completes, and compares the final weights with those of an uninterrupted run of the same
config. Two configs alternate: the toy model on in-memory data without workers, and a folder
dataset read by 2 data workers through random crop, flip and photometric distortion.

Kills come in two kinds, half each:

* ``timer``: the parent sends SIGKILL at a random moment: mostly up to 0.1 s after a random
  training iteration (the process signals it through a pipe), one in five at a random time
  since the process started (start-up and shutdown included);
* ``save``: the process SIGKILLs itself inside its k-th atomic file write (a checkpoint or
  ``last_checkpoint``), at a random phase: part-way through the bytes, after the flush but
  before the rename, or right after the rename (before what follows: the pointer update,
  the keep-list rotation, the old best's deletion).

Training processes are forked from this one (torch and segwright already imported), so a
trial costs about a second rather than the ten a fresh interpreter takes to import on a busy
2-core machine; a fork that is SIGKILLed dies exactly like a ``segwright train`` process.

Counts: bit-identical final weights, corrupt checkpoints (a ``*.pth`` or ``last_checkpoint``
at its final name that does not load), temp files left after the run completes, locks left,
resumed-from checkpoints deleted by ``max_keep_ckpts``, runs refused or failed.

    python benchmarks/kill_resume.py --trials 60 --out /tmp/kill_resume

The last line prints the bit-identical ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import select
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from segwright.config import Config  # noqa: E402
from segwright.engine import checkpoint as ckpt_io  # noqa: E402
from segwright.engine import checkpoint_files  # noqa: E402
from segwright.engine.hooks import Hook  # noqa: E402
from segwright.engine.runner import Runner  # noqa: E402
from segwright.testing import toy_config  # noqa: E402

MAX_ITERS = 12
AUG_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="RandomCrop", crop_size=(12, 12), cat_max_ratio=0.75),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PhotoMetricDistortion"),
    dict(type="PackSegInputs"),
]
VAL_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="PackSegInputs"),
]
PHASES = ("mid-write", "before-rename", "after-rename")


def write_data(root: Path) -> None:
    """Six 20x24 images with a bright square and its mask."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(6):
        image = rng.integers(0, 120, size=(20, 24, 3), dtype=np.uint8)
        mask = np.zeros((20, 24), dtype=np.uint8)
        top, left = rng.integers(0, 8, size=2)
        mask[top : top + 10, left : left + 12] = 1
        image[mask == 1] += 100
        cv2.imwrite(str(root / "images" / f"{i}.png"), image)
        cv2.imwrite(str(root / "masks" / f"{i}.png"), mask)


def make_config(kind: str, work_dir: Path, data_root: Path, resume: bool) -> dict[str, Any]:
    """The trial's config: ``toy`` (no workers) or ``aug2`` (2 workers, random augmentation)."""
    cfg = toy_config(work_dir, max_iters=MAX_ITERS, val_interval=4, resume=resume)
    cfg["default_hooks"]["checkpoint"] = dict(
        type="CheckpointHook", by_epoch=False, interval=2, max_keep_ckpts=2, save_best="mIoU"
    )
    cfg["default_hooks"]["logger"] = dict(type="LoggerHook", interval=4)
    cfg["randomness"] = dict(seed=5)
    if kind == "aug2":
        folder = dict(
            type="FolderSegDataset",
            data_root=str(data_root),
            classes=("background", "square"),
            palette=[[0, 0, 0], [255, 255, 255]],
        )
        cfg["model"]["dropout"] = 0.3
        cfg["train_dataloader"] = dict(
            batch_size=2,
            num_workers=2,
            sampler=dict(type="InfiniteSampler", shuffle=True),
            dataset=dict(folder, pipeline=AUG_PIPELINE),
        )
        cfg["val_dataloader"] = dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            dataset=dict(folder, pipeline=VAL_PIPELINE),
        )
    return cfg


def install_save_killer(index: int, phase: str, fraction: float) -> None:
    """SIGKILL this process inside its ``index``-th atomic write, at ``phase``."""
    real = checkpoint_files.atomic_write
    calls = [0]

    def killer(path, write):
        calls[0] += 1
        if calls[0] != index:
            return real(path, write)
        if phase == "after-rename":
            real(path, write)
            os.kill(os.getpid(), signal.SIGKILL)
        buffer = io.BytesIO()
        write(buffer)
        data = buffer.getvalue()
        if phase == "mid-write":
            data = data[: int(len(data) * fraction)]
        fd, _ = checkpoint_files.create_temp(Path(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    checkpoint_files.atomic_write = killer
    ckpt_io.atomic_write = killer


class Beacon(Hook):
    """Writes one byte to a pipe after this process's ``count``-th training iteration."""

    priority = "LOWEST"

    def __init__(self, count: int, fd: int) -> None:
        self.count, self.fd, self.seen = count, fd, 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.seen += 1
        if self.seen == self.count:
            os.write(self.fd, b"x")


def child(cfg: dict[str, Any], kill: tuple[int, str, float] | None, beacon: Beacon | None) -> None:
    """The training process (forked): train, then exit 0; 3 on an error (printed)."""
    code = 0
    try:
        torch.set_num_threads(1)
        if kill is not None:
            install_save_killer(*kill)
        runner = Runner.from_cfg(Config(cfg))
        if beacon is not None:
            runner.register_hook(beacon)
        try:
            runner.train()
        finally:
            runner.close()
    except BaseException:
        traceback.print_exc()
        code = 3
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run(cfg: dict[str, Any], log: Path, timer=None, save_kill=None) -> tuple[str, float]:
    """Fork a training process (its output goes to ``log``); return (status, seconds).

    ``timer``: ``("iter", k, jitter)`` kills ``jitter`` seconds after the process's k-th
    training iteration (so the kill lands anywhere in training: compute, hooks, saves,
    validation); ``("wall", seconds)`` kills that long after the start (start-up included).
    status: 'done', 'killed' (SIGKILL) or 'failed'.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        beacon = Beacon(timer[1], write_fd) if timer and timer[0] == "iter" else None
        child(cfg, save_kill, beacon)
    os.close(write_fd)
    deadline = start + timer[1] if timer and timer[0] == "wall" else None
    status = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        ready, _, _ = select.select([read_fd], [], [], 0.005)
        if ready and os.read(read_fd, 1) == b"x":
            time.sleep(timer[2])
            deadline = time.monotonic()
        if deadline is not None and time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            break
    os.close(read_fd)
    seconds = time.monotonic() - start
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        return "killed", seconds
    return ("done" if os.WEXITSTATUS(status) == 0 else "failed"), seconds


def check_files(work_dir: Path) -> dict[str, Any]:
    """Corrupt checkpoints at final names, the pointer's target, temp files, the lock."""
    corrupt = []
    for path in sorted(work_dir.glob("*.pth")):
        try:
            ckpt_io.read_checkpoint(path)
        except Exception:
            corrupt.append(path.name)
    pointer = work_dir / "last_checkpoint"
    if pointer.exists():
        target = Path(pointer.read_text().strip())
        try:
            ckpt_io.read_checkpoint(target)
        except Exception:
            corrupt.append(f"last_checkpoint -> {target.name}")
    return dict(
        corrupt=corrupt,
        temp=sorted(p.name for p in work_dir.glob(".*.tmp")),
        lock=(work_dir / ".segwright.lock").exists(),
        checkpoints=sorted(p.name for p in work_dir.glob("*.pth")),
    )


def final_weights(work_dir: Path) -> dict[str, torch.Tensor]:
    return ckpt_io.read_checkpoint(work_dir / f"iter_{MAX_ITERS}.pth")["state_dict"]


def identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> tuple[bool, float]:
    if a.keys() != b.keys():
        return False, float("inf")
    diff = max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].numel())
    return all(torch.equal(a[k], b[k]) for k in a), diff


def trial(
    index: int, kind: str, out: Path, data_root: Path, ref: dict, rng: random.Random
) -> dict[str, Any]:
    """One kill / check / resume trial; returns its record."""
    work_dir = out / f"trial_{index:03d}_{kind}"
    shutil.rmtree(work_dir, ignore_errors=True)
    mode = "save" if index % 4 in (1, 2) else "timer"
    record: dict[str, Any] = dict(trial=index, kind=kind, mode=mode, kills=[], corrupt=[])
    expected = ref[kind]["seconds"]
    resume = False
    for attempt in range(4):
        cfg = make_config(kind, work_dir, data_root, resume)
        pointer = work_dir / "last_checkpoint"
        before = pointer.read_text().strip() if resume and pointer.exists() else None
        before = before if before and Path(before).exists() else None
        timer, save_kill = None, None
        if attempt == 0 or (attempt == 1 and rng.random() < 0.3):  # sometimes a second kill
            if mode == "save":
                # Writes per run: 6 periodic + 6 pointers + best ones and re-saves.
                save_kill = (rng.randint(1, 14), rng.choice(PHASES), rng.random())
            elif rng.random() < 0.2:  # anywhere, start-up and shutdown included
                timer = ("wall", round(rng.uniform(0.02, 1.0) * expected, 3))
            else:  # in training: after a random iteration, plus up to ~2 iterations
                timer = ("iter", rng.randint(1, MAX_ITERS - 1), round(rng.uniform(0, 0.1), 3))
        status, seconds = run(cfg, out / "children.log", timer, save_kill)
        if attempt == 0 and status == "done":  # a whole run: the machine's pace right now
            ref[kind]["seconds"] = seconds
        files = check_files(work_dir)
        record["corrupt"] += files["corrupt"]
        if resume:
            record.setdefault("resumed_from", []).append(Path(before).name if before else None)
        if before is not None and not Path(before).exists():
            record.setdefault("resumed_from_deleted", []).append(Path(before).name)
        if status == "killed":
            record["kills"].append(
                dict(how=save_kill or " ".join(map(str, timer)), seconds=round(seconds, 2))
            )
            record.setdefault("temp_after_kill", []).extend(files["temp"])
            resume = True
            continue
        record["status"] = status
        break
    files = check_files(work_dir)
    record["temp_left"] = files["temp"]
    record["lock_left"] = files["lock"]
    record["checkpoints"] = files["checkpoints"]
    if record.get("status") == "done":
        same, diff = identical(final_weights(work_dir), ref[kind]["weights"])
        record.update(identical=same, max_abs_diff=diff)
    else:
        record.update(identical=False, max_abs_diff=None)
    shutil.rmtree(work_dir, ignore_errors=True)
    return record


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    def count(pred) -> int:
        return sum(1 for r in records if pred(r))

    return dict(
        trials=len(records),
        by_kind={k: count(lambda r, k=k: r["kind"] == k) for k in ("toy", "aug2")},
        killed_at_least_once=count(lambda r: r["kills"]),
        killed_twice=count(lambda r: len(r["kills"]) > 1),
        killed_in_a_save=count(lambda r: any(not isinstance(k["how"], str) for k in r["kills"])),
        kills=sum(len(r["kills"]) for r in records),
        resumed_from_scratch=sum(r.get("resumed_from", []).count(None) for r in records),
        completed=count(lambda r: r.get("status") == "done"),
        bit_identical=count(lambda r: r["identical"]),
        corrupt_checkpoints=sum(len(r["corrupt"]) for r in records),
        temp_files_after_kill=sum(len(r.get("temp_after_kill", [])) for r in records),
        temp_files_left=sum(len(r["temp_left"]) for r in records),
        locks_left=count(lambda r: r["lock_left"]),
        resumed_from_deleted=sum(len(r.get("resumed_from_deleted", [])) for r in records),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/segwright_kill_resume"))
    parser.add_argument("--budget", type=float, default=3600, help="stop starting trials after")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    data_root = args.out / "data"
    write_data(data_root)
    rng = random.Random(args.seed)
    log = args.out / "children.log"
    ref: dict[str, Any] = {}
    for kind in ("toy", "aug2"):
        work_dir = args.out / f"reference_{kind}"
        shutil.rmtree(work_dir, ignore_errors=True)
        status, seconds = run(make_config(kind, work_dir, data_root, False), log)
        if status != "done":
            raise SystemExit(f"the reference {kind} run failed")
        repeat_dir = args.out / f"reference_{kind}_again"
        shutil.rmtree(repeat_dir, ignore_errors=True)
        _, again = run(make_config(kind, repeat_dir, data_root, False), log)
        same, _ = identical(final_weights(work_dir), final_weights(repeat_dir))
        # Timer kills fall within the run's expected time; re-estimated from whole runs.
        ref[kind] = dict(seconds=min(seconds, again), weights=final_weights(work_dir))
        print(f"reference {kind}: {seconds:.2f} s; a second uninterrupted run identical: {same}")
    records = []
    start = time.monotonic()
    for index in range(args.trials):
        if time.monotonic() - start > args.budget:
            print(f"time budget reached after {index} trials")
            break
        kind = ("toy", "aug2")[index % 2]
        record = trial(index, kind, args.out, data_root, ref, rng)
        records.append(record)
        print(json.dumps({k: v for k, v in record.items() if k != "checkpoints"}), flush=True)
    summary = summarise(records)
    (args.out / "kill_resume.json").write_text(json.dumps(dict(summary=summary, trials=records)))
    print(json.dumps(summary, indent=1))
    print(
        f"bit-identical final weights: {summary['bit_identical']}/{summary['trials']} = "
        f"{summary['bit_identical'] / max(summary['trials'], 1):.3f}"
    )


if __name__ == "__main__":
    main()
