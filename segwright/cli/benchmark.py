"""Measure inference speed (images per second) of a config's model on random input.

The model runs in eval mode under torch.inference_mode with mode='tensor' (backbone, neck and
decode head: the raw logits, no resizing, no argmax, no data loading or preprocessing) on a
random B x C x H x W batch. After --warmup untimed runs, each of --iters runs is timed on its
own; the report gives the median with the min and max, and ends with the median img/s.
--channels-last, --compile and --amp DTYPE measure the speed options a config can switch on.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from segwright.cli.model_input import add_model_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser, checkpoint="optional")
    parser.add_argument("--batch-size", type=int, default=1, help="images per forward pass")
    parser.add_argument("--iters", type=int, default=20, help="timed runs")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs before timing")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--channels-last", action="store_true", help="NHWC weights and input")
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile the model (warm-up includes it)"
    )
    parser.add_argument(
        "--amp",
        choices=("float16", "bfloat16"),
        help="run the forward under torch.autocast with this dtype",
    )


def time_forward(
    model: Any, inputs: Any, iters: int, warmup: int, amp: str | None = None
) -> list[float]:
    """Seconds of each of ``iters`` forward passes, after ``warmup`` untimed ones."""
    import torch

    from segwright.cli.model_input import tensor_forward

    cuda = inputs.device.type == "cuda"
    autocast = torch.autocast(
        inputs.device.type, dtype=getattr(torch, amp or "float32"), enabled=amp is not None
    )
    with torch.inference_mode(), autocast:
        for _ in range(warmup):
            tensor_forward(model, inputs)
        if cuda:
            torch.cuda.synchronize(inputs.device)
        times = []
        for _ in range(iters):
            start = time.perf_counter()
            tensor_forward(model, inputs)
            if cuda:
                torch.cuda.synchronize(inputs.device)
            times.append(time.perf_counter() - start)
    return times


def run(args: argparse.Namespace) -> int:
    import torch

    from segwright.cli.model_input import input_channels, load_model, parse_shape
    from segwright.engine.speed import apply_speed_options
    from segwright.utils.errors import ConfigError

    height, width = parse_shape(args.shape)
    for flag, value, least in (
        ("--batch-size", args.batch_size, 1),
        ("--iters", args.iters, 1),
        ("--warmup", args.warmup, 0),
    ):
        if value < least:
            raise ConfigError(f"{flag} must be at least {least}, got {value}.")
    model, cfg, legacy = load_model(args, device=args.device)
    options = apply_speed_options(
        model, torch.device(args.device), args.channels_last, args.compile
    )
    if args.amp:
        options.append(f"amp: torch.autocast with {args.amp}")
    channels = input_channels(cfg, args.in_channels)
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(args.batch_size, channels, height, width, generator=generator)
    inputs = inputs.to(args.device)
    times = time_forward(model, inputs, args.iters, args.warmup, args.amp)
    per_second = sorted(args.batch_size / max(t, 1e-12) for t in times)
    median_ms = statistics.median(times) * 1000
    source = f"{args.config} (MMSeg 0.x config, translated)" if legacy else args.config
    weights = args.checkpoint or "random initial weights"
    threads = f", {torch.get_num_threads()} threads" if args.device == "cpu" else ""
    print(f"{type(model).__name__} from {source}, weights: {weights}")
    print(
        f"input {args.batch_size}x{channels}x{height}x{width} on {args.device}{threads}; "
        f"{args.warmup} warm-up runs, {args.iters} timed runs"
    )
    for option in options:
        print(f"speed option {option}")
    print(
        f"time per batch: median {median_ms:.3f} ms, min {min(times) * 1000:.3f} ms, "
        f"max {max(times) * 1000:.3f} ms"
    )
    print(
        f"throughput: median {statistics.median(per_second):.2f} img/s, "
        f"min {per_second[0]:.2f}, max {per_second[-1]:.2f}"
    )
    print(f"{statistics.median(per_second):.2f} img/s")
    return 0
