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
from typing import Any

import cv2

from segwright.registry import HOOKS
from segwright.task_hooks.drawing_hook import DrawingHook
from segwright.task_hooks.test_outputs import paint_panel


@HOOKS.register_module()
class SegVisualizationHook(DrawingHook):
    """Save painted predictions of validation and test batches (MMSeg 1.x's arguments).

    Args:
        draw: Draw at all (MMSeg's default False: the hook is then a no-op).
        interval: During validation, draw every ``interval``-th batch.
        show: Show in a window: not available; pictures are written to files instead.
        wait_time: Seconds a shown window waits (accepted for compatibility, unused).
        backend_args: File backend arguments (accepted for compatibility, unused).
    """

    def draw_sample(self, runner: Any, phase: str, sample: Any, data_batch: Any, index: int,
                    step: int, meta: dict[str, Any]) -> None:  # fmt: skip
        classes = meta.get("classes") or ()
        inputs = data_batch.get("inputs") if isinstance(data_batch, dict) else None
        panel = paint_panel(
            sample, inputs, index, meta.get("palette"), len(classes) or None, classes or None
        )
        path = sample.metainfo.get("img_path")
        name = os.path.basename(str(path)) if path else f"batch{step}_{index}"
        folder = self.folder(runner, phase)
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{phase}_{name}_{step}.png"), panel)
