"""Run the demo: train a small UNet on built-in synthetic scenes and show what it learned.

The scenes (5 classes told apart by shape and texture, not colour) are generated on first use
into $SEGWRIGHT_CACHE or ~/.cache/segwright; nothing is downloaded. Training takes a few
minutes on a CPU. The work dir receives checkpoints, logs, curves.png, predictions.png
(image | truth | prediction) and confusion.png; the per-class table and mIoU are printed.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", default="work_dirs/demo", help="where the demo writes")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override the demo config, e.g. train_cfg.max_iters=100",
    )


def run(args: argparse.Namespace) -> int:
    from segwright.apis.demo import run_demo

    result = run_demo(args.work_dir, args.device, args.cfg_options)
    print(f"\nDemo finished. Work dir: {result.work_dir}")
    for name, path in result.pictures.items():
        print(f"  {name:<12} {path}")
    summary = "  ".join(
        f"{k}: {v:.2f}" for k, v in result.metrics.items() if isinstance(v, (int, float))
    )
    print(f"Validation: {summary}")
    print(f"mIoU: {result.metrics.get('mIoU', float('nan')):.2f}")
    return 0
