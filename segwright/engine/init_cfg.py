"""Reading ``init_cfg`` (MMEngine's weight-initialisation configs) without building a model.

The models apply these configs; the runner reads them too (which ``Pretrained`` entries a
loaded checkpoint already covers), so the reading lives here, below both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segwright.utils.errors import ConfigError


def init_type_name(cfg: Mapping[str, Any]) -> str:
    name = cfg.get("type")
    if not isinstance(name, str):
        raise ConfigError(f"init_cfg {dict(cfg)!r} needs a 'type' name.")
    return name.split(".")[-1].removesuffix("Init")  # class names: 'KaimingInit' = 'Kaiming'


def as_cfg_list(init_cfg: Any) -> list[Mapping[str, Any]]:
    """An init_cfg (dict, list of dicts or None) as a list of dicts."""
    if init_cfg is None:
        return []
    if isinstance(init_cfg, Mapping):
        return [init_cfg]
    if isinstance(init_cfg, Sequence) and all(isinstance(c, Mapping) for c in init_cfg):
        return list(init_cfg)
    raise ConfigError(f"init_cfg must be a dict or a list of dicts, got {init_cfg!r}.")


def is_pretrained_cfg(cfg: Mapping[str, Any]) -> bool:
    return init_type_name(cfg) == "Pretrained"
