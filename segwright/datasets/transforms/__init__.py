"""Transforms: each one reads and writes keys of a results dict (MMCV 2.x / MMSeg 1.x names).

Importing this package registers every built-in transform in ``TRANSFORMS``.
"""

from segwright.datasets.transforms.albu import Albu
from segwright.datasets.transforms.base import BaseTransform
from segwright.datasets.transforms.compose import Compose
from segwright.datasets.transforms.det_formatting import PackDetInputs
from segwright.datasets.transforms.det_geometric import DetRandomFlip, DetResize
from segwright.datasets.transforms.det_loading import LoadDetAnnotations
from segwright.datasets.transforms.edge import GenerateEdge
from segwright.datasets.transforms.formatting import PackSegInputs
from segwright.datasets.transforms.geometric import (
    Pad,
    RandomChoiceResize,
    RandomCrop,
    RandomFlip,
    RandomResize,
    RandomRotate,
    RandomRotFlip,
    Resize,
    ResizeShortestEdge,
    ResizeToMultiple,
    SegRescale,
)
from segwright.datasets.transforms.loading import (
    LoadAnnotations,
    LoadImageFromFile,
    LoadImageFromNDArray,
)
from segwright.datasets.transforms.photometric import (
    CLAHE,
    AdjustGamma,
    PhotoMetricDistortion,
    RGB2Gray,
)
from segwright.datasets.transforms.tta import TestTimeAug

__all__ = [
    "CLAHE",
    "AdjustGamma",
    "Albu",
    "BaseTransform",
    "Compose",
    "DetRandomFlip",
    "DetResize",
    "GenerateEdge",
    "LoadAnnotations",
    "LoadDetAnnotations",
    "LoadImageFromFile",
    "LoadImageFromNDArray",
    "PackDetInputs",
    "PackSegInputs",
    "Pad",
    "PhotoMetricDistortion",
    "RGB2Gray",
    "RandomChoiceResize",
    "RandomCrop",
    "RandomFlip",
    "RandomResize",
    "RandomRotFlip",
    "RandomRotate",
    "Resize",
    "ResizeShortestEdge",
    "ResizeToMultiple",
    "SegRescale",
    "TestTimeAug",
]
