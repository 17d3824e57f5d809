"""``auto_scale_lr``: MMEngine's linear scaling of the learning rate with the real batch size.

MMDetection's schedules give the learning rate for 16 images per step
(``auto_scale_lr = dict(enable=False, base_batch_size=16)``). With ``enable=True`` every
parameter group's lr is multiplied by ``world_size * batch_size / base_batch_size`` once, after
the optimizer is built and before the parameter schedulers read their initial lr; with
``enable=False`` (or no ``auto_scale_lr``) nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.utils.errors import ConfigError


def scale_lr(
    optimizer: Any, auto_scale_lr: Mapping[str, Any] | None, batch_size: int, world_size: int
) -> float | None:
    """Scale the lr of ``optimizer``'s groups as ``auto_scale_lr`` says; return the factor.

    Returns:
        The factor applied, or None when scaling is off.

    Raises:
        ConfigError: ``auto_scale_lr`` is not a dict, or ``enable=True`` without a positive
            ``base_batch_size``.
    """
    if auto_scale_lr is None:
        return None
    if not isinstance(auto_scale_lr, Mapping):
        raise ConfigError(
            "auto_scale_lr must be a dict such as dict(enable=False, base_batch_size=16), got "
            f"{auto_scale_lr!r}."
        )
    if not auto_scale_lr.get("enable", False):
        return None
    base = auto_scale_lr.get("base_batch_size")
    if not isinstance(base, int) or isinstance(base, bool) or base < 1:
        raise ConfigError(
            "auto_scale_lr.enable=True needs auto_scale_lr.base_batch_size, the total batch "
            f"size the config's lr was set for (a positive int), got {base!r}."
        )
    factor = world_size * batch_size / base
    for group in optimizer.param_groups:
        group["lr"] = group["lr"] * factor
    return factor
