"""Floor 4: metrics (mIoU, mDice, mFscore, aAcc) following MMEngine's BaseMetric interface."""

from segwright.evaluation import metrics  # noqa: F401
from segwright.evaluation.evaluator import Evaluator
from segwright.evaluation.functional import (
    intersect_and_union,
    legacy_eval_results,
    per_class,
    summarize,
    total_area_to_metrics,
)
from segwright.evaluation.metrics import BaseMetric, IoUMetric
from segwright.evaluation.table import format_class_table

__all__ = [
    "BaseMetric",
    "Evaluator",
    "IoUMetric",
    "format_class_table",
    "intersect_and_union",
    "legacy_eval_results",
    "per_class",
    "summarize",
    "total_area_to_metrics",
]
