"""How commands read a config: :func:`segwright.config.load_config`, worded for the command line."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

# The configs the running command loaded (set by config_key_origins), newest last.
_LOADED: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "segwright_cli_loaded_configs", default=None
)


@contextlib.contextmanager
def config_key_origins() -> Iterator[None]:
    """While a command runs, build errors about a config key name the file:line that set it.

    The key is looked up in the config the command loaded last (through :func:`load_config`),
    so ``segwright train`` says ``num_clases ... (set at configs/x.py:8)``.
    """
    from segwright.utils.key_origins import key_origins

    loaded: list[Any] = []

    def resolve(key: str) -> str | None:
        return loaded[-1].origin_of(key) if loaded else None

    token = _LOADED.set(loaded)
    try:
        with key_origins(resolve):
            yield
    finally:
        _LOADED.reset(token)


def load_config(
    path: str,
    cfg_options: list[str] | None = None,
    announce: bool = False,
    notes: list[str] | None = None,
    import_custom_modules: bool = True,
) -> tuple[Any, bool]:
    """Read a config, apply ``--cfg-options`` and ``custom_imports``, translate MMSeg 0.x.

    The translation happens here, before a command applies its own flags, so flags such as
    ``--amp`` act on the native keys. The runner logs the notes into its log file
    (``cfg.load_report``); ``notes`` receives them too, for a command that fails before it has a
    runner.

    Args:
        path: The config file.
        cfg_options: ``KEY=VALUE`` overrides from the command line.
        announce: Print what the 0.x translation changed.
        notes: A list to receive the translation's notes (and the notes on 0.x keys applied in
            a 1.x-style config).
        import_custom_modules: Import ``custom_imports`` (off for commands that only print).

    Returns:
        The config, and whether it was an MMSeg 0.x config (translated to the 1.x schema).
    """
    from segwright.config import load_config as load

    cfg = load(path, cfg_options, import_custom_modules=import_custom_modules)
    loaded = _LOADED.get()
    if loaded is not None:
        loaded.append(cfg)
    report = cfg.load_report
    changed = [*report.notes, *report.applied]
    if notes is not None:
        notes.extend(changed)
    if announce and report.legacy:
        print(translation_notes_text(report.notes))
    return cfg, report.legacy


def translation_notes_text(notes: list[str]) -> str:
    """The notes as logged: a heading, then one bullet per note."""
    from segwright.config.legacy import format_notes

    return "MMSeg 0.x config translated:\n" + format_notes(notes)


def log_translation_notes(runner: Any, notes: list[str] | None) -> None:
    """Log notes through ``runner``'s logger, unless the runner logged its config's already.

    ``Runner.from_cfg`` logs what ``load_config`` did (``cfg.load_report``) into the run's log;
    this is for a runner built some other way.
    """
    cfg = getattr(runner, "cfg", None)
    if notes and getattr(cfg, "load_report", None) is None:
        runner.logger.info(translation_notes_text(notes))
