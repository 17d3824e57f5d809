"""The speed options a config can switch on, each timed against the plain fp32 run.

Options (the config keys they set):
  channels_last     channels_last=True
  amp-bf16          optim_wrapper.type='AmpOptimWrapper', dtype='bfloat16'
  amp-fp16          the same with dtype='float16' (CUDA only)
  compile           compile=True (torch.compile, inductor)
  cudnn-benchmark   env_cfg.cudnn_benchmark=True (CUDA only)
  pin-memory        train_dataloader.pin_memory=True, timed against pin_memory=False (the
                    default on CUDA is True since issue 19, so the plain run would pin too)
  prefetch-to-device  train_dataloader.prefetch_to_device=True (pin_memory at its default)

The two data options (issue 19, part 2) run only when named (``--options`` or the flags
``--pin-memory``, ``--prefetch-to-device``); ``--workers N`` loads with N workers, as a real run
would (pinning then happens in torch's pin-memory thread). On the CPU both must change nothing.

Every measurement is a fresh subprocess (so compiled kernels, cuDNN's choices and peak-memory
counters never leak between options) that trains the case through the Runner and times the
iterations after the warm-up (compilation and cuDNN's search happen there), as in overhead.py.
Baseline and option runs alternate over ``--rounds`` rounds. Peak memory is CUDA's
max_memory_allocated on a GPU, the process's peak RSS on the CPU.

Usage: python benchmarks/speed.py [--model unet|pspnet|toy] [--device cpu|cuda] [--rounds 3]
       [--options ...] [--pin-memory] [--prefetch-to-device] [--workers 0]
The last line is ``ratio (<fastest option> / fp32): median ... (min ..., max ...)``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from common import machine_line, ratio_line, write_fake_tree  # noqa: I001
from overhead import CASES, case_config, run_runner

OPTIONS = (
    "fp32", "channels_last", "amp-bf16", "amp-fp16", "compile", "cudnn-benchmark",
    "pin-memory", "prefetch-to-device",
)  # fmt: skip
CUDA_ONLY = ("amp-fp16", "cudnn-benchmark")
DATA_OPTIONS = ("pin-memory", "prefetch-to-device")  # run only when asked for
#: The run an option is timed against, where it is not the plain fp32 run with the defaults.
BASELINES = {"pin-memory": "fp32-unpinned"}


def apply_option(cfg, option: str) -> None:
    if option == "channels_last":
        cfg.channels_last = True
    elif option.startswith("amp-"):
        wrapper = cfg.optim_wrapper
        wrapper.type = "AmpOptimWrapper"
        wrapper.dtype = "bfloat16" if option == "amp-bf16" else "float16"
        wrapper.setdefault("loss_scale", "dynamic")
    elif option == "compile":
        cfg.compile = True
    elif option == "cudnn-benchmark":
        cfg.env_cfg = dict(cfg.get("env_cfg") or {}, cudnn_benchmark=True)
    elif option in ("pin-memory", "fp32-unpinned"):
        cfg.train_dataloader.pin_memory = option == "pin-memory"
    elif option == "prefetch-to-device":
        cfg.train_dataloader.prefetch_to_device = True


def worker(
    model: str, option: str, device: str, iters: int, warmup: int, data: str, workers: int = 0
) -> None:
    """One timed run; prints a JSON line with seconds per iteration and peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = case_config(model, Path(data), Path(tmp) / "work", workers, iters + warmup, device)
        cfg.log_level = "WARNING"
        apply_option(cfg, option)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        seconds = run_runner(cfg, warmup)
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(dict(seconds_per_iter=seconds / iters, peak_mib=peak)))


def run_worker(args: argparse.Namespace, option: str, data: str) -> dict:
    command = [sys.executable, __file__, "--worker", option, "--model", args.model]
    command += ["--device", args.device, "--iters", str(args.iters), "--warmup", str(args.warmup)]
    command += ["--data", data, "--workers", str(args.workers)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return dict(error=(done.stderr or done.stdout).strip().splitlines()[-1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(CASES), default="unet")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--options", nargs="+", choices=OPTIONS[1:], default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=None, help="timed iterations per run")
    parser.add_argument("--warmup", type=int, default=None, help="untimed iterations per run")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--workers", type=int, default=0, help="train_dataloader.num_workers")
    parser.add_argument("--pin-memory", action="store_true", help="time the pin-memory option")
    parser.add_argument(
        "--prefetch-to-device", action="store_true", help="time the prefetch-to-device option"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    _, batch, default_iters, default_warmup = CASES[args.model]
    args.iters = args.iters or default_iters
    args.warmup = args.warmup if args.warmup is not None else max(default_warmup, 3)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        worker(
            args.model, args.worker, args.device, args.iters, args.warmup, args.data, args.workers
        )
        return
    cuda = args.device.startswith("cuda")
    flags = [o for o in DATA_OPTIONS if getattr(args, o.replace("-", "_"))]
    options = list(dict.fromkeys((args.options or []) + flags)) or [
        o for o in OPTIONS[1:] if (cuda or o not in CUDA_ONLY) and o not in DATA_OPTIONS
    ]
    print(machine_line())
    print(
        f"{args.model}, batch {batch}, {args.device}: {args.iters} timed iterations after "
        f"{args.warmup} warm-up ones, {args.rounds} rounds, a fresh process per run, "
        f"num_workers {args.workers}"
    )
    # pairs[option]: (option run, the fp32 run next to it) per round
    pairs: dict[str, list[tuple[dict, dict]]] = {option: [] for option in options}
    with tempfile.TemporaryDirectory() as data:
        if args.model == "pspnet":
            write_fake_tree(Path(data), count=8, size=(512, 683), num_classes=150)
        for index in range(args.rounds):
            for option in options:
                base = BASELINES.get(option, "fp32")
                first, second = (base, option) if index % 2 == 0 else (option, base)
                runs = {first: run_worker(args, first, data)}
                runs[second] = run_worker(args, second, data)
                pairs[option].append((runs[option], runs[base]))
    if any(option in BASELINES for option in options):
        print("(the fp32 column of pin-memory is the run with pin_memory=False)")
    report(pairs)


def report(pairs: dict[str, list[tuple[dict, dict]]]) -> None:
    """A table of every option, one ratio line each, the fastest option's ratio last."""
    print()
    print("| option | ms/iter (median) | min | max | peak memory MiB | fp32 ms/iter | ratio |")
    print("|---|---|---|---|---|---|---|")
    lines: dict[str, tuple[float, str]] = {}
    for option, runs in pairs.items():
        failed = [r.get("error") or b.get("error") for r, b in runs if "error" in r or "error" in b]
        if failed:
            print(f"| {option} | failed: {failed[0]} | | | | | |")
            continue
        ms = [r["seconds_per_iter"] * 1000 for r, _ in runs]
        base = [b["seconds_per_iter"] * 1000 for _, b in runs]
        line = ratio_line(f"{option} / fp32", ms, base)
        ratio = statistics.median(a / b for a, b in zip(ms, base))
        lines[option] = (ratio, line)
        peak = max(r["peak_mib"] for r, _ in runs)
        base_peak = max(b["peak_mib"] for _, b in runs)
        print(
            f"| {option} | {statistics.median(ms):.2f} | {min(ms):.2f} | {max(ms):.2f} | "
            f"{peak:.0f} (fp32 {base_peak:.0f}) | {statistics.median(base):.2f} | {ratio:.3f} |"
        )
    print()
    for _, line in lines.values():
        print(line)
    if lines:
        print(min(lines.values())[1])


if __name__ == "__main__":
    main()
