"""ISPRS Potsdam aerial dataset (6 classes; 0 in the masks is ignored)."""

from __future__ import annotations

from typing import Any

from segwright.datasets.base import BaseSegDataset
from segwright.registry import DATASETS


@DATASETS.register_module()
class PotsdamDataset(BaseSegDataset):
    """Potsdam: mask value 0 is clutter-boundary/no-data, so ``reduce_zero_label`` defaults to True.

    Layout: ``img_dir/{train,val}/*.png`` and ``ann_dir/{train,val}/*.png`` (the tiles made
    by MMSeg's conversion script).
    """

    METAINFO = dict(
        classes=(
            "impervious_surface",
            "building",
            "low_vegetation",
            "tree",
            "car",
            "clutter",
        ),
        palette=[
            [255, 255, 255],
            [0, 0, 255],
            [0, 255, 255],
            [0, 255, 0],
            [255, 255, 0],
            [255, 0, 0],
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
