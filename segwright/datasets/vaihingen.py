"""ISPRS Vaihingen aerial dataset (6 classes; registered as ``ISPRSDataset``)."""

from __future__ import annotations

from typing import Any

from segwright.datasets.base import BaseSegDataset
from segwright.registry import DATASETS


@DATASETS.register_module()
class ISPRSDataset(BaseSegDataset):
    """Vaihingen (MMSeg's ``ISPRSDataset``): mask value 0 is ignored; ``reduce_zero_label``
    defaults to True.

    Layout: ``img_dir/{train,val}/*.png`` and ``ann_dir/{train,val}/*.png``.
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
