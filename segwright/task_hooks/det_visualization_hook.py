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

from segwright.registry import HOOKS
from segwright.task_hooks.drawing_hook import DrawingHook
from segwright.visualization.instances import draw_instances


@HOOKS.register_module()
class DetVisualizationHook(DrawingHook):
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
        super().__init__(draw, interval, show, wait_time, backend_args)
        self.draw = self.draw or self.show  # MMDetection draws when asked to show
        self.score_thr = float(score_thr)
        self.test_out_dir = test_out_dir

    def folder(self, runner: Any, phase: str) -> Path:
        if phase == "test" and self.test_out_dir is not None:
            return Path(runner.log_dir) / self.test_out_dir
        return super().folder(runner, phase)

    def draw_sample(self, runner: Any, phase: str, sample: Any, data_batch: Any, index: int,
                    step: int, meta: dict[str, Any]) -> None:  # fmt: skip
        path = sample.metainfo.get("img_path")
        image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path else None
        if image is None or "pred_instances" not in sample:
            return
        picture = draw_instances(
            image,
            sample.pred_instances,
            meta.get("classes"),
            meta.get("palette"),
            score_thr=self.score_thr,
        )
        folder = self.folder(runner, phase)
        folder.mkdir(parents=True, exist_ok=True)
        name = os.path.basename(str(path))
        target = folder / (
            name if self.test_out_dir and phase == "test" else f"{phase}_{name}_{step}.png"
        )
        cv2.imwrite(str(target), picture)
