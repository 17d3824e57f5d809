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
from segwright.engine import finite
from segwright.engine.checkpoint_compat import (
    caffe_into_pytorch_warning,
    checkpoint_classes,
    classes_differ_message,
)
from segwright.engine.init_cfg import as_cfg_list, is_pretrained_cfg
from segwright.engine.rng import capture_rng_state
from segwright.utils.dist import is_main_process
from segwright.version import __version__


def _loop_progress(loop: Any) -> dict[str, int]:
    """``{'iter', 'epoch'}`` done by a train loop (none: zeros)."""
    if loop is None:
        return {"iter": 0, "epoch": 0}
    if hasattr(loop, "state_dict"):
        return loop.state_dict()
    return {"iter": loop.iter, "epoch": loop.epoch}  # a loop written for MMEngine


def _restore_loop_progress(loop: Any, meta: Mapping[str, Any], rng: Any) -> None:
    """Hand a train loop the counts (and generator states) a checkpoint was saved at."""
    state = {"iter": int(meta.get("iter", 0)), "epoch": int(meta.get("epoch", 0)), "rng": rng}
    if hasattr(loop, "load_state_dict"):
        loop.load_state_dict(state)
    else:  # a loop written for MMEngine, whose runner sets these two attributes itself
        loop._iter, loop._epoch = state["iter"], state["epoch"]


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
        """Write model (+ optimizer, schedulers, log state) atomically; rank 0 only.

        Raises:
            NonFiniteStateError: A tensor of the checkpoint (weights, buffers, optimizer state)
                holds NaN/Inf; nothing is written. ``train_cfg.check_finite='off'`` allows it.
            TrainingError: A loss the train loop kept unread since its last check is NaN/Inf.
        """
        check_losses = getattr(self.train_loop, "check_losses", None)
        if check_losses is not None:  # the losses it keeps on the device (loops.py)
            check_losses(f"before saving {Path(path).name}")
        # The loop's counts, plus the step this save ends (it runs in that step's last hook).
        progress = _loop_progress(self.train_loop)
        epoch, iteration = progress.get("epoch", 0), progress.get("iter", 0)
        checkpoint: dict[str, Any] = {
            "meta": {
                "epoch": epoch + 1 if by_epoch else epoch,
                "iter": iteration if by_epoch else iteration + 1,
                "cfg": self.cfg.pretty_text if len(self.cfg) else "",
                "seed": self.seed,
                "experiment_name": self.experiment_name,
                "time": time.strftime("%Y%m%d_%H%M%S", time.localtime()),
                "torch_version": str(torch.__version__),
                "segwright_version": __version__,
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
        checked = getattr(self.train_loop, "check_finite", "log_interval") != "off"
        if checked:
            offenders = finite.find_nonfinite(finite.checkpoint_tensors(checkpoint))
            if offenders:
                where = f"while saving {path.name} after iteration {checkpoint['meta']['iter']}"
                raise finite.nonfinite_state_error(self, offenders, where)
        if is_main_process():
            ckpt_io.save_checkpoint(checkpoint, path)
        if checked:
            finite.record_good_checkpoint(self, path)
        return path

    def load_checkpoint(
        self,
        filename: str | Path,
        strict: bool = False,
        require_fit: bool = False,
        checkpoint: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Load weights (partially unless ``strict``) and report what did not fit.

        ``require_fit``: refuse (:class:`~segwright.utils.errors.CheckpointMismatchError`) when
        a model key is missing from the checkpoint or has another shape there; extra checkpoint
        keys are still ignored. ``checkpoint``: the file's contents when already read.
        Also warns when a caffe-style checkpoint meets a pytorch-style model, and says when the
        checkpoint's class names differ from this run's dataset's (the dataset's are kept).
        """
        if checkpoint is None:
            checkpoint = ckpt_io.read_checkpoint(filename, trusted=self.trust_checkpoint)
        state_dict = ckpt_io.revise_keys(ckpt_io.extract_state_dict(checkpoint))
        report = ckpt_io.load_state_dict(self._raw_model, state_dict, strict=strict)
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
        style_warning = caffe_into_pytorch_warning(self._raw_model, checkpoint, filename)
        if style_warning:
            self.logger.warning(style_warning)
        self._say_if_classes_differ(checkpoint, str(filename))
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        return checkpoint

    def _say_if_classes_differ(self, checkpoint: dict[str, Any], filename: str) -> None:
        """Log when the checkpoint's stored class names differ from this run's dataset's."""
        loops = (("train", self.train_loop), ("val", self.val_loop), ("test", self.test_loop))
        where, classes = "", None
        for name, loop in loops:
            dataset = getattr(getattr(loop, "dataloader", None), "dataset", None)
            classes = (getattr(dataset, "metainfo", None) or {}).get("classes")
            if classes:
                where = f"{name}_dataloader.dataset"
                break
        found = classes_differ_message(
            checkpoint_classes(checkpoint),
            classes,
            filename,
            where,
            "The dataset's class names are kept: they name this run's labels, metrics and "
            "saved checkpoints.",
        )
        if found is not None:
            same_count, message = found
            # Other counts: the fine-tuning case, whose class heads the load table shows.
            (self.logger.warning if same_count else self.logger.info)(message)

    def resume(self, filename: str | Path, checkpoint: dict[str, Any] | None = None) -> None:
        """Restore weights, optimizer, schedulers, counters and log state from a checkpoint."""
        checkpoint = self.load_checkpoint(filename, checkpoint=checkpoint)
        meta = checkpoint.get("meta", {})
        if self.train_loop is not None:
            _restore_loop_progress(self.train_loop, meta, checkpoint.get("rng"))
        if "optimizer" in checkpoint and self.optim_wrapper is not None:
            self.optim_wrapper.load_state_dict(checkpoint["optimizer"])
        if "param_schedulers" in checkpoint and self.param_schedulers:
            for scheduler, state in zip(self.param_schedulers, checkpoint["param_schedulers"]):
                scheduler.load_state_dict(state)
        self.log_store.load_state_dict(checkpoint.get("message_hub", {}))
        if meta.get("seed") is not None and meta["seed"] != self.seed:
            self.logger.warning(
                f"The checkpoint was trained with seed {meta['seed']}, this run uses {self.seed}."
            )
        self.logger.info(f"Resumed from {filename} at iteration {self.iter}, epoch {self.epoch}.")

    def _load_or_resume(
        self, evaluating: bool = False, checkpoint: dict[str, Any] | None = None
    ) -> None:
        """Resume (training only) or load ``load_from``; evaluation needs a checkpoint that fits.

        ``checkpoint``: the contents of that file when :meth:`_init_weights` already read it.
        """
        if evaluating and self.train_loop is not None:
            return  # val()/test() after train(): evaluate the trained weights, not load_from's
        if self.resume_requested and self.train_loop is not None:
            path = self._checkpoint_to_load()
            if path is None:
                self.logger.info(
                    f"resume=True but no checkpoint in {self.work_dir}; training from scratch."
                )
                return
            self.resume(path, checkpoint=checkpoint)
        elif self.load_from:
            require_fit = evaluating and not getattr(self, "allow_partial_checkpoint", False)
            self.load_checkpoint(self.load_from, require_fit=require_fit, checkpoint=checkpoint)

    def _checkpoint_to_load(self) -> str | Path | None:
        """The file training starts from: the one resumed, else ``load_from`` (None: neither)."""
        if self.resume_requested:
            return self.load_from or ckpt_io.find_last_checkpoint(self.work_dir)
        return self.load_from or None

    def _init_weights(self) -> dict[str, Any] | None:
        """Run the model's ``init_weights()``; return the checkpoint training loads next.

        That checkpoint is read first, once. A ``Pretrained`` init_cfg whose every tensor it
        holds (same key, same shape) is skipped with one log line: the checkpoint overwrites
        those weights right after, so fetching them (MMEngine downloads ``torchvision://``
        files and then overwrites them) only costs time, or fails offline.
        """
        path = self._checkpoint_to_load()
        checkpoint = ckpt_io.read_checkpoint(path, trusted=self.trust_checkpoint) if path else None
        init = getattr(self._raw_model, "init_weights", None)
        if not callable(init):
            return checkpoint
        skipped = self._skip_covered_pretrained(checkpoint, str(path)) if checkpoint else []
        try:
            init()
        finally:
            for module, init_cfg in skipped:
                module.init_cfg = init_cfg
        return checkpoint

    def _skip_covered_pretrained(
        self, checkpoint: dict[str, Any], source: str
    ) -> list[tuple[Any, Any]]:
        """Drop the ``Pretrained`` init_cfg entries ``checkpoint`` covers; ``(module, old cfg)``."""
        state = ckpt_io.revise_keys(ckpt_io.extract_state_dict(checkpoint))
        skipped = []
        for name, module in self._raw_model.named_modules():
            cfgs = as_cfg_list(getattr(module, "init_cfg", None))
            pretrained = [c for c in cfgs if is_pretrained_cfg(c)]
            if not pretrained:
                continue
            prefix = f"{name}." if name else ""
            own = {
                f"{prefix}{k}": v
                for k, v in module.state_dict().items()
                if not k.endswith("num_batches_tracked")
            }
            covered = all(
                hasattr(state.get(k), "shape") and tuple(state[k].shape) == tuple(v.shape)
                for k, v in own.items()
            )
            if not covered:
                continue
            skipped.append((module, module.init_cfg))
            module.init_cfg = [c for c in cfgs if not is_pretrained_cfg(c)] or None
            where = f"model.{name}" if name else "model"
            for cfg in pretrained:
                self.logger.info(
                    f"Skipped {where}.init_cfg=dict(type='Pretrained', "
                    f"checkpoint={cfg.get('checkpoint')!r}): {Path(source).name} holds all "
                    f"{len(own)} of its tensors and is loaded right after, overwriting them "
                    "(MMEngine would fetch the pretrained file first)."
                )
        return skipped
