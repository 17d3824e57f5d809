"""LoveDA land-cover dataset (7 classes; 0 in the masks means no-data)."""

from __future__ import annotations

from typing import Any

from segwright.datasets.base import BaseSegDataset
from segwright.registry import DATASETS


@DATASETS.register_module()
class LoveDADataset(BaseSegDataset):
    """LoveDA: mask value 0 is no-data, so ``reduce_zero_label`` defaults to True.

    Layout: ``img_dir/{train,val,test}/*.png`` and ``ann_dir/{train,val}/*.png``.
    """

    METAINFO = dict(
        classes=(
            "background",
            "building",
            "road",
            "water",
            "barren",
            "forest",
            "agricultural",
        ),
        palette=[
            [255, 255, 255],
            [255, 0, 0],
            [255, 255, 0],
            [0, 0, 255],
            [159, 129, 183],
            [0, 255, 0],
            [255, 195, 128],
        ],
    )

    def __init__(
        self,
        img_suffix: str = ".png",
        seg_map_suffix: str = ".png",
        reduce_zero_label: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )
