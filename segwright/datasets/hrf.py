"""HRF retinal vessel dataset (2 classes; images and masks both ``.png``)."""

from __future__ import annotations

from typing import Any

from segwright.datasets.base import BaseSegDataset
from segwright.registry import DATASETS


@DATASETS.register_module()
class HRFDataset(BaseSegDataset):
    """HRF: 0 is background (a class), 1 is vessel.

    Layout: ``images/{training,validation}/*.png`` and
    ``annotations/{training,validation}/*.png``.
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
        seg_map_suffix: str = ".png",
        reduce_zero_label: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )
