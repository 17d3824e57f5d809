"""MMDetection's instance ``CityscapesDataset``: the 8 thing classes in COCO format.

Registered in the ``mmdet`` scope: under ``default_scope='mmdet'`` (every MMDetection config)
``CityscapesDataset`` is this one, elsewhere the semantic one of
:mod:`segwright.datasets.cityscapes`. The json is what MMDetection's
``tools/dataset_converters/cityscapes.py`` writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.datasets.coco import CocoDataset
from segwright.registry import DATASETS


@DATASETS.register_module(name="CityscapesDataset", scope="mmdet")
class CityscapesInstanceDataset(CocoDataset):
    """Cityscapes instances (MMDetection 3.3's ``CityscapesDataset``).

    Same as :class:`~segwright.datasets.coco.CocoDataset` except ``filter_empty_gt``, which
    also drops images whose instances are all crowd (``ignore_flag=1``), and so every image
    without a usable instance.
    """

    METAINFO = {
        "classes": ("person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"),
        "palette": [
            (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100),
            (0, 0, 230), (119, 11, 32),
        ],
    }  # fmt: skip

    def _is_empty(self, info: Mapping[str, Any], with_ann: set[Any]) -> bool:
        all_crowd = all(instance["ignore_flag"] == 1 for instance in info["instances"])
        return info["img_id"] not in with_ann or all_crowd
