"""Train a model from a config file (MMSeg 1.x or 0.x; 0.x configs are translated).

The work directory is --work-dir, else the config's work_dir, else ./work_dirs/<config name>.
Each run writes a timestamped folder there with the log, the merged config and the scalars;
checkpoints go to the work directory itself.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file (.py, .json, .yaml); MMSeg 0.x or 1.x")
    parser.add_argument("--work-dir", help="where logs and checkpoints go")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        default=None,
        metavar="CHECKPOINT",
        help="resume from CHECKPOINT, or from the work dir's last checkpoint when none is given",
    )
    parser.add_argument("--load-from", help="initialise the weights from a checkpoint")
    parser.add_argument(
        "--amp", action="store_true", help="mixed precision (AmpOptimWrapper; bf16 on CPU)"
    )
    parser.add_argument(
        "--amp-dtype",
        choices=("float16", "bfloat16"),
        help="autocast dtype for --amp (default: bfloat16 on CPU, float16 on CUDA)",
    )
    parser.add_argument(
        "--channels-last", action="store_true", help="NHWC weights and batches (channels_last=True)"
    )
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile the model (compile=True)"
    )
    parser.add_argument(
        "--cudnn-benchmark",
        action="store_true",
        help="let cuDNN pick the fastest kernels (env_cfg.cudnn_benchmark=True; CUDA only)",
    )
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow checkpoints that pickle Python objects (runs code from the file)",
    )
    parser.add_argument(
        "--launcher", choices=("none", "pytorch"), default="none", help="pytorch under torchrun"
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys, e.g. train_cfg.max_iters=100",
    )


def prepare_config(args: argparse.Namespace, notes: list[str] | None = None) -> object:
    """Load the config and apply the command-line settings (CLI wins over the file).

    Args:
        notes: A list to receive the MMSeg 0.x translation notes (for the run's log).
    """
    from segwright.cli.config_loading import load_config
    from segwright.utils.errors import ConfigError

    cfg, _ = load_config(args.config, args.cfg_options, notes=notes)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    if args.load_from:
        cfg.load_from = args.load_from
    if args.resume == "auto":
        cfg.resume = True
    elif args.resume:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.device:
        cfg.device = args.device
    if args.trust_checkpoint:
        cfg.trust_checkpoint = True
    cfg.launcher = args.launcher
    if args.channels_last:
        cfg.channels_last = True
    if args.compile and not cfg.get("compile"):
        cfg.compile = True
    if args.cudnn_benchmark:
        env_cfg = dict(cfg.get("env_cfg") or {})
        env_cfg["cudnn_benchmark"] = True
        cfg.env_cfg = env_cfg
    if args.amp_dtype and not args.amp:
        raise ConfigError("--amp-dtype goes with --amp; add --amp.")
    if args.amp:
        wrapper = cfg.get("optim_wrapper")
        if wrapper is None:
            raise ConfigError("--amp needs optim_wrapper in the config.")
        kind = wrapper.get("type", "OptimWrapper")
        if kind == "OptimWrapper":
            wrapper.type = "AmpOptimWrapper"
            wrapper.setdefault("loss_scale", "dynamic")
        elif kind != "AmpOptimWrapper":
            raise ConfigError(f"--amp works with OptimWrapper or AmpOptimWrapper, not {kind!r}.")
        if args.amp_dtype:
            wrapper.dtype = args.amp_dtype
    return cfg


def run(args: argparse.Namespace) -> int:
    from segwright.apis.train import build_runner
    from segwright.cli.config_loading import log_translation_notes, translation_notes_text

    notes: list[str] = []
    cfg = prepare_config(args, notes)
    try:
        runner = build_runner(cfg)
    except Exception:
        if notes:  # no run log to hold them: they may explain the failure
            print(translation_notes_text(notes))
        raise
    log_translation_notes(runner, notes)
    try:
        runner.train()
    finally:
        runner.close()
    return 0
