"""Multi-scale deformable attention: segwright's PyTorch operator against MMCV 2.1 on the CPU.

Shapes are those of Mask2Former's pixel decoder in ``configs/mask2former/mask2former_r50_*``
(``MSDeformAttnPixelDecoder``: 6 encoder layers, embed_dims 256, 8 heads of 32 channels,
3 levels at strides 8, 16 and 32, 4 points), batch 1: for an SxS input the value and the
queries are the ``(S/8)^2 + (S/16)^2 + (S/32)^2`` positions of the three levels (5376 at 512,
1344 at 256). Sampling locations are uniform in [-0.05, 1.05] (some taps fall outside the
map), attention weights a softmax over the 12 samples of each head.

MMCV's side: its compiled ``MultiScaleDeformableAttnFunction`` is tried first; MMCV 2.1 ships
that kernel for CUDA and MLU only, and on a CPU tensor it raises (the error is printed), so
``MultiScaleDeformableAttention`` itself falls back to ``multi_scale_deformable_attn_pytorch``
on the CPU, and that is what is timed (what MMSeg's Mask2Former runs on a CPU).

Each side lives in its own worker process (this venv; the reference venv of
``../shared/tools/mmseg-reference/setup.sh``) with one thread; rounds alternate the sides and
time the same iterations on both; per-part ratios are the medians of the per-round ratios.
Outputs and the gradients of value, locations and weights are compared once.

Usage: python benchmarks/ms_deform_attn_cost.py [--sizes 256 512] [--rounds 5] [--iters 3]
The last line is the forward + backward ratio at the last size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import machine_line, ratio_line, require_reference_python  # noqa: I001
from zoo_speed_vs_mmseg import SERVE_LOOP, Worker, worker_env

EMBED_DIMS, HEADS, LEVELS, POINTS, STRIDES = 256, 8, 3, 4, (8, 16, 32)

WORKER = (
    r"""
import json, sys, time, traceback
import torch

SIDE = sys.argv[1]
MARK = "@@answer "
torch.set_num_threads(1)
torch.set_num_interop_threads(1)
NOTE = ""
if SIDE == "mmcv":
    from mmcv.ops.multi_scale_deform_attn import (
        MultiScaleDeformableAttnFunction, multi_scale_deformable_attn_pytorch)

    def compiled(value, shapes, locations, weights):
        starts = torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
        return MultiScaleDeformableAttnFunction.apply(value, shapes, starts, locations, weights, 64)

    def op(value, shapes, locations, weights):
        return multi_scale_deformable_attn_pytorch(value, shapes, locations, weights)
else:
    from segwright.ops import multi_scale_deformable_attn as op
STATE = {}


def do_load(req):
    global NOTE
    data = torch.load(req["inputs"])
    STATE.update(data)
    if SIDE == "mmcv":
        try:
            compiled(data["value"], data["shapes"], data["locations"], data["weights"])
            NOTE = "compiled CPU kernel ran"
        except Exception as exc:
            NOTE = f"compiled op on CPU: {type(exc).__name__}: {str(exc).strip()}"
    leaves = [data[k].clone().requires_grad_() for k in ("value", "locations", "weights")]
    out = op(leaves[0], data["shapes"], leaves[1], leaves[2])
    out.backward(data["grad"])
    torch.save(dict(out=out.detach(), grads=[x.grad for x in leaves]), req["result"])
    return dict(note=NOTE)


def step(backward):
    d = STATE
    if not backward:
        with torch.no_grad():
            op(d["value"], d["shapes"], d["locations"], d["weights"])
        return
    leaves = [d[k].detach().requires_grad_() for k in ("value", "locations", "weights")]
    op(leaves[0], d["shapes"], leaves[1], leaves[2]).backward(d["grad"])


def do_time(req):
    step(req["backward"])  # warm
    times = []
    for _ in range(req["iters"]):
        start = time.perf_counter()
        step(req["backward"])
        times.append(time.perf_counter() - start)
    return dict(times=times)


