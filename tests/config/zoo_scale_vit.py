"""Scaling rules of the plain-ViT families' shipped configs (read by ``test_shipped_configs``).

A ViT (BEiT, MAE) keeps its wiring (class token, norms, the number of outputs) but shrinks to width 8,
2 heads and one block per returned output; its outputs are renumbered to match.
"""

from __future__ import annotations

from typing import Any

WIDTH = 8


def _vit_outputs(backbone: dict[str, Any]) -> int:
    indices = backbone.get("out_indices", -1)
    return (1 if isinstance(indices, int) else len(indices)) + int(backbone.get("out_origin", 0))


def _vit(backbone: dict[str, Any]) -> list[int]:
    indices = backbone.get("out_indices", -1)
    blocks = 1 if isinstance(indices, int) else len(indices)
    backbone.update(
        embed_dims=WIDTH, num_heads=2, num_layers=blocks, img_size=32,
        out_indices=-1 if isinstance(indices, int) else list(range(blocks)),
    )  # fmt: skip
    return [WIDTH] * _vit_outputs(backbone)


def _vit_full_size(backbone: dict[str, Any]) -> list[int]:
    return [backbone["embed_dims"]] * _vit_outputs(backbone)


def _neck_outs(neck: dict[str, Any], outs: list[int] | None = None) -> list[int]:
    assert outs is None or list(neck["in_channels"]) == outs
    count = len(neck["scales"]) if "scales" in neck else len(neck["in_channels"])
    return [neck["out_channels"]] * count


def _neck(neck: dict[str, Any], outs: list[int]) -> list[int]:
    neck.update(in_channels=list(outs), out_channels=4)  # 4: FCN heads with num_convs=0 read it
    return _neck_outs(neck, outs)


def _setr_mla_head(head: dict[str, Any], outs: list[int]) -> None:
    head["mla_channels"] = 2
    head["channels"] = 2 * len(head["in_channels"])  # SETRMLAHead's rule


def _segmenter_head(head: dict[str, Any], outs: list[int]) -> None:
    head.update(embed_dims=WIDTH, num_heads=2, num_layers=1)


def _dpt_head(head: dict[str, Any], outs: list[int]) -> None:
    head.update(embed_dims=outs[0], post_process_channels=[2, 4, 4, 8])


def _feature2pyramid(neck: dict[str, Any], outs: list[int]) -> list[int]:
    neck["embed_dim"] = outs[0]
    return [outs[0]] * len(neck["rescales"])


def _feature2pyramid_full_size(neck: dict[str, Any], outs: list[int]) -> list[int]:
    assert outs == [neck["embed_dim"]] * len(outs)
    return [neck["embed_dim"]] * len(neck["rescales"])


BACKBONE_RULES = {"VisionTransformer": _vit, "BEiT": _vit, "MAE": _vit}
FULL_SIZE_BACKBONES = {"VisionTransformer": _vit_full_size, "BEiT": _vit_full_size}
FULL_SIZE_BACKBONES["MAE"] = _vit_full_size
NECK_RULES = {"MultiLevelNeck": _neck, "MLANeck": _neck, "Feature2Pyramid": _feature2pyramid}
FULL_SIZE_NECKS = {"MultiLevelNeck": _neck_outs, "MLANeck": _neck_outs}
FULL_SIZE_NECKS["Feature2Pyramid"] = _feature2pyramid_full_size
HEAD_RULES = {
    "SETRMLAHead": _setr_mla_head,
    "SegmenterMaskTransformerHead": _segmenter_head,
    "DPTHead": _dpt_head,
}
