"""Pascal VOC 2012 (21 classes incl. background; split files required)."""

from __future__ import annotations

from typing import Any

from segwright.datasets.base import BaseSegDataset
from segwright.registry import DATASETS
from segwright.utils.errors import ConfigError


@DATASETS.register_module()
class PascalVOCDataset(BaseSegDataset):
    """Pascal VOC 2012 segmentation; ``ann_file`` lists the basenames of a split.

    Layout: ``VOCdevkit/VOC2012/JPEGImages/*.jpg``, ``SegmentationClass/*.png`` (palette
    PNGs, read as indices; 255 marks object borders) and
    ``ImageSets/Segmentation/{train,val}.txt``. VOC-Aug (SBD) is a second dataset with
    ``data_prefix.seg_map_path='SegmentationClassAug'`` and
    ``ann_file='ImageSets/Segmentation/aug.txt'``, concatenated with ``dict(type='ConcatDataset', datasets=[voc_train, voc_aug])``.
    """

    # fmt: off
    METAINFO = dict(
        classes=(
            "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
            "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
            "sheep", "sofa", "train", "tvmonitor",
        ),
        palette=[
            [0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128],
            [0, 128, 128], [128, 128, 128], [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0],
            [64, 0, 128], [192, 0, 128], [64, 128, 128], [192, 128, 128], [0, 64, 0], [128, 64, 0],
            [0, 192, 0], [128, 192, 0], [0, 64, 128],
        ],
    )
    # fmt: on

    def __init__(
        self,
        ann_file: str,
        img_suffix: str = ".jpg",
        seg_map_suffix: str = ".png",
        reduce_zero_label: bool = False,
        **kwargs: Any,
    ) -> None:
        if not ann_file:
            raise ConfigError(
                "PascalVOCDataset needs ann_file, the split list, e.g. "
                "ann_file='ImageSets/Segmentation/train.txt'."
            )
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )
