"""Evaluate a checkpoint on the config's test set: metrics and the per-class table."""

from __future__ import annotations

import argparse
import copy
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from segwright.utils.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file (.py, .json, .yaml); MMSeg 0.x or 1.x")
    parser.add_argument("checkpoint", help="checkpoint file to evaluate")
    parser.add_argument("--work-dir", help="where the test log goes")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    parser.add_argument(
        "--show-dir",
        help="write image | ground truth | prediction PNGs for every test image here "
        "(detection configs: ground truth | prediction, with boxes, masks, classes, scores)",
    )
    parser.add_argument(
        "--out",
        help="write raw prediction PNGs (class ids), confusion.npy and confusion.png here "
        "(detection configs: CocoMetric's results.bbox.json and results.segm.json)",
    )
    parser.add_argument(
        "--tta",
        action="store_true",
        help="test-time augmentation with the config's tta_pipeline and tta_model",
    )
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow checkpoints that pickle Python objects (runs code from the file)",
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="evaluate even when the checkpoint lacks model weights or has them in another "
        "shape (those keep their initial values; refused by default)",
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
    from segwright.apis.train import build_runner
    from segwright.cli.config_loading import load_config, log_translation_notes
    from segwright.task_hooks.test_outputs import SegTestOutputHook

    notes: list[str] = []
    cfg, _ = load_config(args.config, args.cfg_options, notes=notes)
    if args.tta:
        use_tta(cfg)
    if args.out:
        set_output_dir(cfg, args.out)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    if args.device:
        cfg.device = args.device
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.trust_checkpoint:
        cfg.trust_checkpoint = True
    if args.allow_partial:
        cfg.allow_partial_checkpoint = True
    runner = build_runner(cfg)  # with the pre-flight checks (classes, ignore_index, heads)
    log_translation_notes(runner, notes)  # into the run's log file, not only the console
    if args.show_dir or args.out:
        runner.register_hook(SegTestOutputHook(show_dir=args.show_dir, out_dir=args.out))
    try:
        metrics = runner.test()
    finally:
        runner.close()
    print(" ".join(f"{k}: {v:.2f}" for k, v in metrics.items() if isinstance(v, (int, float))))
    return 0


def use_tta(cfg: Any) -> None:
    """Swap in ``tta_pipeline`` for the test set and wrap the model in ``tta_model``."""
    missing = [key for key in ("tta_pipeline", "tta_model") if not cfg.get(key)]
    if missing:
        raise ConfigError(
            f"--tta needs {' and '.join(missing)} in the config. Add e.g. "
            "tta_model = dict(type='SegTTAModel') and tta_pipeline = [dict(type="
            "'LoadImageFromFile'), dict(type='TestTimeAug', transforms=[[dict(type='Resize', "
            "scale_factor=r, keep_ratio=True) for r in (0.5, 1.0, 1.5)], [dict(type="
            "'RandomFlip', prob=0.0, direction='horizontal'), dict(type='RandomFlip', prob=1.0, "
            "direction='horizontal')], [dict(type='LoadAnnotations')], "
            "[dict(type='PackSegInputs')]])]."
        )
    loader = cfg.get("test_dataloader")
    dataset = loader.get("dataset") if isinstance(loader, Mapping) else None
    if not isinstance(dataset, Mapping):
        raise ConfigError("--tta needs test_dataloader.dataset as a config dict.")
    if "pipeline" not in dataset and isinstance(dataset.get("dataset"), Mapping):
        dataset = dataset["dataset"]  # a wrapper (e.g. RepeatDataset) around the real one
    if "pipeline" not in dataset:
        raise ConfigError(
            f"--tta replaces test_dataloader.dataset.pipeline with tta_pipeline, but the test "
            f"dataset ({dataset.get('type')}) has no pipeline."
        )
    dataset["pipeline"] = copy.deepcopy(cfg["tta_pipeline"])
    tta_model = dict(cfg["tta_model"])
    tta_model["module"] = cfg["model"]
    cfg["model"] = tta_model


def set_output_dir(cfg: Any, out: str) -> None:
    """Point every IoUMetric of ``test_evaluator`` at ``out`` (raw label PNGs).

    Every CocoMetric writes its COCO result json files there too (``out/results.bbox.json``,
    ``out/results.segm.json``: boxes as x, y, w, h, masks as RLE).
    """
    evaluator = cfg.get("test_evaluator")
    metrics = evaluator.get("metrics", evaluator) if isinstance(evaluator, Mapping) else evaluator
    metrics = metrics if isinstance(metrics, (list, tuple)) else [metrics]
    found = False
    for metric in metrics:
        kind = str(metric.get("type", "")) if isinstance(metric, MutableMapping) else ""
        if kind.endswith("IoUMetric"):
            metric["output_dir"] = out
            found = True
        elif kind.endswith("CocoMetric"):
            Path(out).mkdir(parents=True, exist_ok=True)
            metric["outfile_prefix"] = str(Path(out) / "results")
            found = True
    if not found:
        raise ConfigError(
            "--out writes predictions through IoUMetric(output_dir=...) or CocoMetric("
            "outfile_prefix=...), but test_evaluator has neither as a config dict. Add "
            "test_evaluator = dict(type='IoUMetric', ...) (or type='CocoMetric' for detectors)."
        )
