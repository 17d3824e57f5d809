"""Evaluate a checkpoint on the config's test set: metrics and the per-class table."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file (.py, .json, .yaml)")
    parser.add_argument("checkpoint", help="checkpoint file to evaluate")
    parser.add_argument("--work-dir", help="where the test log goes")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow checkpoints that pickle Python objects (runs code from the file)",
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys",
    )


def run(args: argparse.Namespace) -> int:
    from segwright.config import Config
    from segwright.engine.runner import Runner

    cfg = Config.fromfile(args.config, import_custom_modules=False)
    if args.cfg_options:
        cfg.merge_from_options(args.cfg_options)
    cfg.import_custom_modules()
    if args.work_dir:
        cfg.work_dir = args.work_dir
    if args.device:
        cfg.device = args.device
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.trust_checkpoint:
        cfg.trust_checkpoint = True
    runner = Runner.from_cfg(cfg)
    try:
        metrics = runner.test()
    finally:
        runner.close()
    print(" ".join(f"{k}: {v:.2f}" for k, v in metrics.items() if isinstance(v, (int, float))))
    return 0
