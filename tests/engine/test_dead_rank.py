"""A dead rank: the survivor exits at once with one line naming it, not gloo's traceback.

Two gloo ranks on 127.0.0.1 (CPU). Rank 1 dies after the first barrier, either without a word
(``os._exit``, as under ``kill -9``) or through ``segwright``'s error handler (a user error);
rank 0 is inside a collective in ``segwright``'s ``main`` and must come back within seconds.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import socket
import sys
import time
import types

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as tmp

from segwright.cli import main as cli_main

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="gloo unavailable"
)

DEADLINE_S = 60.0  # a hang guard only; the run takes a few seconds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _probe_command(rank: int, how: str) -> types.ModuleType:
    """A ``segwright`` subcommand: rank 1 dies as ``how`` says; rank 0 all-reduces."""
    module = types.ModuleType("segwright.cli._dead_rank_probe")
    module.__doc__ = "test probe"
    module.add_arguments = lambda parser: None

    def run(args):
        from segwright.utils.errors import ConfigError

        if rank == 1:
            if how == "killed":
                os._exit(0)  # no handler runs, like kill -9
            raise ConfigError("rank 1 read a bad config (on purpose)")
        for _ in range(5):
            dist.all_reduce(torch.ones(8))
        return 0

    module.run = run
    return module


def _worker(rank: int, port: int, how: str, out: str) -> None:
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE="2",
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    from segwright.engine.dist import init_distributed

    init_distributed("pytorch", dict(backend="gloo", timeout=20))
    dist.barrier()
    sys.modules["segwright.cli._dead_rank_probe"] = _probe_command(rank, how)
    cli_main.COMMANDS["probe-dead-rank"] = "_dead_rank_probe"
    stderr = io.StringIO()
    start = time.monotonic()
    with contextlib.redirect_stderr(stderr):
        code = cli_main.main(["probe-dead-rank"])
    result = dict(code=code, stderr=stderr.getvalue(), seconds=time.monotonic() - start)
    with open(os.path.join(out, f"rank{rank}.json"), "w") as handle:
        json.dump(result, handle)
    os._exit(0)  # exit 0 so the launcher lets the other rank finish


def _launch(how: str, out: str) -> None:
    # fork: the ranks start in a blink, with torch and the CLI already imported (spawn takes
    # ~10 s to import them again on a loaded machine).
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    cli_main.build_parser()  # imports the subcommand modules once, before the fork
    context = tmp.start_processes(
        _worker, args=(_free_port(), how, out), nprocs=2, join=False, start_method=method
    )
    deadline = time.monotonic() + DEADLINE_S
    while not context.join(timeout=0.5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("a rank hung")


@pytest.mark.parametrize("how", ["killed", "failed"])
def test_the_survivor_names_the_dead_rank_in_one_line(tmp_path, how):
    if dist.is_initialized():
        pytest.skip("this process already has a process group")
    _launch(how, str(tmp_path))
    result = json.loads((tmp_path / "rank0.json").read_text())
    lines = result["stderr"].strip().splitlines()
    assert result["code"] == cli_main.EXIT_PEER_LOST
    assert result["seconds"] < 15
    assert lines[0].startswith("segwright: error: Rank 0 of 2 stops because rank 1 (pid ")
    assert "Traceback" not in result["stderr"] and len(lines) == 2  # the line + the --debug hint
    if how == "killed":
        assert "died" in lines[0]
    else:
        assert "failed with ConfigError: rank 1 read a bad config (on purpose)" in lines[0]
        rank1 = json.loads((tmp_path / "rank1.json").read_text())
        assert rank1["code"] == cli_main.EXIT_USER_ERROR
