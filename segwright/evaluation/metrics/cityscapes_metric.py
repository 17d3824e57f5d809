"""``CityScapesMetric``: named so MMDetection's Cityscapes configs get a clear message.

MMDetection's ``cityscapes_instance.py`` lists it beside ``CocoMetric``. It runs the official
Cityscapes instance evaluation (the ``cityscapesscripts`` package, per-instance PNG files),
which segwright does not include; ``CocoMetric`` gives the bbox and segm mAP of the same
predictions.
"""

from __future__ import annotations

from typing import Any

from segwright.registry import METRICS
from segwright.utils.errors import ConfigError


@METRICS.register_module()
class CityScapesMetric:
    """Not available: building it raises a :class:`ConfigError` saying what to use instead."""

    def __init__(self, **kwargs: Any) -> None:
        raise ConfigError(
            "CityScapesMetric (MMDetection's official Cityscapes instance evaluation, through "
            "cityscapesscripts) is not part of segwright. Keep only the CocoMetric entry of "
            "val_evaluator/test_evaluator, e.g. --cfg-options "
            "\"val_evaluator=[{'type': 'CocoMetric', 'ann_file': '...', "
            "'metric': ['bbox', 'segm']}]\" (and the same for test_evaluator); it reports the "
            "bbox and segm mAP."
        )
