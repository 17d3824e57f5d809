"""The parts a ``Runner`` builds on demand: train loop, eval loops, evaluators, optimizer.

``train()`` builds the train loop, the optimizer wrapper and the schedulers; ``val()`` and
``test()`` build only their loop. Kept apart from ``runner.py``, which drives the run.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from segwright.engine.data import build_dataloader
from segwright.registry import EVALUATORS, LOOPS, METRICS, build_if_dict
from segwright.utils.dist import get_world_size
from segwright.utils.errors import ConfigError


def build_evaluator(cfg: Any, key: str) -> Any:
    """The evaluator of ``val_evaluator``/``test_evaluator`` (``key``), in MMEngine's forms.

    Accepted: a built evaluator (anything with ``process`` and ``evaluate``); a dict with
    ``metrics`` and no ``type`` or an evaluator ``type`` (``dict(metrics=[...])``,
    ``dict(type='Evaluator', metrics=[...])``); one metric dict; a list of metric dicts or
    metrics. The metrics are built here so an error names their key (``val_evaluator[1]``).

    Raises:
        ConfigError: ``cfg`` is None (the loop has no evaluator).
    """
    if cfg is None:
        raise ConfigError(f"Validation/testing needs {key} (e.g. dict(type='IoUMetric')).")
    if hasattr(cfg, "process") and hasattr(cfg, "evaluate"):
        return cfg
    if isinstance(cfg, Mapping) and _names_an_evaluator(cfg):
        cfg = dict(cfg)
        cfg.setdefault("type", "Evaluator")
        if "metrics" in cfg:
            cfg["metrics"] = _build_metrics(cfg["metrics"], f"{key}.metrics")
        return EVALUATORS.build(cfg, key=key)
    return EVALUATORS.build(dict(type="Evaluator", metrics=_build_metrics(cfg, key)), key=key)


def _names_an_evaluator(cfg: Mapping[str, Any]) -> bool:
    """An evaluator's config rather than a metric's: an evaluator type, or metrics untyped."""
    kind = cfg.get("type")
    if kind is None:
        return "metrics" in cfg
    return kind == "Evaluator" or (isinstance(kind, str) and EVALUATORS.get(kind) is not None)


def _build_metrics(metrics: Any, key: str) -> list[Any]:
    """Each metric of one metric or a list of them, built from its dict (``key[i]``)."""
    items = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
    return [build_if_dict(m, METRICS, key=f"{key}[{i}]") for i, m in enumerate(items)]


class BuildMixin:
    """The on-demand builders of :class:`~segwright.engine.runner.Runner`."""

    def _build_train_loop(self) -> Any:
        if (
            self._train_cfg is None
            or self._train_dataloader_cfg is None
            or self._optim_wrapper_cfg is None
        ):
            missing = [
                name
                for name, value in (
                    ("train_cfg", self._train_cfg),
                    ("train_dataloader", self._train_dataloader_cfg),
                    ("optim_wrapper", self._optim_wrapper_cfg),
                )
                if value is None
            ]
            raise ConfigError(f"Training needs {', '.join(missing)} in the config.")
        cfg = dict(self._train_cfg)
        if "type" not in cfg:
            by_epoch = cfg.pop("by_epoch", None)
            if by_epoch is None:
                raise ConfigError(
                    "train_cfg needs type='IterBasedTrainLoop' (with max_iters) or "
                    "type='EpochBasedTrainLoop' (with max_epochs)."
                )
            cfg["type"] = "EpochBasedTrainLoop" if by_epoch else "IterBasedTrainLoop"
        elif "by_epoch" in cfg:
            raise ConfigError("train_cfg sets both 'type' and 'by_epoch'; keep only 'type'.")
        loader = build_dataloader(
            self._train_dataloader_cfg, seed=self.seed, key="train_dataloader", device=self.device
        )
        return LOOPS.build(cfg, default_args=dict(runner=self, dataloader=loader), key="train_cfg")

    def _build_eval_loop(self, mode: str) -> Any:
        loader_cfg = self._val_dataloader_cfg if mode == "val" else self._test_dataloader_cfg
        loop_cfg = self._val_cfg if mode == "val" else self._test_cfg
        evaluator_cfg = self._val_evaluator_cfg if mode == "val" else self._test_evaluator_cfg
        if loader_cfg is None:
            return None
        loop_cfg = dict(loop_cfg or {})
        loop_cfg.setdefault("type", "ValLoop" if mode == "val" else "TestLoop")
        loader = build_dataloader(
            loader_cfg, seed=self.seed, key=f"{mode}_dataloader", device=self.device
        )
        evaluator = build_evaluator(evaluator_cfg, f"{mode}_evaluator")
        return LOOPS.build(
            loop_cfg,
            default_args=dict(runner=self, dataloader=loader, evaluator=evaluator),
            key=f"{mode}_cfg",
        )

    def _train_batch_size(self) -> int:
        """Images per step on one process: the train dataloader's ``batch_size``."""
        spec = self._train_dataloader_cfg
        if isinstance(spec, Mapping) and spec.get("batch_size") is not None:
            return int(spec["batch_size"])
        loader = self.train_loop.dataloader
        size = loader.batch_size or getattr(loader.batch_sampler, "batch_size", None)
        return int(size or 1)

    def _build_optim_and_schedulers(self) -> None:
        from segwright.engine.optim.auto_scale_lr import scale_lr
        from segwright.engine.optim.constructor import build_optim_wrapper, describe_param_groups
        from segwright.engine.optim.schedulers.builder import build_param_schedulers

        if hasattr(self._optim_wrapper_cfg, "update_params"):
            self.optim_wrapper = self._optim_wrapper_cfg
        else:
            self.optim_wrapper = build_optim_wrapper(
                self._raw_model, copy.deepcopy(self._optim_wrapper_cfg)
            )
        factor = scale_lr(
            self.optim_wrapper.optimizer,
            self._auto_scale_lr,
            self._train_batch_size(),
            get_world_size(),
        )
        if factor is not None:
            self.logger.info(
                f"auto_scale_lr: lr x {factor:g} (world size {get_world_size()} x batch size "
                f"{self._train_batch_size()} / base_batch_size "
                f"{self._auto_scale_lr['base_batch_size']})."
            )
        self.logger.info(
            "Parameter groups:\n" + describe_param_groups(self.optim_wrapper.optimizer)
        )
        if self._param_scheduler_cfg:
            self.param_schedulers = build_param_schedulers(
                copy.deepcopy(self._param_scheduler_cfg),
                self.optim_wrapper,
                epoch_length=len(self.train_loop.dataloader),
                max_epochs=self.train_loop.max_epochs,
                max_iters=self.train_loop.max_iters,
            )
        else:
            self.param_schedulers = []
