"""MMDetection's ``Resize`` and ``RandomFlip``: the image transforms, plus boxes and masks.

Registered in the ``mmdet`` scope; the shared names keep MMSegmentation's meaning. Each
extends the segmentation transform (image and ``gt_seg_map`` are handled the same way) and
moves ``gt_bboxes`` (a float32 tensor or array, kept as given) and ``gt_masks`` with it.
Box arithmetic is float32, as MMDetection's box tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from segwright.datasets.transforms.geometric import RandomFlip
from segwright.datasets.transforms.resize import Resize
from segwright.registry import TRANSFORMS
from segwright.structures.bbox import bbox_flip, scale_boxes
from segwright.utils.image_ops import imflip


def map_boxes(boxes: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Apply a tensor function to ``(N, 4)`` boxes given as a tensor or a NumPy array."""
    if isinstance(boxes, np.ndarray):
        return fn(torch.from_numpy(boxes)).numpy()
    return fn(boxes)


def clip_boxes(boxes: torch.Tensor, img_shape: tuple[int, ...]) -> torch.Tensor:
    """Clamp x to ``[0, w]`` and y to ``[0, h]`` (``img_shape = (h, w)``); a new tensor."""
    out = boxes.clone()
    out[..., 0::2] = out[..., 0::2].clamp(0, img_shape[1])
    out[..., 1::2] = out[..., 1::2].clamp(0, img_shape[0])
    return out


def record_homography(results: dict[str, Any], matrix: np.ndarray) -> None:
    """Compose ``matrix`` onto ``results['homography_matrix']`` (MMDetection keeps it)."""
    previous = results.get("homography_matrix")
    results["homography_matrix"] = matrix if previous is None else matrix @ previous


@TRANSFORMS.register_module(name="Resize", scope="mmdet")
class DetResize(Resize):
    """Resize the image, boxes, masks and semantic map (MMDetection 3.3's ``Resize``).

    ``keep_ratio=True`` rescales so the long edge fits ``max(scale)`` and the short edge
    ``min(scale)`` (size ``int(w * f + 0.5)``), masks are rescaled the same way; otherwise
    everything is resized to ``scale``. Boxes are multiplied by ``scale_factor`` and, with
    ``clip_object_border``, clipped to the new image.

    Reads ``img``, ``gt_bboxes``, ``gt_masks``, ``gt_seg_map``; writes them plus
    ``img_shape``, ``scale`` (target ``(w, h)``), ``scale_factor`` (``(w_scale, h_scale)``),
    ``keep_ratio`` and ``homography_matrix``.

    Args: as :class:`~segwright.datasets.transforms.resize.Resize`.
    """

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        results = super().transform(results)
        w_scale, h_scale = results["scale_factor"]
        if results.get("gt_bboxes") is not None:
            shape = results["img_shape"]
            clip = self.clip_object_border

            def resize(boxes: torch.Tensor) -> torch.Tensor:
                boxes = scale_boxes(boxes, (w_scale, h_scale))
                return clip_boxes(boxes, shape) if clip else boxes

            results["gt_bboxes"] = map_boxes(results["gt_bboxes"], resize)
        if results.get("gt_masks") is not None:
            masks = results["gt_masks"]
            if self.keep_ratio:
                results["gt_masks"] = masks.rescale(results["scale"])
            else:
                results["gt_masks"] = masks.resize(results["img_shape"])
        matrix = np.array([[w_scale, 0, 0], [0, h_scale, 0], [0, 0, 1]], dtype=np.float32)
        record_homography(results, matrix)
        return results


@TRANSFORMS.register_module(name="RandomFlip", scope="mmdet")
class DetRandomFlip(RandomFlip):
    """Flip the image, boxes, masks and semantic map (MMDetection 3.3's ``RandomFlip``).

    A horizontal flip maps a box to ``x1' = w - x2, x2' = w - x1`` (vertical likewise with
    ``h``); ``swap_seg_labels`` is accepted but, as in MMDetection, not applied.

    Reads ``img``, ``gt_bboxes``, ``gt_masks``, ``gt_seg_map``; writes them plus ``flip``,
    ``flip_direction`` and, when flipped, ``homography_matrix``.

    Args: as :class:`~segwright.datasets.transforms.geometric.RandomFlip`.
    """

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        direction = self._choose_direction()
        results["flip"] = direction is not None
        results["flip_direction"] = direction
        if direction is None:
            return results
        results["img"] = imflip(results["img"], direction)
        h, w = results["img"].shape[:2]
        if results.get("gt_bboxes") is not None:
            results["gt_bboxes"] = map_boxes(
                results["gt_bboxes"], lambda b: bbox_flip(b, (h, w), direction)
            )
        if results.get("gt_masks") is not None:
            results["gt_masks"] = results["gt_masks"].flip(direction)
        if results.get("gt_seg_map") is not None:
            results["gt_seg_map"] = imflip(results["gt_seg_map"], direction)
        flip_x = direction in ("horizontal", "diagonal")
        flip_y = direction in ("vertical", "diagonal")
        matrix = np.array(
            [
                [-1 if flip_x else 1, 0, w if flip_x else 0],
                [0, -1 if flip_y else 1, h if flip_y else 0],
                [0, 0, 1],
            ],
            dtype=np.float32,
        )
        record_homography(results, matrix)
        return results
