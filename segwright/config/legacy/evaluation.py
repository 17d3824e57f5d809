"""0.x ``data`` and ``evaluation`` as dataloaders, validation/test loops and evaluators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.config.legacy.datasets import DataResult, translate_data
from segwright.config.legacy.notes import _TranslatorBase
from segwright.utils.errors import ConfigError

_IOU_METRICS = ("mIoU", "mDice", "mFscore")
_EVAL_ARGS = (
    "interval",
    "start",
    "metric",
    "save_best",
    "rule",
    "greater_keys",
    "less_keys",
    "pre_eval",
    "efficient_test",
    "gpu_collect",
    "tmpdir",
    "broadcast_bn_buffer",
    "by_epoch",
    "out_dir",
    "file_client_args",
)


class _EvaluationMixin(_TranslatorBase):
    """``data`` -> dataloaders; ``evaluation`` -> val/test loops, evaluators, best checkpoint."""

    def _data(self, iter_based: bool, workflow_val: bool) -> DataResult:
        if "data" not in self.src:
            if workflow_val:
                raise ConfigError("workflow has a ('val', n) phase but the config has no data.")
            return DataResult()
        result = translate_data(
            self.src.pop("data"), iter_based=iter_based, workflow_val=workflow_val, notes=self.notes
        )
        for split in ("train", "val", "test"):
            loader = getattr(result, f"{split}_dataloader")
            if loader is not None:
                self.out[f"{split}_dataloader"] = loader
        if result.data_preprocessor is not None:
            model = self.out["model"]
            if model.get("data_preprocessor") is not None or "data_preprocessor" in self.src:
                raise ConfigError(
                    "The 0.x pipelines normalise/pad the images (Normalize, Pad), which moves "
                    "into model.data_preprocessor, but the config sets a data_preprocessor too. "
                    "Keep one of them."
                )
            model["data_preprocessor"] = result.data_preprocessor
            self.note(
                "Normalize/Pad and the batch padding of the 0.x pipelines -> "
                "model.data_preprocessor (SegDataPreProcessor); DefaultFormatBundle/Collect -> "
                "PackSegInputs."
            )
        if result.tta_pipeline is not None:
            self.out["tta_pipeline"] = result.tta_pipeline
            self.out["tta_model"] = dict(type="SegTTAModel")
        return result

    def _evaluation(self, iter_based: bool, train_cfg: dict[str, Any]) -> None:
        has_val = "val_dataloader" in self.out
        present = "evaluation" in self.src
        evaluation = self.src.pop("evaluation", None)
        if not has_val:
            if evaluation is not None:
                raise ConfigError(
                    "Config key 'evaluation' is set but data.val is missing; add data.val (the "
                    "validation dataset) or remove evaluation."
                )
            self._test_split(["mIoU"])
            return
        if evaluation is None:
            evaluation = {}
            self.note(
                f"evaluation {'is None' if present else 'missing'}: MMSeg 0.x still validated "
                "data.val with EvalHook defaults (interval=1, mIoU); kept. Set "
                "evaluation=dict(interval=...) to validate less often."
            )
        if not isinstance(evaluation, Mapping):
            raise ConfigError(f"Config key 'evaluation' must be a dict, got {evaluation!r}.")
        unknown = sorted(set(evaluation) - set(_EVAL_ARGS))
        if unknown:
            raise ConfigError(
                f"Config key 'evaluation' has argument(s) {unknown} that segwright cannot "
                f"translate. Accepted: {', '.join(_EVAL_ARGS)}."
            )
        unit = "iteration" if iter_based else "epoch"
        interval = evaluation.get("interval", 1)
        train_cfg["val_interval"] = interval
        start = evaluation.get("start")
        if start is not None:
            if not isinstance(start, int) or start < 0:
                raise ConfigError(
                    f"Config key 'evaluation.start' must be an int >= 0, got {start!r}."
                )
            train_cfg["val_begin"] = start
            if interval and start % interval:
                self.note(
                    f"evaluation.start={start}: 0.x validated at {unit} {start}, "
                    f"{start + interval}, ...; segwright validates at multiples of {interval} "
                    f"from {start} on (train_cfg.val_begin)."
                )
        total = train_cfg.get("max_iters", train_cfg.get("max_epochs"))
        if isinstance(total, int) and isinstance(interval, int) and interval > 0:
            if total % interval:
                self.note(
                    f"evaluation.interval={interval}: segwright also validates after the last "
                    f"{unit} ({total}); 0.x validated only every {interval} {unit}s."
                )
        metrics = self._metrics(evaluation.get("metric", "mIoU"))
        self.out["val_cfg"] = dict(type="ValLoop")
        self.out["val_evaluator"] = dict(type="IoUMetric", iou_metrics=metrics)
        self.note(
            f"evaluation -> train_cfg.val_interval={interval}, val_evaluator IoUMetric("
            f"{metrics}). 0.x reported metrics as fractions (0.7512); segwright reports "
            "percentages (75.12)."
        )
        for name in ("save_best", "rule", "greater_keys", "less_keys"):
            if evaluation.get(name) is not None:
                self.best[name] = evaluation[name]
        for name, why in (
            ("pre_eval", "segwright always accumulates per-image areas"),
            ("efficient_test", "deprecated in 0.x; nothing to do"),
            ("gpu_collect", "results are gathered with torch.distributed collectives"),
            ("tmpdir", "no temporary result files"),
            ("broadcast_bn_buffer", "DDP keeps BN buffers in sync"),
            ("by_epoch", "MMSeg overwrote it from the runner type too"),
            ("out_dir", "best checkpoints go to the checkpoint hook's folder"),
            ("file_client_args", "local files only"),
        ):
            if name in evaluation:
                self.note(f"evaluation.{name} dropped: {why}.")
        self._test_split(metrics)

    def _test_split(self, metrics: list[str]) -> None:
        if "test_dataloader" not in self.out:
            return
        self.out["test_cfg"] = dict(type="TestLoop")
        self.out["test_evaluator"] = dict(type="IoUMetric", iou_metrics=metrics)

    @staticmethod
    def _metrics(metric: Any) -> list[str]:
        metrics = [metric] if isinstance(metric, str) else metric
        if not isinstance(metrics, (list, tuple)) or not metrics:
            raise ConfigError(
                f"Config key 'evaluation.metric' must be one of {_IOU_METRICS} or a list of "
                f"them, got {metric!r}."
            )
        bad = [m for m in metrics if m not in _IOU_METRICS]
        if bad:
            raise ConfigError(
                f"Config key 'evaluation.metric': {bad} unknown; segwright computes "
                f"{', '.join(_IOU_METRICS)}."
            )
        return list(metrics)
