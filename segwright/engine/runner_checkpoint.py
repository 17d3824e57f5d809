"""The runner's checkpoint side: saving, loading weights, resuming a run (SPEC §8).

Kept apart from ``runner.py`` so building and driving a run and persisting it read separately.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from segwright.engine import checkpoint as ckpt_io
from segwright.engine.rng import capture_rng_state
from segwright.utils.dist import is_main_process


def _segwright_version() -> str:
    from segwright import __version__

    return __version__


class CheckpointMixin:
    """Save / load / resume for :class:`~segwright.engine.runner.Runner`."""

    def save_checkpoint(
        self,
        path: str | Path,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        by_epoch: bool = False,
        meta: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write model (+ optimizer, schedulers, log state) atomically; rank 0 only."""
        checkpoint: dict[str, Any] = {
            "meta": {
                "epoch": self.epoch + 1 if by_epoch else self.epoch,
                "iter": self.iter if by_epoch else self.iter + 1,
                "cfg": self.cfg.pretty_text if len(self.cfg) else "",
                "seed": self.seed,
                "experiment_name": self.experiment_name,
                "time": time.strftime("%Y%m%d_%H%M%S", time.localtime()),
                "torch_version": str(torch.__version__),
                "segwright_version": _segwright_version(),
                **dict(meta or {}),
            },
            "state_dict": ckpt_io.weights_to_cpu(self._raw_model.state_dict()),
            "message_hub": self.log_store.state_dict(),
            "rng": self.frozen_rng_state or capture_rng_state(),
        }
        dataset = getattr(getattr(self.train_loop, "dataloader", None), "dataset", None)
        if getattr(dataset, "metainfo", None) is not None:
            checkpoint["meta"]["dataset_meta"] = dict(dataset.metainfo)
        if save_optimizer and self.optim_wrapper is not None:
            checkpoint["optimizer"] = self.optim_wrapper.state_dict()
        if save_param_scheduler and self.param_schedulers:
            checkpoint["param_schedulers"] = [s.state_dict() for s in self.param_schedulers]
        self.call_hook("before_save_checkpoint", checkpoint=checkpoint)
        path = Path(path)
        if is_main_process():
            ckpt_io.save_checkpoint(checkpoint, path)
        return path

    def load_checkpoint(
        self, filename: str | Path, strict: bool = False, require_fit: bool = False
    ) -> dict[str, Any]:
        """Load weights (partially unless ``strict``) and report what did not fit.

        ``require_fit``: refuse (:class:`~segwright.utils.errors.CheckpointMismatchError`) when
        a model key is missing from the checkpoint or has another shape there; extra checkpoint
        keys are still ignored.
        """
        checkpoint, report = ckpt_io.load_checkpoint(
            self._raw_model, filename, strict=strict, trusted=self.trust_checkpoint
        )
        if require_fit:
            ckpt_io.require_fit(
                report,
                filename,
                "pass --allow-partial to segwright test (allow_partial_checkpoint=True in the "
                "config)",
            )
        if report.exact:
            self.logger.info(f"Loaded {filename}: all {len(report.loaded)} keys.")
        else:
            self.logger.warning(f"Loaded {filename} partially.\n{report.summary()}")
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        return checkpoint

    def resume(self, filename: str | Path) -> None:
        """Restore weights, optimizer, schedulers, counters and log state from a checkpoint."""
        checkpoint = self.load_checkpoint(filename)
        meta = checkpoint.get("meta", {})
        if self.train_loop is not None:
            self.train_loop._iter = int(meta.get("iter", 0))
            self.train_loop._epoch = int(meta.get("epoch", 0))
        if "optimizer" in checkpoint and self.optim_wrapper is not None:
            self.optim_wrapper.load_state_dict(checkpoint["optimizer"])
        if "param_schedulers" in checkpoint and self.param_schedulers:
            for scheduler, state in zip(self.param_schedulers, checkpoint["param_schedulers"]):
                scheduler.load_state_dict(state)
        self.log_store.load_state_dict(checkpoint.get("message_hub", {}))
        if self.train_loop is not None and "rng" in checkpoint:
            self.train_loop.resume_rng_state = checkpoint["rng"]
        if meta.get("seed") is not None and meta["seed"] != self.seed:
            self.logger.warning(
                f"The checkpoint was trained with seed {meta['seed']}, this run uses {self.seed}."
            )
        self.logger.info(f"Resumed from {filename} at iteration {self.iter}, epoch {self.epoch}.")

    def _load_or_resume(self, evaluating: bool = False) -> None:
        """Resume (training only) or load ``load_from``; evaluation needs a checkpoint that fits."""
        if evaluating and self.train_loop is not None:
            return  # val()/test() after train(): evaluate the trained weights, not load_from's
        if self.resume_requested and self.train_loop is not None:
            path = self.load_from or ckpt_io.find_last_checkpoint(self.work_dir)
            if path is None:
                self.logger.info(
                    f"resume=True but no checkpoint in {self.work_dir}; training from scratch."
                )
                return
            self.resume(path)
        elif self.load_from:
            require_fit = evaluating and not getattr(self, "allow_partial_checkpoint", False)
            self.load_checkpoint(self.load_from, require_fit=require_fit)
