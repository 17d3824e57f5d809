"""MMSeg's deprecated ``pretrained=`` backbone argument, turned into an ``init_cfg`` in one place."""

from __future__ import annotations

import warnings
from typing import Any

from segwright.utils.errors import ConfigError


def conv_backbone_init() -> list[dict[str, Any]]:
    """MMSeg's default ``init_cfg`` of the conv backbones: Kaiming convs, unit norms."""
    return [
        dict(type="Kaiming", layer="Conv2d"),
        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
    ]


def init_cfg_from_pretrained(
    owner: str, pretrained: Any, init_cfg: Any, default: Any = None
) -> Any:
    """The ``init_cfg`` a backbone ends up with, given MMSeg's ``pretrained`` and ``init_cfg``.

    A ``pretrained`` path becomes ``dict(type='Pretrained', checkpoint=path)`` (with a
    DeprecationWarning); with neither set, ``default`` (the backbone's own init) is returned.

    Args:
        owner: The backbone's name, for the messages.
        pretrained: ``None`` or a checkpoint path.
        init_cfg: The ``init_cfg`` argument as given.
        default: What to use when both are None.

    Raises:
        ConfigError: Both are set, or ``pretrained`` is not a path.
    """
    if pretrained is None:
        return default if init_cfg is None else init_cfg
    if init_cfg is not None:
        raise ConfigError(
            f"{owner}: set either init_cfg or pretrained, not both (pretrained is the "
            "deprecated spelling of init_cfg=dict(type='Pretrained', checkpoint=...))."
        )
    if not isinstance(pretrained, str):
        raise ConfigError(f"{owner} pretrained must be a path or None, got {pretrained!r}.")
    warnings.warn(
        f"{owner} pretrained= is deprecated; use init_cfg=dict(type='Pretrained', checkpoint=...).",
        DeprecationWarning,
        stacklevel=3,
    )
    return dict(type="Pretrained", checkpoint=pretrained)