HANDLERS = dict(load=do_load, time=do_time)
"""
    + SERVE_LOOP
)


def make_inputs(size: int, path: Path) -> int:
    """Mask2Former's pixel-decoder tensors for an SxS image; returns the number of positions."""
    import torch

    gen = torch.Generator().manual_seed(0)
    shapes = torch.tensor([[size // s, size // s] for s in STRIDES])
    positions = int((shapes[:, 0] * shapes[:, 1]).sum())
    dims = EMBED_DIMS // HEADS
    value = torch.randn(1, positions, HEADS, dims, generator=gen)
    locations = torch.rand(1, positions, HEADS, LEVELS, POINTS, 2, generator=gen) * 1.1 - 0.05
    logits = torch.randn(1, positions, HEADS, LEVELS * POINTS, generator=gen)
    weights = logits.softmax(-1).view(1, positions, HEADS, LEVELS, POINTS)
    grad = torch.randn(1, positions, EMBED_DIMS, generator=gen)
    torch.save(
        dict(value=value, shapes=shapes, locations=locations, weights=weights, grad=grad), path
    )
    return positions


def rel(a, b) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="input sides")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds per part")
    parser.add_argument("--iters", type=int, default=3, help="timed iterations per round")
    args = parser.parse_args()
    if any(s % 32 for s in args.sizes) or args.rounds < 1 or args.iters < 1:
        parser.error("--sizes must be multiples of 32; --rounds and --iters >= 1")
    reference = require_reference_python()
    import torch

    torch.set_num_threads(1)
    print(machine_line())
    print(
        f"Mask2Former pixel decoder: embed_dims {EMBED_DIMS}, {HEADS} heads, {LEVELS} levels "
        f"(strides {STRIDES}), {POINTS} points, batch 1, float32, one thread per side; "
        f"load average {os.getloadavg()}"
    )
    last = None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ours = Worker("segwright", sys.executable, work, worker_env(True), program=WORKER)
        theirs = Worker("mmcv", str(reference), work, worker_env(False), program=WORKER)
        try:
            for size in args.sizes:
                inputs = work / f"inputs_{size}.pt"
                positions = make_inputs(size, inputs)
                got = {}
                for worker in (ours, theirs):
                    result = work / f"result_{worker.side}.pt"
                    note = worker.ask(600, cmd="load", inputs=str(inputs), result=str(result))
                    if note["note"]:
                        print(f"[{size}] MMCV: {note['note']}")
                    got[worker.side] = torch.load(result)
                a, b = got["segwright"], got["mmcv"]
                diffs = [rel(a["out"], b["out"])] + [
                    rel(x, y) for x, y in zip(a["grads"], b["grads"], strict=True)
                ]
                print(
                    f"[{size}x{size} input: value and queries {positions}] max relative "
                    f"difference: output {diffs[0]:.1e}, grad value {diffs[1]:.1e}, "
                    f"grad locations {diffs[2]:.1e}, grad weights {diffs[3]:.1e}"
                )
                for backward in (False, True):
                    part = "forward + backward" if backward else "forward (no_grad)"
                    times: dict[str, list[float]] = {"segwright": [], "mmcv": []}
                    for r in range(args.rounds):
                        for worker in (ours, theirs) if r % 2 == 0 else (theirs, ours):
                            answer = worker.ask(
                                600, cmd="time", iters=args.iters, backward=backward
                            )
                            times[worker.side].append(statistics.median(answer["times"]))
                    print(
                        f"  {part:<19} segwright median "
                        f"{1000 * statistics.median(times['segwright']):8.1f} ms  MMCV median "
                        f"{1000 * statistics.median(times['mmcv']):8.1f} ms  (per-round ms: "
                        f"segwright {[round(1000 * t, 1) for t in times['segwright']]}, "
                        f"MMCV {[round(1000 * t, 1) for t in times['mmcv']]})"
                    )
                    label = f"segwright / MMCV CPU, {part}, {size}x{size}"
                    last = ratio_line(label, times["segwright"], times["mmcv"])
                    print(last, flush=True)
        finally:
            ours.stop()
            theirs.stop()
    print(f"load average at the end {os.getloadavg()}")
    print(last)


if __name__ == "__main__":
    main()
