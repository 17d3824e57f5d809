"""Floor 4: datasets and transforms. Importing this package registers the built-ins.

Datasets follow MMSeg 1.x (``BaseSegDataset`` and one class per dataset family); transforms
follow MMCV 2.x / MMSeg 1.x names and keys. :func:`check_dataset_labels` is the pre-flight
label check the runner calls before training.
"""

from segwright.datasets import transforms
from segwright.datasets.ade import ADE20KDataset
from segwright.datasets.base import BaseSegDataset
from segwright.datasets.chase_db1 import ChaseDB1Dataset
from segwright.datasets.checks import LabelCheckReport, check_dataset_labels
from segwright.datasets.cityscapes import CityscapesDataset
from segwright.datasets.cityscapes_instance import CityscapesInstanceDataset
from segwright.datasets.coco import CocoDataset
from segwright.datasets.coco_stuff import COCOStuffDataset
from segwright.datasets.det_base import BaseDetDataset
from segwright.datasets.drive import DRIVEDataset
from segwright.datasets.folder import FolderSegDataset
from segwright.datasets.hrf import HRFDataset
from segwright.datasets.loveda import LoveDADataset
from segwright.datasets.pascal_context import PascalContextDataset, PascalContextDataset59
from segwright.datasets.potsdam import PotsdamDataset
from segwright.datasets.stare import STAREDataset
from segwright.datasets.vaihingen import ISPRSDataset
from segwright.datasets.voc import PascalVOCDataset
from segwright.datasets.wrappers import ConcatDataset, RepeatDataset

__all__ = [
    "ADE20KDataset",
    "BaseDetDataset",
    "BaseSegDataset",
    "COCOStuffDataset",
    "ChaseDB1Dataset",
    "CityscapesDataset",
    "CityscapesInstanceDataset",
    "CocoDataset",
    "ConcatDataset",
    "DRIVEDataset",
    "FolderSegDataset",
    "HRFDataset",
    "ISPRSDataset",
    "LabelCheckReport",
    "LoveDADataset",
    "PascalContextDataset",
    "PascalContextDataset59",
    "PascalVOCDataset",
    "PotsdamDataset",
    "RepeatDataset",
    "STAREDataset",
    "check_dataset_labels",
    "transforms",
]
from segwright.datasets import demo  # noqa: E402,F401  (registers DemoSceneDataset)
