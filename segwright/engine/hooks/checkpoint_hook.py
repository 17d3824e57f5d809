"""Saves checkpoints: periodic, last, keep-N and best (MMEngine's CheckpointHook, SPEC §7.4)."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from typing import Any

from segwright.engine.checkpoint_files import remove_stale_temp_files, write_text_atomic
from segwright.engine.hooks.hook import Hook
from segwright.registry import HOOKS
from segwright.utils.dist import is_main_process
from segwright.utils.errors import ConfigError

GREATER_KEYS = ["acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc"]
LESS_KEYS = ["loss"]


def infer_rule(key: str, greater_keys: list[str], less_keys: list[str]) -> str:
    """'greater' or 'less' for a metric name, as MMEngine infers it."""
    lowered = key.lower()
    if lowered in (k.lower() for k in greater_keys):
        return "greater"
    if lowered in (k.lower() for k in less_keys):
        return "less"
    if any(k.lower() in lowered for k in greater_keys):
        return "greater"
    if any(k.lower() in lowered for k in less_keys):
        return "less"
    raise ConfigError(
        f"CheckpointHook cannot tell whether a higher or lower {key!r} is better; set "
        "rule='greater' or rule='less' in default_hooks.checkpoint."
    )


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Args (MMEngine's):
    interval: Save every ``interval`` iterations/epochs (-1: only the last, if save_last).
    by_epoch: Count epochs (True) or iterations.
    max_keep_ckpts: Keep only the newest N periodic checkpoints (-1: all).
    save_best: A metric name, a list of names, or 'auto' (the first metric).
    rule: 'greater' / 'less' (or a list matching save_best); inferred when None.
    """

    priority = "VERY_LOW"

    def __init__(
        self,
        interval: int = -1,
        by_epoch: bool = True,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        out_dir: str | None = None,
        max_keep_ckpts: int = -1,
        save_last: bool = True,
        save_best: str | list[str] | None = None,
        rule: str | list[str] | None = None,
        greater_keys: list[str] | None = None,
        less_keys: list[str] | None = None,
        file_client_args: Any = None,
        filename_tmpl: str | None = None,
        backend_args: Any = None,
        published_keys: Any = None,
        save_begin: int = 0,
        **kwargs: Any,
    ) -> None:
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.save_param_scheduler = save_param_scheduler
        self.out_dir = out_dir
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.save_begin = save_begin
        self.filename_tmpl = filename_tmpl or ("epoch_{}.pth" if by_epoch else "iter_{}.pth")
        if isinstance(save_best, str):
            save_best = [save_best]
        self.save_best = list(save_best or [])
        if isinstance(rule, str) or rule is None:
            rule = [rule] * max(len(self.save_best), 1)
        if self.save_best and len(rule) != len(self.save_best):
            raise ConfigError("CheckpointHook: 'rule' must be one value or one per save_best key.")
        for r in rule:
            if r not in (None, "greater", "less"):
                raise ConfigError(f"CheckpointHook rule must be 'greater' or 'less', got {r!r}.")
        self.rules = list(rule)
        self.greater_keys = list(greater_keys or GREATER_KEYS)
        self.less_keys = list(less_keys or LESS_KEYS)
        self._kept: deque[int] = deque()
        self._folder: Path | None = None
        self._resumed_step: int | None = None

    def before_train(self, runner: Any) -> None:
        self._folder = (
            Path(self.out_dir) / Path(runner.work_dir).name
            if self.out_dir
            else Path(runner.work_dir)
        )
        if self._folder.resolve() != Path(runner.work_dir).resolve() and is_main_process():
            removed = remove_stale_temp_files(self._folder)  # the work dir's: at its lock
            if removed:
                runner.logger.warning(
                    f"Removed {len(removed)} temp file(s) left in {self._folder} by a killed "
                    f"run: {', '.join(p.name for p in removed[:5])}."
                )
        step = runner.epoch if self.by_epoch else runner.iter
        self._kept, self._resumed_step = deque(), None
        if step > 0:  # resumed: what the keep list holds is what is on disk, oldest first
            self._kept = deque(s for s in self._saved_steps() if s <= step)
            if self._kept and self._kept[-1] == step:
                self._resumed_step = step

    def _saved_steps(self) -> list[int]:
        """Steps of the periodic checkpoints in the folder (named by ``filename_tmpl``)."""
        parts = re.split(r"\{[^{}]*\}", self.filename_tmpl)
        if len(parts) != 2 or self._folder is None or not self._folder.is_dir():
            return []
        pattern = re.compile(re.escape(parts[0]) + r"(\d+)" + re.escape(parts[1]))
        steps = set()
        for path in self._folder.iterdir():
            match = pattern.fullmatch(path.name)
            if match and self.filename_tmpl.format(int(match[1])) == path.name:
                steps.add(int(match[1]))
        return sorted(steps)

    # -- periodic --------------------------------------------------------------------------

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        if self.by_epoch:
            return
        if self.every_n_train_iters(runner, self.interval, self.save_begin) or (
            self.save_last and self.is_last_train_iter(runner)
        ):
            self._save_periodic(runner, runner.iter + 1)

    def after_train_epoch(self, runner: Any) -> None:
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval, self.save_begin) or (
            self.save_last and self.is_last_train_epoch(runner)
        ):
            self._save_periodic(runner, runner.epoch + 1)

    def _save_periodic(self, runner: Any, step: int) -> None:
        assert self._folder is not None
        if self._kept and self._kept[-1] == step:
            return  # already saved at this step (interval hit and last iteration coincide)
        path = self._folder / self.filename_tmpl.format(step)
        runner.save_checkpoint(
            path,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            by_epoch=self.by_epoch,
        )
        runner.log_store.update_info("last_ckpt", str(path))
        if is_main_process():
            write_text_atomic(Path(runner.work_dir) / "last_checkpoint", str(path))
        self._kept.append(step)
        if self.max_keep_ckpts > 0:
            while len(self._kept) > self.max_keep_ckpts:
                oldest = self._kept.popleft()
                old = self._folder / self.filename_tmpl.format(oldest)
                if oldest == self._resumed_step:
                    runner.logger.info(
                        f"Kept {old.name} beyond max_keep_ckpts={self.max_keep_ckpts}: this run "
                        "resumed from it."
                    )
                elif is_main_process():
                    old.unlink(missing_ok=True)
        runner.log_store.update_info("keep_ckpt_ids", list(self._kept))

    # -- best ------------------------------------------------------------------------------

    def after_val_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        if not self.save_best or not metrics or runner.train_loop is None:
            return
        keys = self.save_best
        if keys == ["auto"]:
            keys = [next(iter(metrics))]
        updated = False
        for key, rule in zip(keys, self.rules * len(keys) if len(self.rules) == 1 else self.rules):
            if key not in metrics:
                raise ConfigError(
                    f"CheckpointHook save_best={key!r}, but validation returned {sorted(metrics)}. "
                    "Use one of those names or 'auto'."
                )
            rule = rule or infer_rule(key, self.greater_keys, self.less_keys)
            suffix = "" if len(keys) == 1 else f"_{key}"
            best = runner.log_store.get_info(f"best_score{suffix}")
            score = float(metrics[key])
            better = best is None or (score > best if rule == "greater" else score < best)
            if not better:
                continue
            updated = True
            previous = runner.log_store.get_info(f"best_ckpt{suffix}")
            previous_score = best
            step = f"epoch_{runner.epoch}" if self.by_epoch else f"iter_{runner.iter}"
            path = (
                Path(self._folder or runner.work_dir) / f"best_{key.replace('/', '_')}_{step}.pth"
            )
            runner.log_store.update_info(f"best_score{suffix}", score)
            runner.log_store.update_info(f"best_ckpt{suffix}", str(path))
            try:  # the new best is written before the old one goes: a crash keeps one
                runner.save_checkpoint(
                    path, save_optimizer=False, save_param_scheduler=False, by_epoch=self.by_epoch
                )
            except BaseException:
                runner.log_store.update_info(f"best_score{suffix}", previous_score)
                runner.log_store.update_info(f"best_ckpt{suffix}", previous)
                raise
            if previous and Path(previous) != path and is_main_process():
                Path(previous).unlink(missing_ok=True)
            runner.logger.info(
                f"The best checkpoint with {score:.4f} {key} at {step} is saved to {path.name}."
            )
        if updated and self._kept:
            # Re-save the latest periodic checkpoint so it carries the new best score; its
            # counters stay those of the step it was saved at.
            step = self._kept[-1]
            last = Path(self._folder or runner.work_dir) / self.filename_tmpl.format(step)
            if last.exists():
                runner.save_checkpoint(
                    last,
                    save_optimizer=self.save_optimizer,
                    save_param_scheduler=self.save_param_scheduler,
                    by_epoch=self.by_epoch,
                    meta={"epoch": step} if self.by_epoch else {"iter": step},
                )
