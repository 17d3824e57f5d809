"""Run the demo: train a small UNet on built-in synthetic scenes and show what it learned.

The scenes (5 classes told apart by shape and texture, not colour) are generated on first use
into $SEGWRIGHT_CACHE or ~/.cache/segwright; nothing is downloaded. Training takes a few
minutes on a CPU. The work dir receives checkpoints, logs, curves.png, predictions.png
(image | truth | prediction) and confusion.png; the per-class table and mIoU are printed.

--task instance trains a small Mask R-CNN on procedural COCO-format shape scenes instead
(written to the same cache; needs pycocotools: pip install 'segwright[det]') and prints COCO
bbox and segm mAP; work_dirs/demo_instance receives curves.png and predictions.png.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--task",
        choices=("semantic", "instance"),
        default="semantic",
        help="semantic: UNet, mIoU (default); instance: Mask R-CNN, COCO bbox/segm mAP",
    )
    parser.add_argument(
        "--work-dir",
        default=None,
        help="where the demo writes (default work_dirs/demo or work_dirs/demo_instance)",
    )
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
    if args.task == "instance":
        return _run_instance(args)
    from segwright.apis.demo import run_demo

    result = run_demo(args.work_dir or "work_dirs/demo", args.device, args.cfg_options)
    print(f"\nDemo finished. Work dir: {result.work_dir}")
    for name, path in result.pictures.items():
        print(f"  {name:<12} {path}")
    summary = "  ".join(
        f"{k}: {v:.2f}" for k, v in result.metrics.items() if isinstance(v, (int, float))
    )
    print(f"Validation: {summary}")
    print(f"mIoU: {result.metrics.get('mIoU', float('nan')):.2f}")
    return 0


def _run_instance(args: argparse.Namespace) -> int:
    from segwright.apis.demo_instance import run_instance_demo

    result = run_instance_demo(
        args.work_dir or "work_dirs/demo_instance", args.device, args.cfg_options
    )
    print(f"\nDemo finished. Work dir: {result.work_dir}")
    for name, path in result.pictures.items():
        print(f"  {name:<12} {path}")
    for metric in ("bbox", "segm"):
        values = [
            f"{item} {result.metrics[key]:.3f}"
            for item in ("mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l")
            if (key := f"coco/{metric}_{item}") in result.metrics and result.metrics[key] >= 0
        ]
        print(f"{metric}: {'  '.join(values)}")
    nan = float("nan")
    print(f"bbox mAP: {result.metrics.get('coco/bbox_mAP', nan):.3f}")
    print(f"segm mAP: {result.metrics.get('coco/segm_mAP', nan):.3f}")
    return 0
