"""Old home of the 0.x data translation; it now lives in :mod:`segwright.config.legacy`.

Kept so ``from segwright.config.legacy_data import ...`` goes on working.
"""

from segwright.config.legacy.common import FORMAT_STEPS, bare_type
from segwright.config.legacy.datasets import (
    DataResult,
    find_pipeline,
    translate_data,
    translate_dataset,
)
from segwright.config.legacy.pipelines import (
    PipelineResult,
    is_legacy_pipeline,
    translate_pipeline,
    translate_pipeline_variable,
)
from segwright.config.legacy.preprocessor import Normalisation

__all__ = [
    "FORMAT_STEPS",
    "DataResult",
    "Normalisation",
    "PipelineResult",
    "bare_type",
    "find_pipeline",
    "is_legacy_pipeline",
    "translate_data",
    "translate_dataset",
    "translate_pipeline",
    "translate_pipeline_variable",
]
