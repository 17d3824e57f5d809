"""Scaling rules of the HRNet/OCRNet/FastFCN/ResNeSt shipped configs (read by
``test_shipped_configs``)."""

from __future__ import annotations

from typing import Any


def _hrnet(backbone: dict[str, Any]) -> list[int]:
    """One module of one block per branch, branches 4/6/8/10 wide (the stem stays at 64)."""
    extra = backbone["extra"]
    for s in range(1, 5):
        stage = extra[f"stage{s}"]
        branches = stage["num_branches"]
        stage.update(num_modules=1, num_blocks=(1,) * branches)
        stage["num_channels"] = (4,) if s == 1 else (4, 6, 8, 10)[:branches]
    return _hrnet_full_size(backbone)


def _hrnet_full_size(backbone: dict[str, Any]) -> list[int]:
    stage4 = backbone["extra"]["stage4"]
    expansion = 4 if stage4["block"] == "BOTTLENECK" else 1
    return [c * expansion for c in stage4["num_channels"]]


def _resnest(backbone: dict[str, Any]) -> list[int]:
    """ResNeSt-50 at width 2 (Bottleneck: x4 channels), an 8-channel stem."""
    backbone.update(depth=50, stem_channels=8, base_channels=2)
    return _resnest_full_size(backbone)


def _resnest_full_size(backbone: dict[str, Any]) -> list[int]:
    width = backbone.get("base_channels", 64) * 4
    return [width * 2**i for i in backbone.get("out_indices", range(4))]


def _jpu_outs(neck: dict[str, Any], in_channels: list[int]) -> list[int]:
    """The pass-through levels ``start .. end - 2``, then the JPU map."""
    end = neck.get("end_level", -1)
    end = len(in_channels) if end == -1 else end
    width = neck.get("mid_channels", 512) * len(neck.get("dilations", (1, 2, 4, 8)))
    return [*in_channels[neck.get("start_level", 0) : end - 1], width]


def _jpu(neck: dict[str, Any], outs: list[int]) -> list[int]:
    neck.update(in_channels=tuple(outs), mid_channels=4)
    return _jpu_outs(neck, list(outs))


def _jpu_full_size(neck: dict[str, Any], outs: list[int]) -> list[int]:
    assert list(neck["in_channels"]) == list(outs), "JPU in_channels != the backbone's outputs"
    return _jpu_outs(neck, list(outs))


BACKBONE_RULES = {"HRNet": _hrnet, "ResNeSt": _resnest}
NECK_RULES = {"JPU": _jpu}
FULL_SIZE_BACKBONES = {"HRNet": _hrnet_full_size, "ResNeSt": _resnest_full_size}
FULL_SIZE_NECKS = {"JPU": _jpu_full_size}
