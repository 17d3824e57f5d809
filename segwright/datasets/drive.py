"""DRIVE retinal vessel dataset (2 classes; masks ``<name>_manual1.png``)."""

from __future__ import annotations

from typing import Any

from segwright.datasets.base import BaseSegDataset
from segwright.registry import DATASETS


@DATASETS.register_module()
class DRIVEDataset(BaseSegDataset):
    """DRIVE: 0 is background (a class), 1 is vessel.

    Layout: ``images/{training,validation}/*.png`` and
    ``annotations/{training,validation}/*_manual1.png`` under ``data_root``.
    """

    METAINFO = dict(
        classes=(
            "background",
            "vessel",
        ),
        palette=[
            [120, 120, 120],
            [6, 230, 230],
        ],
    )

    def __init__(
        self,
        img_suffix: str = ".png",
        seg_map_suffix: str = "_manual1.png",
        reduce_zero_label: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )
