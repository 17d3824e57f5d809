"""Speed of the vectorised operators in ``segwright.ops`` against their loop references.

The references (``segwright.ops._reference``) follow MMCV's CPU kernels step by step and exist
to test against; models use the vectorised ops. Three parts, each timing both sides on the same
inputs, interleaved (A B, B A, ...), after checking that they agree (max relative difference
for RoIAlign, identical kept indices for NMS):

``nms``: ``nms`` on ``--boxes`` clustered boxes (RPN-like proposals on a 800x1333 image, scores
uniform), IoU threshold 0.7.

``roi14``: Mask R-CNN's mask-head RoIAlign: ``--rois`` RoIs on a ``--channels`` x ``--map``
feature map (two images), 14x14 bins, ``sampling_ratio=0``, aligned. Box sides are 2 to 40
map pixels, as FPN's level assignment leaves them. The default 128 RoIs (about the positives
of one training image, which is what the mask head sees) keep a full run near a minute on two
cores, the reference taking most of it; the box head samples 512 RoIs per image
(``--rois 512``).

``roi7``: the box head's RoIAlign, 7x7 bins, otherwise as ``roi14``. It runs last: the last
line of a full run is its ratio.

The vectorised side's forward+backward time is printed for context (the reference's backward
is autograd through per-RoI gathers, not timed). The reference always runs on the CPU;
``--device cuda`` moves only the vectorised side.

Usage::

    python benchmarks/ops.py [--part {all,nms,roi14,roi7}] [--repeats 3] [--warmup 1]
        [--rois 128] [--channels 256] [--map 64 128] [--boxes 2000] [--device cpu]
        [--threads N] [--quick]

``--threads`` defaults to 1: on a shared two-core machine, two threads made single runs of
either side vary by 10x or more, from contention rather than from the code.

``--quick`` is a smoke run with tiny sizes (numbers meaningless). Each ratio line reads
``ratio (vectorised / reference, PART): median X (min Y, max Z) over N paired runs``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import torch
from common import machine_line, ratio_line, summary, sync  # noqa: I001  (puts the repository on sys.path)

from segwright.ops import nms, roi_align
from segwright.ops._reference import nms_reference, roi_align_reference


def timed(fn: Callable[[], object], device: str) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def interleave(
    ours: Callable[[], object],
    reference: Callable[[], object],
    repeats: int,
    device: str,
) -> tuple[list[float], list[float]]:
    """Alternate the order of the two sides each round; return both sides' times."""
    ours_times, ref_times = [], []
    for index in range(repeats):
        if index % 2 == 0:
            ours_times.append(timed(ours, device))
            ref_times.append(timed(reference, "cpu"))
        else:
            ref_times.append(timed(reference, "cpu"))
            ours_times.append(timed(ours, device))
    return ours_times, ref_times


def make_rois(count: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """RoIs on a (height, width) map of two images, sides 2 to 40 pixels, a few over the edge."""
    centre_x = torch.rand(count, generator=generator) * width
    centre_y = torch.rand(count, generator=generator) * height
    size_w = torch.rand(count, generator=generator) * 38 + 2
    size_h = torch.rand(count, generator=generator) * 38 + 2
    batch = torch.randint(0, 2, (count,), generator=generator).float()
    return torch.stack(
        [
            batch,
            centre_x - size_w / 2,
            centre_y - size_h / 2,
            centre_x + size_w / 2,
            centre_y + size_h / 2,
        ],
        1,
    )


def run_roi(args: argparse.Namespace, output_size: int, part: str) -> None:
    generator = torch.Generator().manual_seed(output_size)
    height, width = args.map
    feature = torch.randn(2, args.channels, height, width, generator=generator)
    rois = make_rois(args.rois, height, width, generator)
    feature_dev, rois_dev = feature.to(args.device), rois.to(args.device)
    print(
        f"[{part}] {args.rois} RoIs, {output_size}x{output_size} bins, sampling_ratio 0, on "
        f"2x{args.channels}x{height}x{width}, device {args.device}"
    )

    def ours() -> torch.Tensor:
        with torch.no_grad():
            return roi_align(feature_dev, rois_dev, output_size, 1.0, 0)

    def reference() -> torch.Tensor:
        with torch.no_grad():
            return roi_align_reference(feature, rois, output_size, 1.0, 0)

    difference = (ours().cpu() - reference()).abs().max() / reference().abs().max()
    print(f"[{part}] same output: max relative difference {difference.item():.2e}")
    for _ in range(args.warmup):
        ours()
        roi_align_reference(feature, rois[:8], output_size, 1.0, 0)
    ours_times, ref_times = interleave(ours, reference, args.repeats, args.device)

    leaf = feature_dev.clone().requires_grad_(True)

    def forward_backward() -> None:
        roi_align(leaf, rois_dev, output_size, 1.0, 0).sum().backward()

    train_times = [timed(forward_backward, args.device) for _ in range(args.repeats)]
    print(summary("vectorised", ours_times))
    print(summary("reference", ref_times))
    print(summary("vec fwd+bwd", train_times))
    print(ratio_line(f"vectorised / reference, {part}", ours_times, ref_times))


def make_boxes(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Proposals clustered around objects of an 800x1333 image; uniform scores."""
    centres = torch.rand(max(count // 20, 1), 2, generator=generator) * torch.tensor([1333, 800])
    pick = torch.randint(0, centres.shape[0], (count,), generator=generator)
    sizes = torch.rand(count, 2, generator=generator) * 150 + 10
    xy = centres[pick] + torch.randn(count, 2, generator=generator) * 20
    boxes = torch.cat([xy - sizes / 2, xy + sizes / 2], 1)
    return boxes, torch.rand(count, generator=generator)


def run_nms(args: argparse.Namespace) -> None:
    boxes, scores = make_boxes(args.boxes, torch.Generator().manual_seed(0))
    boxes_dev, scores_dev = boxes.to(args.device), scores.to(args.device)
    keep = nms(boxes_dev, scores_dev, 0.7)[1].cpu()
    ref_keep = nms_reference(boxes, scores, 0.7)[1]
    print(
        f"[nms] {args.boxes} boxes, IoU threshold 0.7, device {args.device}: kept {len(keep)}; "
        f"same kept indices: {torch.equal(keep, ref_keep)}"
    )
    for _ in range(args.warmup):
        nms(boxes_dev, scores_dev, 0.7)
        nms_reference(boxes, scores, 0.7)
    ours_times, ref_times = interleave(
        lambda: nms(boxes_dev, scores_dev, 0.7),
        lambda: nms_reference(boxes, scores, 0.7),
        args.repeats,
        args.device,
    )
    print(summary("vectorised", ours_times))
    print(summary("reference", ref_times))
    print(ratio_line("vectorised / reference, nms", ours_times, ref_times))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "nms", "roi14", "roi7"), default="all")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per part")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--rois", type=int, default=128)
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--map", type=int, nargs=2, default=(64, 128), metavar=("H", "W"))
    parser.add_argument("--boxes", type=int, default=2000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (0: torch's default)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup = 1, 0
        args.rois, args.channels, args.map, args.boxes = 12, 4, (16, 24), 60
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(machine_line())
    if args.part in ("all", "nms"):
        run_nms(args)
    if args.part in ("all", "roi14"):
        run_roi(args, 14, "roi14")
    if args.part in ("all", "roi7"):
        run_roi(args, 7, "roi7")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
