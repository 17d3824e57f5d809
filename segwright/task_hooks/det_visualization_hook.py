"""``DetVisualizationHook``: MMDetection 3.x's hook that draws detections during validation/tests.

MMDetection's ``default_runtime.py`` lists it in ``default_hooks`` with ``draw=False`` (it then
does nothing). With ``draw=True`` it paints the predicted boxes, masks, labels and scores above
``score_thr`` over the original image (read again from ``img_path``: predictions are at the
original size) and saves the picture where MMEngine's ``LocalVisBackend`` puts images:
``<work_dir>/<timestamp>/vis_data/vis_image/``. During validation it draws the first image of
every ``interval``-th batch; during a test every image, into ``<work_dir>/<timestamp>/
<test_out_dir>/`` when ``test_out_dir`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2

from segwright.engine.hooks.hook import Hook
from segwright.registry import HOOKS
from segwright.utils.dist import is_main_process
from segwright.utils.errors import ConfigError
from segwright.visualization.instances import draw_instances


@HOOKS.register_module()
class DetVisualizationHook(Hook):
    """Save drawn detections of validation and test batches (MMDetection 3.3's arguments).

    Args:
        draw: Draw at all (MMDetection's default False: the hook is then a no-op).
        interval: During validation, draw every ``interval``-th batch.
        score_thr: Lowest score of a drawn instance.
        show: Show in a window: not available; pictures are written to files instead.
        wait_time: Seconds a shown window waits (accepted for compatibility, unused).
        test_out_dir: Folder under the run's log folder for the test pictures.
        backend_args: File backend arguments (accepted for compatibility, unused).
    """

    priority = "NORMAL"

    def __init__(
        self,
        draw: bool = False,
        interval: int = 50,
        score_thr: float = 0.3,
        show: bool = False,
        wait_time: float = 0.0,
        test_out_dir: str | None = None,
        backend_args: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ConfigError(
                f"DetVisualizationHook interval must be a positive int, got {interval!r}."
            )
        self.draw = bool(draw) or bool(show)
        self.interval = interval
        self.score_thr = float(score_thr)
        self.show = bool(show)
        self.wait_time = wait_time
        self.test_out_dir = test_out_dir
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
            self._save(runner, "val", outputs[0], step, self._vis_folder(runner), runner.val_loop)

    def before_test(self, runner: Any) -> None:
        self._test_index = 0

    def after_test_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        if not self.draw:
            return
        folder = self._vis_folder(runner)
        if self.test_out_dir is not None:
            folder = Path(runner.log_dir) / self.test_out_dir
        for sample in outputs or []:
            self._test_index += 1
            self._save(runner, "test", sample, self._test_index, folder, runner.test_loop)

    def _save(
        self, runner: Any, phase: str, sample: Any, step: int, folder: Path, loop: Any
    ) -> None:
        if not is_main_process():
            return
        if self.show and not self._warned_show:
            self._warned_show = True
            runner.logger.warning(
                "DetVisualizationHook show=True needs a display, which segwright does not use; "
                f"the pictures are written to {folder} instead."
            )
        path = sample.metainfo.get("img_path")
        image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path else None
        if image is None or "pred_instances" not in sample:
            return
        dataset = getattr(getattr(loop, "dataloader", None), "dataset", None)
        meta = getattr(dataset, "metainfo", None) or {}
        picture = draw_instances(
            image,
            sample.pred_instances,
            meta.get("classes"),
            meta.get("palette"),
            score_thr=self.score_thr,
        )
        folder.mkdir(parents=True, exist_ok=True)
        name = os.path.basename(str(path))
        target = folder / (
            name if self.test_out_dir and phase == "test" else f"{phase}_{name}_{step}.png"
        )
        cv2.imwrite(str(target), picture)

    @staticmethod
    def _vis_folder(runner: Any) -> Path:
        return Path(runner.log_dir) / "vis_data" / "vis_image"
