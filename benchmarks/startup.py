"""Start-up cost of the command line: ``segwright --help``, and ``segwright train`` to the first
finished iteration, each against what the same interpreter needs at the least.

``help``: wall time of ``segwright --help`` (the installed console script next to this
interpreter) from launch to exit, against ``python -c pass`` (the interpreter floor) and, for
context, ``python -c "import torch"``. Its ratio line is help / floor; a help that imported
torch would show as a ratio near torch's.

``train``: wall time from launching ``segwright train`` on the toy config
(``segwright/testing/configs/toy_iter.py``: a conv3x3-BN-ReLU-conv1x1 model, batches of two
32x32 images, SGD) with ``--device cpu --cfg-options train_cfg.max_iters=1
default_hooks.logger.interval=1`` and a fresh ``--work-dir``, to the moment its first
``Iter(train) [1/1]`` log line reaches our pipe. That line is written by the logger hook
after the iteration's update, and the console handler flushes each record, so it marks the
first finished iteration; ``vis_data/scalars.json`` gets the same record at the same time,
but would have to be polled. The other side is a minimal script run the same way by the same
interpreter: import torch, build the same layers as plain ``torch.nn`` modules (not
``segwright.testing.ToySegModel``, whose import would pull in segwright, which is part of what
is measured), make a batch of the same shape, do one forward, backward and SGD step, print a
line. Both are also timed to exit (segwright then validates on 8 toy images and saves a
checkpoint), printed for context.

Usage: python benchmarks/startup.py [--part {all,help,train}] [--repeats 5]
[--help-repeats 10] [--warmup 1] [--quick]

Runs alternate their order (A B, B A, ...) after ``--warmup`` untimed rounds. The last line is
the headline, ``ratio (segwright train to first iteration / minimal script): median X (min Y,
max Z) over N paired runs``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from common import ROOT, machine_line, ratio_line, summary

TOY_CONFIG = ROOT / "segwright" / "testing" / "configs" / "toy_iter.py"
SEGWRIGHT_MARKER = re.compile(r"Iter\(train\) \[1/")
MINIMAL_MARKER = re.compile(r"^iteration 1 done")

MINIMAL_TRAIN = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(3, 4, 3, padding=1, bias=False),
    nn.BatchNorm2d(4),
    nn.ReLU(inplace=True),
    nn.Conv2d(4, 2, 1),
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
images = torch.randint(0, 60, (2, 3, 32, 32), dtype=torch.uint8)
labels = torch.zeros(2, 32, 32, dtype=torch.long)
images[:, :, 8:24, 8:24] += 150
labels[:, 8:24, 8:24] = 1
loss = nn.functional.cross_entropy(model(images.float() / 255), labels, ignore_index=255)
optimizer.zero_grad()
loss.backward()
optimizer.step()
print(f"iteration 1 done, loss {loss.item():.4f}", flush=True)
"""


def segwright_command() -> list[str]:
    """The console script installed beside this interpreter (what users type)."""
    script = Path(sys.executable).with_name("segwright")
    if script.exists():
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; from segwright.cli.main import main; sys.exit(main())",
    ]


