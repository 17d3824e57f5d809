"""What MMSeg's and MMDetection's visualization hooks share: when to draw, and where.

Both draw the first image of every ``interval``-th validation batch and every test image, write
files where MMEngine's ``LocalVisBackend`` puts images (``<log_dir>/vis_data/vis_image``), and
answer ``show=True`` (a window, which needs a display) by writing files and saying so once.
Subclasses paint the picture (:meth:`DrawingHook.draw_sample`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segwright.engine.hooks.hook import Hook
from segwright.utils.dist import is_main_process
from segwright.utils.errors import ConfigError


class DrawingHook(Hook):
    """Calls :meth:`draw_sample` for the validation and test samples that get a picture.

    Args:
        draw: Draw at all (the OpenMMLab default False: the hook is then a no-op).
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
                f"{type(self).__name__} interval must be a positive int, got {interval!r}."
            )
        self.draw = bool(draw)
        self.interval = interval
        self.show = bool(show)
        self.wait_time = wait_time
        self.backend_args = backend_args
        self._test_index = 0
        self._warned_show = False

    def after_val_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        if not self.draw or not outputs:
            return
        step = runner.iter + batch_idx
        if step % self.interval == 0:
            self._draw(runner, "val", outputs[0], data_batch, 0, step, runner.val_loop)

    def before_test(self, runner: Any) -> None:
        self._test_index = 0

    def after_test_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        if not self.draw:
            return
        for index, sample in enumerate(outputs or []):
            self._test_index += 1
            self._draw(
                runner, "test", sample, data_batch, index, self._test_index, runner.test_loop
            )

    def _draw(self, runner: Any, phase: str, sample: Any, data_batch: Any, index: int,
              step: int, loop: Any) -> None:  # fmt: skip
        if not is_main_process():
            return
        if self.show and not self._warned_show:
            self._warned_show = True
            runner.logger.warning(
                f"{type(self).__name__} show=True needs a display, which segwright does not "
                f"use; the pictures are written to {self.folder(runner, phase)} instead."
            )
        dataset = getattr(getattr(loop, "dataloader", None), "dataset", None)
        meta = getattr(dataset, "metainfo", None) or {}
        self.draw_sample(runner, phase, sample, data_batch, index, step, meta)

    def folder(self, runner: Any, phase: str) -> Path:
        """Where the pictures of ``phase`` ('val' or 'test') go."""
        return Path(runner.log_dir) / "vis_data" / "vis_image"

    def draw_sample(self, runner: Any, phase: str, sample: Any, data_batch: Any, index: int,
                    step: int, meta: dict[str, Any]) -> None:  # fmt: skip
        """Paint and write the picture of ``sample`` (the ``index``-th of its batch)."""
        raise NotImplementedError
