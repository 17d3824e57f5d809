"""DDP's train step reads the loss on the host exactly when one process would (issue 19).

Two gloo ranks on 127.0.0.1 count the host reads inside each ``run_iter`` with the
``HostReads`` counter of ``segwright/testing/host_reads.py`` (see there for what counts as a read).
Between log lines: none by default; one per iteration (the loss, before the update) with
``on_nonfinite_loss='skip'``, which must decide each update. And a NaN loss in 'stop' mode is
found at the log line, naming its iteration, as in one process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

pytestmark = [
    pytest.mark.skipif(not dist.is_available(), reason="torch.distributed unavailable"),
    pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore"),
]

ITERS, INTERVAL = 7, 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cfg(work_dir: Path, train: dict) -> dict:
    from segwright.testing import toy_config

    cfg = toy_config(work_dir, max_iters=ITERS, val_interval=100, launcher="pytorch")
    cfg["model"]["norm"] = False
    cfg["val_dataloader"] = None
    cfg["param_scheduler"] = []
    cfg["default_hooks"]["logger"]["interval"] = INTERVAL
    cfg["default_hooks"]["checkpoint"] = dict(
        type="CheckpointHook", by_epoch=False, interval=10**6, save_last=False
    )
    cfg["train_cfg"].update(train)
    cfg["env_cfg"] = dict(dist_cfg=dict(backend="gloo", timeout=30))
    return cfg


def _worker(
    rank: int, port: int, work_dir: str, train: dict, nan_at: int, nan_ranks: tuple, queue
) -> None:
    os.environ.update(
        RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
    )  # fmt: skip
    torch.set_num_threads(1)
    from segwright.config import Config
    from segwright.engine import loops
    from segwright.engine.runner import Runner
    from segwright.testing.host_reads import HostReads

    counts: dict[int, int] = {}
    original = loops._TrainLoopBase.run_iter

    def counted(loop, batch_idx, data_batch):
        reads = HostReads(loop.runner.optim_wrapper.optimizer)
        with reads:
            original(loop, batch_idx, data_batch)
        counts[loop.iter] = sum(reads.where.values())

    loops._TrainLoopBase.run_iter = counted
    try:
        runner = Runner.from_cfg(Config(_cfg(Path(work_dir), train)))
        assert type(runner.model).__name__ == "_StepForwardingDDP"
        if nan_at and rank in nan_ranks:
            parse, calls = runner._raw_model.parse_losses, [0]

            def poisoned(losses):
                calls[0] += 1
                if calls[0] == nan_at:
                    losses = {k: v * float("nan") for k, v in losses.items()}
                return parse(losses)

            runner._raw_model.parse_losses = poisoned
        try:
            runner.train()
            queue.put((rank, "ok", counts, list(runner.train_loop.skipped_iters)))
        except Exception as exc:
            queue.put((rank, f"{type(exc).__name__}: {exc}"[:400], counts, []))
        finally:
            runner.close()
    except Exception as exc:  # report instead of dying silently
        queue.put((rank, f"setup {type(exc).__name__}: {exc}"[:400], counts, []))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _launch(
    work_dir: Path, train: dict, nan_at: int = 0, nan_ranks: tuple = (0, 1), timeout: float = 150.0
) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [
        ctx.Process(target=_worker, args=(r, port, str(work_dir), train, nan_at, nan_ranks, queue))
        for r in range(2)
    ]
    for p in procs:
        p.start()
    results = {}
    deadline = time.monotonic() + timeout
    while len(results) < 2 and time.monotonic() < deadline:
        try:
            rank, status, counts, skipped = queue.get(timeout=1)
            results[rank] = (status, counts, skipped)
        except Exception:
            if not any(p.is_alive() for p in procs):
                break
    for p in procs:
        p.join(max(deadline - time.monotonic(), 1))
        if p.is_alive():
            p.kill()
    assert set(results) == {0, 1}, f"ranks answered: {results}"
    return results


def _logged() -> set[int]:
    return {i for i in range(1, ITERS + 1) if i % INTERVAL == 0 or i == ITERS}


@pytest.mark.parametrize(
    "train, per_iter",
    [(dict(), 0), (dict(on_nonfinite_loss="skip"), 1)],
    ids=["stop-default", "skip"],
)
def test_ddp_reads_the_loss_only_when_the_loop_asks(tmp_path, train, per_iter):
    results = _launch(tmp_path, train)
    for rank, (status, counts, _) in results.items():
        assert status == "ok", (rank, status)
        assert sorted(counts) == list(range(1, ITERS + 1))
        plain = {i: n for i, n in counts.items() if i not in _logged() and i != 1}
        assert plain == dict.fromkeys((2, 4, 5), per_iter), (rank, counts)


def test_ddp_finds_a_nan_loss_at_the_log_line_and_names_its_iteration(tmp_path):
    results = _launch(tmp_path, dict(), nan_at=4)
    for status, _, _ in results.values():
        assert status.startswith("TrainingError: The loss is not finite at iteration 4"), status
        assert "stopped after iteration 6, where the losses" in status, status


def test_ddp_skip_mode_skips_on_every_rank_when_one_rank_has_a_nan(tmp_path):
    # Only rank 1's loss is NaN at iteration 4: if rank 0 went on to its backward it would wait
    # in the gradients' all-reduce for a rank that skipped it, and the run would hang.
    results = _launch(tmp_path, dict(on_nonfinite_loss="skip"), nan_at=4, nan_ranks=(1,))
    for rank, (status, _, skipped) in results.items():
        assert status == "ok", (rank, status)
        assert skipped == [3], (rank, skipped)  # iteration 4, counted from 0
