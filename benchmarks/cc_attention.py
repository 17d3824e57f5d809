"""Speed of the vectorised criss-cross attention against its per-pixel loop reference.

``segwright.ops.cc_attention.criss_cross_attention`` (three einsums and one softmax) and
``segwright.ops._reference_cc_attention.criss_cross_attention_reference`` (CCNet's definition,
one pixel at a time) run on the same random query/key/value, interleaved (A B, B A, ...),
after checking that they agree (max relative difference). Two parts: ``fwd`` (forward under
``no_grad``) and ``fwdbwd`` (forward, then backward of a fixed upstream gradient to query, key
and value); ``fwdbwd`` runs last, so the last line is its ratio.

Sizes default to one CCNet-like map: query/key at ``--channels // 8``, value at
``--channels``, ``--size`` H x W. The reference's cost grows with H * W * (H + W) Python-level
steps, so keep the map modest.

Usage::

    python benchmarks/cc_attention.py [--channels 64] [--size 32 32] [--batch 1]
        [--repeats 5] [--threads 1] [--quick]

``--threads`` defaults to 1 (on a shared two-core machine, more threads made single runs
vary from contention). ``--quick`` is a smoke run with tiny sizes (numbers meaningless). Each
ratio line reads ``ratio (vectorised / reference, PART): median X (min Y, max Z) over N paired
runs``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from common import machine_line, ratio_line, summary  # noqa: I001  (puts the repository on sys.path)

from segwright.ops._reference_cc_attention import criss_cross_attention_reference
from segwright.ops.cc_attention import criss_cross_attention

Op = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _inputs(args: argparse.Namespace) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    height, width = args.size
    qk = (args.batch, max(args.channels // 8, 1), height, width)
    v = (args.batch, args.channels, height, width)
    return [torch.randn(s, generator=gen) for s in (qk, qk, v)]


def _forward(op: Op, inputs: list[torch.Tensor]) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        op(*inputs)
    return time.perf_counter() - start


def _forward_backward(op: Op, inputs: list[torch.Tensor], upstream: torch.Tensor) -> float:
    leaves = [t.detach().requires_grad_() for t in inputs]
    start = time.perf_counter()
    torch.autograd.grad(op(*leaves), leaves, upstream)
    return time.perf_counter() - start


def _time_part(name: str, run: Callable[[Op], float], repeats: int) -> None:
    run(criss_cross_attention)  # warm-up
    ours: list[float] = []
    ref: list[float] = []
    for i in range(repeats):
        pair = [(ours, criss_cross_attention), (ref, criss_cross_attention_reference)]
        for times, op in pair if i % 2 == 0 else pair[::-1]:
            times.append(run(op))
    print(summary("vectorised", ours))
    print(summary("reference", ref))
    print(ratio_line(f"vectorised / reference, {name}", ours, ref))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, nargs=2, default=(32, 32))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.channels, args.size, args.repeats = 8, (4, 5), 2
    torch.set_num_threads(args.threads)
    print(machine_line())
    inputs = _inputs(args)
    print(f"query/key {tuple(inputs[0].shape)}, value {tuple(inputs[2].shape)}, float32")
    ours = criss_cross_attention(*inputs)
    ref = criss_cross_attention_reference(*inputs)
    diff = float((ours - ref).abs().max() / ref.abs().max())
    print(f"same output: max relative difference {diff:.2e}")
    upstream = torch.randn(ours.shape, generator=torch.Generator().manual_seed(1))
    _time_part("fwd", lambda op: _forward(op, inputs), args.repeats)
    _time_part("fwdbwd", lambda op: _forward_backward(op, inputs, upstream), args.repeats)


if __name__ == "__main__":
    main()
