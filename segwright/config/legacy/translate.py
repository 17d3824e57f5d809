"""The whole 0.x -> 1.x translation: the step order and the public entry points."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from segwright.config.config import Config
from segwright.config.legacy.detect import LEGACY_KEYS, NATIVE_KEYS
from segwright.config.legacy.evaluation import _EvaluationMixin
from segwright.config.legacy.hooks import _HooksMixin
from segwright.config.legacy.optim import _OptimMixin
from segwright.config.legacy.origins import translated_layers
from segwright.config.legacy.runtime import _RuntimeMixin
from segwright.config.legacy.schedules import _ScheduleMixin
from segwright.utils.errors import ConfigError

#: Output order (the rest follows in input order).
_ORDER = (
    "model",
    "work_dir",
    "train_dataloader",
    "val_dataloader",
    "test_dataloader",
    "train_cfg",
    "val_cfg",
    "test_cfg",
    "val_evaluator",
    "test_evaluator",
    "optim_wrapper",
    "default_hooks",
    "default_hook_priorities",
    "custom_hooks",
    "log_processor",
    "visualizer",
    "env_cfg",
    "randomness",
    "model_wrapper_cfg",
    "load_from",
    "resume",
    "log_level",
)


def translate_legacy_config(cfg: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Rewrite a 0.x config into the native schema.

    Args:
        cfg: The merged 0.x config (a :class:`Config` or a dict); it is not modified.

    Returns:
        The native config dict, and human-readable notes (one per change of meaning or dropped
        key), each starting with the 0.x key it concerns.

    Raises:
        ConfigError: A key cannot be translated (the message names it and what to do), or the
            config mixes 0.x and 1.x keys.
    """
    values, notes, _ = _translate(cfg)
    return values, notes


def _translate(cfg: Mapping[str, Any]) -> tuple[dict[str, Any], list[str], dict[Any, Any]]:
    """The translation, with the translator's ``made_from`` hints for provenance."""
    values = cfg.to_dict() if hasattr(cfg, "to_dict") else copy.deepcopy(dict(cfg))
    legacy = sorted(set(values) & LEGACY_KEYS)
    native = sorted(set(values) & NATIVE_KEYS)
    if native:
        raise ConfigError(
            f"The config mixes MMSeg 0.x keys ({', '.join(legacy) or 'none'}) with 1.x keys "
            f"({', '.join(native)}). Write it in one style: remove the 0.x keys, or the 1.x ones "
            "and let segwright translate the 0.x config (segwright migrate-config shows the result)."
        )
    translator = _Translator(values)
    out, notes = translator.run()
    return out, notes, translator.made_from


def translate_config(cfg: Config | Mapping[str, Any]) -> tuple[Config, list[str]]:
    """:func:`translate_legacy_config` keeping the file name, text and provenance of a :class:`Config`.

    Each translated key keeps the file:line (or ``--cfg-options`` entry) of the 0.x key it came
    from, so ``Config.explain`` names the user's file (:mod:`.origins`).
    """
    values, notes, made_from = _translate(cfg)
    if isinstance(cfg, Config):
        layers = translated_layers(cfg.to_dict(), cfg.layers, values, made_from)
        return Config(values, filename=cfg.filename, text=cfg.text, layers=layers), notes
    return Config(values), notes


class _Translator(_RuntimeMixin, _EvaluationMixin, _OptimMixin, _ScheduleMixin, _HooksMixin):
    """One translation: pops 0.x keys from ``src`` into ``out`` and collects notes."""

    # -- the whole config ------------------------------------------------------------------

    def run(self) -> tuple[dict[str, Any], list[str]]:
        iter_based, train_cfg = self._runner()
        workflow = self._workflow()
        self.out["model"] = self._model()
        data = self._data(iter_based, workflow is not None)
        self.out["train_cfg"] = train_cfg
        self._evaluation(iter_based, train_cfg)
        self._optimizer()
        self._updater_hooks(iter_based)
        self._checkpoint(iter_based)
        self._logging(iter_based)
        self._custom_hooks(workflow, data, iter_based)
        self._runtime()
        self._helpers()
        if self.default_hooks:
            self.out["default_hooks"] = self.default_hooks
        if self.custom_hooks:
            self.out["custom_hooks"] = self.custom_hooks
        if self.env_cfg:
            self.out["env_cfg"] = self.env_cfg
        result = {k: self.out.pop(k) for k in _ORDER if k in self.out}
        result.update(self.out)
        result.update(self.src)  # keys nothing reads (helper variables): kept as they are
        return result, self.notes
