"""Run the demo: a quick training run on built-in synthetic data, ending with its mIoU.

For now the demo trains the toy two-layer model on synthetic rectangles (about a minute on
a CPU); the real demo on the built-in dataset replaces it.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", default="work_dirs/demo", help="where the demo writes")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")


def run(args: argparse.Namespace) -> int:
    from segwright.config import Config
    from segwright.engine.runner import Runner
    from segwright.testing import TOY_CONFIG_PATH

    cfg = Config.fromfile(TOY_CONFIG_PATH)
    cfg.work_dir = args.work_dir
    cfg.device = args.device
    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
        metrics = runner.val_loop.run() if runner.val_loop is not None else {}
    finally:
        runner.close()
    miou = metrics.get("mIoU")
    print(f"\nDemo finished. Work dir: {runner.work_dir}")
    if miou is not None:
        print(f"mIoU: {miou:.2f}")
    return 0
