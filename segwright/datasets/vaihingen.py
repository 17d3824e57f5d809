"""ISPRS Vaihingen aerial dataset (6 classes; registered as ``ISPRSDataset``)."""

from __future__ import annotations

from segwright.datasets.potsdam import PotsdamDataset
from segwright.registry import DATASETS


@DATASETS.register_module()
class ISPRSDataset(PotsdamDataset):
    """Vaihingen (MMSeg's ``ISPRSDataset``): mask value 0 is ignored; ``reduce_zero_label``
    defaults to True.

    Same classes, palette and defaults as Potsdam (both are ISPRS benchmarks).
    Layout: ``img_dir/{train,val}/*.png`` and ``ann_dir/{train,val}/*.png``.
    """
