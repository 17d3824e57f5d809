"""Speed of the PSA mask and point sampling in ``segwright.ops`` against their loop references.

The references (``segwright.ops._reference_context``) follow the operators' definitions one
element at a time and exist to test against; models use the vectorised ops. Each part checks
that both sides agree (max relative difference), then times them on the same inputs,
interleaved (A B, B A, ...), with no autograd:

``psa``: ``psa_mask`` 'collect' and 'distribute' on ``--psa-map`` (one image), a window of
``2 * size - 1`` (PSANet's covering size). The reference copies one window cell at a time.

``point``: bilinear ``point_sample`` of ``--points`` points on a 2x``--channels`` x ``--map``
feature map (PointRend's fine-grained features). The reference reads four pixels per point.

The vectorised side's forward+backward time at PSANet's and PointRend's real sizes (Cityscapes
512x1024: a 32x64 map with 97x97 windows; 8196 points on 256x128x256) is printed for context.

Usage::

    python benchmarks/ops_context.py [--part {all,psa,point}] [--repeats 5] [--threads 1]
        [--psa-map 8 8] [--points 256] [--channels 16] [--map 32 32] [--no-full-size] [--quick]

``--threads`` defaults to 1 (the shared two-core machine). ``--quick`` is a smoke run with tiny
sizes (numbers meaningless). Each ratio line reads ``ratio (vectorised / reference, PART):
median X (min Y, max Z) over N paired runs``; the last line is the point-sampling ratio.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from common import machine_line, ratio_line, summary  # noqa: I001  (puts the repository on sys.path)

from segwright.ops import point_sample, psa_mask
from segwright.ops._reference_context import point_sample_reference, psa_mask_reference


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(
    ours: Callable[[], object], reference: Callable[[], object], repeats: int
) -> tuple[list[float], list[float]]:
    """Alternate the order of the two sides each round; return both sides' times."""
    ours_times, ref_times = [], []
    for index in range(repeats):
        if index % 2 == 0:
            ours_times.append(timed(ours))
            ref_times.append(timed(reference))
        else:
            ref_times.append(timed(reference))
            ours_times.append(timed(ours))
    return ours_times, ref_times


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def run_psa(args: argparse.Namespace) -> None:
    height, width = args.psa_map
    mask = (2 * height - 1, 2 * width - 1)
    x = torch.randn(1, mask[0] * mask[1], height, width, generator=torch.Generator().manual_seed(0))
    for psa_type in ("collect", "distribute"):
        label = f"psa {psa_type}"
        print(f"[{label}] 1x{mask[0] * mask[1]}x{height}x{width} in, window {mask[0]}x{mask[1]}")
        with torch.no_grad():
            print(f"[{label}] same output: max relative difference "
                  f"{_rel(psa_mask(x, psa_type, mask), psa_mask_reference(x, psa_type, mask)):.2e}")  # fmt: skip
            ours, ref = interleave(
                lambda t=psa_type: psa_mask(x, t, mask),
                lambda t=psa_type: psa_mask_reference(x, t, mask),
                args.repeats,
            )
        print(summary("vectorised", ours))
        print(summary("reference", ref))
        print(ratio_line(f"vectorised / reference, {label}", ours, ref))
    if args.full_size:
        full = torch.randn(2, 97 * 97, 32, 64, requires_grad=True)
        times = [timed(lambda: psa_mask(full, "collect", (97, 97)).sum().backward())
                 for _ in range(max(2, args.repeats // 2))]  # fmt: skip
        print(summary("PSANet fwd+bwd 2x9409x32x64", times))


def run_point(args: argparse.Namespace) -> None:
    gen = torch.Generator().manual_seed(1)
    height, width = args.map
    feature = torch.randn(2, args.channels, height, width, generator=gen)
    points = torch.rand(2, args.points, 2, generator=gen)
    print(f"[point] {args.points} points on 2x{args.channels}x{height}x{width}, bilinear")
    with torch.no_grad():
        diff = _rel(point_sample(feature, points), point_sample_reference(feature, points))
        print(f"[point] same output: max relative difference {diff:.2e}")
        ours, ref = interleave(
            lambda: point_sample(feature, points),
            lambda: point_sample_reference(feature, points),
            args.repeats,
        )
    if args.full_size:
        full = torch.randn(2, 256, 128, 256, requires_grad=True)
        pts = torch.rand(2, 8196, 2)
        times = [timed(lambda: point_sample(full, pts).sum().backward())
                 for _ in range(max(2, args.repeats // 2))]  # fmt: skip
        print(summary("PointRend fwd+bwd 8196 pts", times))
    print(summary("vectorised", ours))
    print(summary("reference", ref))
    print(ratio_line("vectorised / reference, point", ours, ref))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("all", "psa", "point"), default="all")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--psa-map", type=int, nargs=2, default=(8, 8))
    parser.add_argument("--points", type=int, default=256)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--map", type=int, nargs=2, default=(32, 32))
    parser.add_argument("--no-full-size", dest="full_size", action="store_false")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.psa_map, args.points, args.map, args.full_size = (
            2,
            (3, 3),
            8,
            (6, 6),
            False,
        )
    torch.set_num_threads(args.threads)
    print(machine_line())
    if args.part in ("all", "psa"):
        run_psa(args)
    if args.part in ("all", "point"):
        run_point(args)


if __name__ == "__main__":
    main()
