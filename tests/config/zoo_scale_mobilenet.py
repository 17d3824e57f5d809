"""Scaling rules of the MobileNetV2 configs (read by ``test_shipped_configs``)."""

from __future__ import annotations

from typing import Any


def _channels(backbone: dict[str, Any]) -> list[int]:
    """The stage widths MobileNetV2 reports for this config (built, so the rule cannot drift)."""
    from segwright.registry import MODELS

    config = {k: v for k, v in backbone.items() if k != "norm_cfg"}
    return list(MODELS.build(dict(config, norm_cfg=dict(type="BN"))).out_channels)


def _shrink(backbone: dict[str, Any]) -> list[int]:
    backbone["widen_factor"] = 0.25
    return _channels(backbone)


BACKBONE_RULES = {"MobileNetV2": _shrink}
FULL_SIZE_BACKBONES = {"MobileNetV2": _channels}