def time_to_exit(command: Sequence[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr.decode(errors='replace')}")
    return elapsed


def time_to_marker(command: Sequence[str], marker: re.Pattern, cwd: Path) -> tuple[float, float]:
    """Seconds from launch to the first output line matching ``marker``, and to exit."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    first = None
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        if first is None and marker.search(line):
            first = time.perf_counter() - start
        lines.append(line)
    process.wait()
    total = time.perf_counter() - start
    if process.returncode != 0 or first is None:
        output = "".join(lines[-30:])
        raise SystemExit(
            f"{' '.join(command)} exited with {process.returncode}"
            f"{'' if first is not None else ' without the first-iteration line'}:\n{output}"
        )
    return first, total


def run_help(args: argparse.Namespace, cwd: Path) -> None:
    commands = {
        "segwright": [*segwright_command(), "--help"],
        "pass": [sys.executable, "-c", "pass"],
        "torch": [sys.executable, "-c", "import torch"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for round_index in range(args.warmup + args.help_repeats):
        order = names if round_index % 2 == 0 else names[::-1]
        measured = {name: time_to_exit(commands[name], cwd) for name in order}
        if round_index >= args.warmup:
            for name, seconds in measured.items():
                times[name].append(seconds)
    print(f"[help] {args.warmup} warm-up round(s), {args.help_repeats} timed, order alternating")
    print(summary("--help", times["segwright"]))
    print(summary("-c pass", times["pass"]))
    print(summary("import torch", times["torch"]))
    extra = statistics.median(a - b for a, b in zip(times["segwright"], times["pass"]))
    share = statistics.median(a / b for a, b in zip(times["segwright"], times["torch"]))
    print(
        f"[help] segwright --help: {extra * 1000:.0f} ms over the interpreter floor (median), "
        f"{share:.2f}x the time of python -c 'import torch'"
    )
    print(ratio_line("segwright --help / python -c pass", times["segwright"], times["pass"]))


def run_train(args: argparse.Namespace, cwd: Path) -> None:
    options = ["train_cfg.max_iters=1", "default_hooks.logger.interval=1"]
    minimal = [sys.executable, "-c", MINIMAL_TRAIN]
    ours_first, ours_exit, mine_first, mine_exit = [], [], [], []
    print(
        f"[train] segwright train {TOY_CONFIG.relative_to(ROOT)} --device cpu --cfg-options "
        f"{' '.join(options)}  vs  a plain-torch script, same interpreter"
    )
    for round_index in range(args.warmup + args.repeats):
        order = ("ours", "mine") if round_index % 2 == 0 else ("mine", "ours")
        for side in order:
            if side == "ours":
                work_dir = cwd / f"train_{round_index}"
                command = [
                    *segwright_command(),
                    "train",
                    str(TOY_CONFIG),
                    "--work-dir",
                    str(work_dir),
                    "--device",
                    "cpu",
                    "--cfg-options",
                    *options,
                ]
                first, total = time_to_marker(command, SEGWRIGHT_MARKER, cwd)
                if round_index >= args.warmup:
                    ours_first.append(first)
                    ours_exit.append(total)
            else:
                first, total = time_to_marker(minimal, MINIMAL_MARKER, cwd)
                if round_index >= args.warmup:
                    mine_first.append(first)
                    mine_exit.append(total)
    print(f"[train] {args.warmup} warm-up round(s), {args.repeats} timed, order alternating")
    print(summary("ours 1st it", ours_first))
    print(summary("mine 1st it", mine_first))
    print(summary("ours exit", ours_exit))
    print(summary("mine exit", mine_exit))
    extra = statistics.median(a - b for a, b in zip(ours_first, mine_first))
    print(f"[train] segwright's extra time to the first iteration (median): {extra:.2f} s")
    print(ratio_line("segwright train to exit / minimal script to exit", ours_exit, mine_exit))
    print(ratio_line("segwright train to first iteration / minimal script", ours_first, mine_first))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "help", "train"), default="all")
    parser.add_argument("--repeats", type=int, default=5, help="timed train rounds")
    parser.add_argument("--help-repeats", type=int, default=10, help="timed --help rounds")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (each part)")
    parser.add_argument("--quick", action="store_true", help="one round each, no warm-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.help_repeats, args.warmup = 1, 1, 0
    if min(args.repeats, args.help_repeats) < 1 or args.warmup < 0:
        parser.error("--repeats and --help-repeats must be >= 1, --warmup >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(machine_line())
    print(f"interpreter {sys.executable}; segwright command {' '.join(segwright_command())}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.part in ("all", "help"):
            run_help(args, Path(tmp))
        if args.part in ("all", "train"):
            run_train(args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
