"""``SegVisualizationHook``: MMSeg 1.x's hook that draws predictions during validation and tests.

MMSeg's schedule files list it in ``default_hooks`` with ``draw=False`` (it then does nothing).
With ``draw=True`` it paints ``image | ground truth | prediction`` panels with the dataset's
palette and saves them where MMEngine's ``LocalVisBackend`` puts images:
``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<step>.png``. During validation it draws
the first image of every ``interval``-th batch (``name`` is ``val_<file name>``, ``step`` is
the training iteration plus the batch index, as in MMSeg); during a test it draws every image
(``test_<file name>``, ``step`` counting the test images from 1).

``show=True`` (a window on screen) needs a display; segwright runs headless, so the pictures are
written to files instead and the log says so once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2

from segwright.engine.hooks.hook import Hook
from segwright.registry import HOOKS
from segwright.task_hooks.test_outputs import paint_panel
from segwright.utils.dist import is_main_process
from segwright.utils.errors import ConfigError


@HOOKS.register_module()
class SegVisualizationHook(Hook):
    """Save painted predictions of validation and test batches (MMSeg 1.x's arguments).

    Args:
        draw: Draw at all (MMSeg's default False: the hook is then a no-op).
        interval: During validation, draw every ``interval``-th batch.
        show: Show in a window: not available; pictures are written to files instead.
        wait_time: Seconds a shown window waits (accepted for compatibility, unused).
        backend_args: File backend arguments (accepted for compatibility, unused).
    """

    priority = "NORMAL"

    def __init__(
        self,
        draw: bool = False,
        interval: int = 50,
        show: bool = False,
        wait_time: float = 0.0,
        backend_args: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ConfigError(
                f"SegVisualizationHook interval must be a positive int, got {interval!r}."
            )
        self.draw = bool(draw)
        self.interval = interval
        self.show = bool(show)
        self.wait_time = wait_time
        self.backend_args = backend_args
        self._test_index = 0
        self._warned_show = False

    # -- validation and test -------------------------------------------------------------------

    def after_val_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        if not self.draw or not outputs:
            return
        step = runner.iter + batch_idx
        if step % self.interval == 0:
            self._save(runner, "val", outputs[0], data_batch, 0, step, runner.val_loop)

    def before_test(self, runner: Any) -> None:
        self._test_index = 0

    def after_test_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        if not self.draw:
            return
        for index, sample in enumerate(outputs or []):
            self._test_index += 1
            self._save(
                runner, "test", sample, data_batch, index, self._test_index, runner.test_loop
            )

    # -- drawing -------------------------------------------------------------------------------

    def _save(
        self,
        runner: Any,
        phase: str,
        sample: Any,
        data_batch: Any,
        index: int,
        step: int,
        loop: Any,
    ) -> None:
        if not is_main_process():
            return
        if self.show and not self._warned_show:
            self._warned_show = True
            runner.logger.warning(
                "SegVisualizationHook show=True needs a display, which segwright does not use; "
                f"the pictures are written to {self._folder(runner)} instead."
            )
        meta = getattr(getattr(loop, "dataloader", None), "dataset", None)
        meta = getattr(meta, "metainfo", None) or {}
        classes = meta.get("classes") or ()
        inputs = data_batch.get("inputs") if isinstance(data_batch, dict) else None
        panel = paint_panel(
            sample, inputs, index, meta.get("palette"), len(classes) or None, classes or None
        )
        path = sample.metainfo.get("img_path")
        name = os.path.basename(str(path)) if path else f"batch{step}_{index}"
        folder = self._folder(runner)
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{phase}_{name}_{step}.png"), panel)

    @staticmethod
    def _folder(runner: Any) -> Path:
        return Path(runner.log_dir) / "vis_data" / "vis_image"
