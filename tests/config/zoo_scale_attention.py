"""Scaling rules of the attention heads' shipped configs (read by ``test_shipped_configs``)."""

from __future__ import annotations

from typing import Any


def _cc_head(head: dict[str, Any], outs: list[int]) -> None:
    head["channels"] = 8  # CrissCrossAttention embeds at channels // 8: at least 8


HEAD_RULES = {"CCHead": _cc_head}
