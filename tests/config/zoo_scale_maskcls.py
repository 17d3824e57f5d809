"""Scaling rules of the mask-classification shipped configs (K-Net, MaskFormer, Mask2Former),
read by
``test_shipped_configs``."""

from __future__ import annotations

from typing import Any


def _iterative(head: dict[str, Any], outs: list[int]) -> None:
    """K-Net: the generic rule's in_channels/channels belong to the wrapped generate head;
    kernels of width 8 (the updater reads them in rows of 4), one attention head, FFN 16."""
    generate = head["kernel_generate_head"]
    index = generate.get("in_index", -1)
    several = isinstance(index, (list, tuple))
    generate["in_channels"] = [outs[i] for i in index] if several else outs[index]
    generate["channels"] = 8
    head.pop("in_channels"), head.pop("channels")
    for stage in head["kernel_update_head"]:
        stage.update(in_channels=8, out_channels=8, num_heads=1, feedforward_channels=16)
        stage["kernel_updator_cfg"].update(in_channels=4, feat_channels=4, out_channels=4)


def _maskformer(head: dict[str, Any], outs: list[int]) -> None:
    """MaskFormer: width 8 (two attention heads, GN of 2 groups), 4 queries, 2 decoder layers;
    it has no ``channels`` (the generic rule's)."""
    head.pop("channels")
    head.update(feat_channels=8, out_channels=8, num_queries=4)
    head["positional_encoding"]["num_feats"] = 4
    head["pixel_decoder"]["norm_cfg"] = dict(head["pixel_decoder"]["norm_cfg"], num_groups=2)
    decoder = head["transformer_decoder"]
    decoder["num_layers"] = 2
    layer = decoder["layer_cfg"]
    for attn in ("self_attn_cfg", "cross_attn_cfg"):
        layer[attn] = dict(layer[attn], embed_dims=8, num_heads=2)
    layer["ffn_cfg"] = dict(layer["ffn_cfg"], embed_dims=8, feedforward_channels=16)


def _mask2former(head: dict[str, Any], outs: list[int]) -> None:
    """Mask2Former: as MaskFormer, plus a one-layer deformable encoder of width 8 and 64
    sampled points per mask."""
    _maskformer(head, outs)
    if "in_index" not in head:  # it reads every level
        head["in_channels"] = list(outs)
    encoder = head["pixel_decoder"]["encoder"]
    encoder["num_layers"] = 1
    layer = encoder["layer_cfg"]
    layer["self_attn_cfg"] = dict(layer["self_attn_cfg"], embed_dims=8, num_heads=2)
    layer["ffn_cfg"] = dict(layer["ffn_cfg"], embed_dims=8, feedforward_channels=16)
    head["pixel_decoder"]["positional_encoding"]["num_feats"] = 4
    head["train_cfg"]["num_points"] = 64


HEAD_RULES = {"IterativeDecodeHead": _iterative, "MaskFormerHead": _maskformer}
HEAD_RULES |= {"Mask2FormerHead": _mask2former}
