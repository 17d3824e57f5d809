"""Two gloo ranks on 127.0.0.1: DDP equals a single process with the whole batch; no hangs."""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.testing import toy_config

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed unavailable")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cfg(work_dir: Path, batch_size: int, launcher: str) -> dict:
    cfg = toy_config(work_dir, max_iters=4, val_interval=100, launcher=launcher)
    cfg["model"]["norm"] = False  # BN statistics would differ between 2x2 and 1x4
    cfg["train_dataloader"]["batch_size"] = batch_size
    cfg["val_dataloader"] = None
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", by_epoch=False, interval=4)
    cfg["env_cfg"] = dict(dist_cfg=dict(backend="gloo", timeout=20))
    return cfg


def _worker(rank: int, world: int, port: int, work_dir: str, fail_rank: int, queue) -> None:
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    try:
        runner = Runner.from_cfg(Config(_cfg(Path(work_dir), batch_size=2, launcher="pytorch")))
        if rank == fail_rank:
            raise RuntimeError("rank failed on purpose")
        runner.train()
        runner.close()
        queue.put((rank, "ok"))
    except Exception as exc:  # report instead of dying silently
        queue.put((rank, f"{type(exc).__name__}: {exc}"[:300]))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _launch(work_dir: Path, fail_rank: int = -1, timeout: float = 120.0) -> dict[int, str]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [
        ctx.Process(target=_worker, args=(r, 2, port, str(work_dir), fail_rank, queue))
        for r in range(2)
    ]
    for p in procs:
        p.start()
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(deadline - time.monotonic(), 1))
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
    assert not alive, "a rank hung"
    results = {}
    while not queue.empty():
        rank, status = queue.get()
        results[rank] = status
    return results


def test_two_ranks_batch_2_equal_one_rank_batch_4(tmp_path):
    results = _launch(tmp_path / "ddp")
    assert results == {0: "ok", 1: "ok"}
    # Only rank 0 writes checkpoints and logs.
    assert (tmp_path / "ddp" / "iter_4.pth").is_file()
    single = Runner.from_cfg(Config(_cfg(tmp_path / "single", batch_size=4, launcher="none")))
    single.train()
    single.close()
    a = torch.load(tmp_path / "ddp" / "iter_4.pth", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "single" / "iter_4.pth", weights_only=True)["state_dict"]
    # The gradients of 2x2 (allreduced) and 1x4 images are summed in different orders: a few
    # eps32 of the weights per step (observed <= 2e-7 of the largest after 4); allow 1e-5 of it.
    for key in a:
        scale = float(b[key].abs().max())
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-5 * scale)


def test_a_failing_rank_does_not_hang_the_other(tmp_path):
    start = time.monotonic()
    results = _launch(tmp_path / "fail", fail_rank=1, timeout=90)
    assert "rank failed on purpose" in results[1]
    assert results.get(0, "exited") != "ok"
    assert time.monotonic() - start < 90


def test_reverted_syncbn_takes_inputs_of_any_rank_like_syncbn():
    """EncHead's encoding norm sees (N, K, C): the reverted SyncBN must compute a 1-d norm there."""
    from torch import nn

    from segwright.engine.dist import revert_sync_batchnorm

    torch.manual_seed(0)
    reverted = revert_sync_batchnorm(nn.Sequential(nn.SyncBatchNorm(4)))[0]
    reference = nn.BatchNorm1d(4)
    reference.load_state_dict(reverted.state_dict())
    x = torch.randn(3, 4, 5, dtype=torch.float64)
    reverted.double(), reference.double()
    torch.testing.assert_close(reverted(x), reference(x), rtol=1e-12, atol=0)
    torch.testing.assert_close(reverted.running_var, reference.running_var, rtol=1e-12, atol=0)
    assert reverted(torch.randn(2, 4, 3, 3, dtype=torch.float64)).shape == (2, 4, 3, 3)
