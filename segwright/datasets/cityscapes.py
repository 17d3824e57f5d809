"""Cityscapes (19 train classes; ``*_gtFine_labelTrainIds.png`` masks, 255 ignored)."""

from __future__ import annotations

from typing import Any

from segwright.datasets.base import BaseSegDataset
from segwright.registry import DATASETS


@DATASETS.register_module()
class CityscapesDataset(BaseSegDataset):
    """Cityscapes with train ids (made by ``cityscapesscripts``' ``createTrainIdLabelImgs``).

    Layout: ``leftImg8bit/{train,val}/<city>/<name>_leftImg8bit.png`` and
    ``gtFine/{train,val}/<city>/<name>_gtFine_labelTrainIds.png``; folders are scanned
    recursively.
    """

    # fmt: off
    METAINFO = dict(
        classes=(
            "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
            "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
            "bus", "train", "motorcycle", "bicycle",
        ),
        palette=[
            [128, 64, 128], [244, 35, 232], [70, 70, 70], [102, 102, 156], [190, 153, 153],
            [153, 153, 153], [250, 170, 30], [220, 220, 0], [107, 142, 35], [152, 251, 152],
            [70, 130, 180], [220, 20, 60], [255, 0, 0], [0, 0, 142], [0, 0, 70], [0, 60, 100],
            [0, 80, 100], [0, 0, 230], [119, 11, 32],
        ],
    )
    # fmt: on

    def __init__(
        self,
        img_suffix: str = "_leftImg8bit.png",
        seg_map_suffix: str = "_gtFine_labelTrainIds.png",
        reduce_zero_label: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )
