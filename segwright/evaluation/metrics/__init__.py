"""Metrics. Importing this package registers the built-in ones in ``METRICS``."""

from segwright.evaluation.metrics.base_metric import BaseMetric
from segwright.evaluation.metrics.cityscapes_metric import CityScapesMetric
from segwright.evaluation.metrics.coco_metric import CocoMetric
from segwright.evaluation.metrics.iou_metric import IoUMetric

__all__ = ["BaseMetric", "CityScapesMetric", "CocoMetric", "IoUMetric"]
