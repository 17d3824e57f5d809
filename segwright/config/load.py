"""``load_config``: the one way a config file (or object) becomes the config a run uses.

Every command and API goes through it: the file with its bases, ``--cfg-options``,
``custom_imports``, then MMSeg 0.x translation (keeping each key's file:line), and the 0.x keys
of a 1.x-style config applied or reported. What it did is kept on the config
(:attr:`Config.load_report`), so loading an already loaded config changes nothing: a config
is translated once, whichever entry point sees it first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from segwright.config.config import Config


@dataclass
class LoadReport:
    """What :func:`load_config` did beyond reading the file.

    Attributes:
        legacy: The config was an MMSeg 0.x config and is now in the 1.x schema.
        notes: The 0.x translation's notes (what changed meaning or was dropped).
        applied: 0.x keys of a 1.x-style config applied to their 1.x keys, with file:line.
        ignored: 0.x keys of a 1.x-style config that nothing reads -> where they were set.
        run_notes: ``(level, text)`` from :func:`segwright.config.checks.check_run_keys`
            (compatibility keys without effect, values moved to where they act).
    """

    legacy: bool = False
    notes: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)
    run_notes: list[tuple[str, str]] = field(default_factory=list)

    def messages(self) -> list[tuple[str, str]]:
        """``(level, text)`` pairs to log for a run: ``'info'`` or ``'warning'``."""
        from segwright.config.legacy import format_notes

        out = []
        if self.legacy:
            out.append(("info", "MMSeg 0.x config translated:\n" + format_notes(self.notes)))
        if self.applied:
            out.append(
                ("warning", "MMSeg 0.x keys in a 1.x-style config:\n" + format_notes(self.applied))
            )
        if self.ignored:
            places = [f"{k}: {p}" for k, p in self.ignored.items() if p and not p.startswith("(")]
            where = f" ({'; '.join(places)})" if places else ""
            out.append(
                (
                    "warning",
                    "The config is in the 1.x style (it has optim_wrapper/train_dataloader), so "
                    f"these MMSeg 0.x keys have no effect: {', '.join(self.ignored)}{where}. "
                    "Move their "
                    "settings into the 1.x keys (segwright migrate-config on the 0.x part shows "
                    "how), or delete them.",
                )
            )
        return out + list(self.run_notes)


def load_config(
    source: str | os.PathLike[str] | Config | Mapping[str, Any],
    cfg_options: list[str] | Mapping[str, Any] | None = None,
    *,
    import_custom_modules: bool = True,
) -> Config:
    """Read a config and bring it into the 1.x schema the engine runs.

    In order: the file and its ``_base_`` chain; ``cfg_options`` (``KEY=VALUE`` strings as
    typed after ``--cfg-options``, or a ``{'a.b': value}`` dict), in the config's own style
    (0.x keys for a 0.x config); then an MMSeg 0.x config is translated, each translated key
    keeping the file:line of the 0.x key it came from (``Config.explain``); in a 1.x-style
    config, 0.x ``optimizer`` settings written after ``optim_wrapper`` are applied to it, and
    other 0.x keys reported (:class:`LoadReport`); last ``custom_imports`` (the translation
    builds nothing, and it names 0.x modules by their 1.x names).

    A :class:`Config` that went through ``load_config`` already comes back as it is (apart from
    ``cfg_options``, applied to it as 1.x keys), so callers may load what they were given.

    Args:
        source: A config file, a :class:`Config`, or a dict of config values.
        cfg_options: Overrides, applied before the translation.
        import_custom_modules: Import ``custom_imports`` (off for commands that only print).

    Returns:
        The config; ``cfg.load_report`` says what was translated or applied.

    Raises:
        ConfigError: The file, an override or a 0.x key is wrong (the message says which).
    """
    from segwright.config.checks import check_run_keys
    from segwright.config.legacy import is_legacy_config, translate_config
    from segwright.config.legacy.over_native import apply_legacy_over_native

    if isinstance(source, Config):
        cfg = source
    elif isinstance(source, Mapping):
        cfg = Config(source)
    else:
        cfg = Config.fromfile(source, import_custom_modules=False)
    if cfg_options:
        if isinstance(cfg_options, Mapping):
            cfg.merge_from_dict(cfg_options)
        else:
            cfg.merge_from_options(list(cfg_options))
    if cfg.load_report is not None:
        return cfg
    report = LoadReport()
    if is_legacy_config(cfg):
        cfg, report.notes = translate_config(cfg)
        report.legacy = True
    elif {"optim_wrapper", "train_dataloader"} & set(cfg.keys()):
        cfg, report.applied, report.ignored = apply_legacy_over_native(cfg)
    if import_custom_modules:  # after the translation, which renames 0.x modules (mmcls)
        cfg.import_custom_modules()
    report.run_notes = check_run_keys(cfg)
    object.__setattr__(cfg, "_load_report", report)
    return cfg


def log_load_report(cfg: Config, logger: Any) -> None:
    """Log what :func:`load_config` did to ``cfg`` through ``logger`` (the run's log)."""
    report = cfg.load_report
    if report is None:
        return
    for level, text in report.messages():
        getattr(logger, level)(text)
