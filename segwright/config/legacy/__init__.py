"""MMSeg 0.x (MMCV-runner) configs in the native 1.x schema, so they run unchanged (SPEC §13).

:func:`translate_legacy_config` rewrites ``optimizer``/``optimizer_config``/``lr_config``/
``momentum_config``/``runner``/``workflow``/``data``/``evaluation``/``checkpoint_config``/
``log_config`` and the smaller 0.x keys into ``optim_wrapper``, loops, dataloaders, hooks and
``env_cfg``, and returns a note for everything whose meaning changed or that was dropped. A key
it cannot translate is a :class:`~segwright.utils.errors.ConfigError` naming the key.

The LR and momentum policies become ``param_scheduler`` entries of MMCV-policy schedulers
(``MMCVPolyLR``, ``MMCVCyclicMomentum``...): the 0.x formulas and timing, not MMEngine
approximations. The default hooks get MMCV's priorities (``default_hook_priorities``), and
losses whose definition changed after 0.30 get their 0.30 form (``DiceLoss`` ->
``DiceLossV030``, class-weighted ``CrossEntropyLoss`` -> ``avg_by_class_weight=False``).
The output is plain dicts naming types (this module sits on floor 2 and builds nothing).
``Config.fromfile`` does not call it; :func:`segwright.config.load_config` does, for every
command and API (:mod:`.origins` keeps each translated key's file:line).

Modules, one concern each: :mod:`.detect` (which style a config is), :mod:`.translate` (the
entry points and step order), :mod:`.runtime`, :mod:`.evaluation`, :mod:`.optim`,
:mod:`.schedules`, :mod:`.hooks` (one group of 0.x keys each), :mod:`.notes`, and the data side:
:mod:`.datasets`, :mod:`.pipelines`, :mod:`.preprocessor`, :mod:`.common`.
"""

from segwright.config.legacy.common import FORMAT_STEPS, bare_type
from segwright.config.legacy.datasets import (
    DataResult,
    find_pipeline,
    translate_data,
    translate_dataset,
)
from segwright.config.legacy.detect import (
    LEGACY_KEYS,
    NATIVE_KEYS,
    ignored_legacy_keys,
    is_legacy_config,
)
from segwright.config.legacy.notes import format_notes
from segwright.config.legacy.pipelines import (
    PipelineResult,
    is_legacy_pipeline,
    translate_pipeline,
    translate_pipeline_variable,
)
from segwright.config.legacy.preprocessor import Normalisation
from segwright.config.legacy.translate import translate_config, translate_legacy_config

__all__ = [
    "FORMAT_STEPS",
    "LEGACY_KEYS",
    "NATIVE_KEYS",
    "DataResult",
    "Normalisation",
    "PipelineResult",
    "bare_type",
    "find_pipeline",
    "format_notes",
    "ignored_legacy_keys",
    "is_legacy_config",
    "is_legacy_pipeline",
    "translate_config",
    "translate_data",
    "translate_dataset",
    "translate_legacy_config",
    "translate_pipeline",
    "translate_pipeline_variable",
]
