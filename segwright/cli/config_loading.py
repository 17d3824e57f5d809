"""How commands read a config: the file, then ``--cfg-options``, ``custom_imports``, 0.x translation."""

from __future__ import annotations

from typing import Any


def load_config(
    path: str, cfg_options: list[str] | None = None, announce: bool = False
) -> tuple[Any, bool]:
    """Read a config, apply ``--cfg-options`` and ``custom_imports``, translate MMSeg 0.x.

    The translation happens here, before a command applies its own flags, so flags such as
    ``--amp`` act on the native keys.

    Args:
        path: The config file.
        cfg_options: ``KEY=VALUE`` overrides from the command line.
        announce: Print what the 0.x translation changed.

    Returns:
        The config, and whether it was an MMSeg 0.x config (translated to the 1.x schema).
    """
    from segwright.config import Config
    from segwright.config.legacy import format_notes, is_legacy_config, translate_config

    cfg = Config.fromfile(path, import_custom_modules=False)
    if cfg_options:
        cfg.merge_from_options(cfg_options)
    cfg.import_custom_modules()
    if not is_legacy_config(cfg):
        return cfg, False
    cfg, notes = translate_config(cfg)
    if announce:
        print("MMSeg 0.x config translated:\n" + format_notes(notes))
    return cfg, True
