"""Scaling rules of the hierarchical-backbone shipped configs (Swin, Twins, SegNeXt, ConvNeXt,
PoolFormer), read by ``test_shipped_configs``."""

from __future__ import annotations

from typing import Any


def _swin(backbone: dict[str, Any]) -> list[int]:
    """Width 8 (8/16/32/64 over the stages), one head; two blocks (plain, shifted) first."""
    stages = len(backbone["depths"])
    backbone.update(embed_dims=8, num_heads=[1] * stages, depths=[2] + [1] * (stages - 1))
    return [8 * 2**i for i in backbone.get("out_indices", range(stages))]


def _twins(backbone: dict[str, Any]) -> list[int]:
    """Width 8 and one block (PCPVT: global, SVT: local attention) per stage, one head."""
    stages = len(backbone["depths"])
    backbone.update(embed_dims=[8] * stages, num_heads=[1] * stages, depths=[1] * stages)
    return [8] * stages


def _mscan(backbone: dict[str, Any]) -> list[int]:
    """Width 8 (the stem's first conv 4) and one block per stage."""
    stages = backbone.get("num_stages", 4)
    backbone.update(embed_dims=[8] * stages, depths=[1] * stages)
    return [8] * stages


def _light_ham(head: dict[str, Any], outs: list[int]) -> None:
    """GroupNorm of 2 groups over 8 Hamburger / 4 head channels; 2 NMF bases."""
    head["norm_cfg"] = dict(head["norm_cfg"], num_groups=2)
    head.update(ham_channels=8, ham_kwargs=dict(head.get("ham_kwargs", {}), MD_R=2))


def _convnext(backbone: dict[str, Any]) -> list[int]:
    """Widths 8/16/32/64, one block per stage."""
    backbone["arch"] = dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64])
    return [8 * 2**i for i in backbone["out_indices"]]


def _poolformer(backbone: dict[str, Any]) -> list[int]:
    """Widths 8/16/32/64, one block per stage (network entries 0, 2, 4, 6 are the stages)."""
    backbone["arch"] = dict(layers=[1, 1, 1, 1], embed_dims=[8, 16, 32, 64])
    return [[8, 16, 16, 32, 32, 64, 64][i] for i in backbone["out_indices"]]


_CONVNEXT_ARCHS = {"tiny": [96, 192, 384, 768], "small": [96, 192, 384, 768]}
_CONVNEXT_ARCHS |= {"base": [128, 256, 512, 1024], "large": [192, 384, 768, 1536]}
_CONVNEXT_ARCHS |= {"xlarge": [256, 512, 1024, 2048]}
_POOLFORMER_ARCHS = {"s12": [64, 128, 320, 512], "s24": [64, 128, 320, 512]}
_POOLFORMER_ARCHS |= {"s36": [64, 128, 320, 512], "m36": [96, 192, 384, 768]}
_POOLFORMER_ARCHS |= {"m48": [96, 192, 384, 768]}


def _convnext_full(backbone: dict[str, Any]) -> list[int]:
    channels = _CONVNEXT_ARCHS[backbone["arch"]]
    return [channels[i] for i in backbone["out_indices"]]


def _poolformer_full(backbone: dict[str, Any]) -> list[int]:
    dims = _POOLFORMER_ARCHS[backbone["arch"]]
    return [dims[(i + 1) // 2] for i in backbone["out_indices"]]


def _swin_full(backbone: dict[str, Any]) -> list[int]:
    stages = len(backbone["depths"])
    width = backbone["embed_dims"]
    return [width * 2**i for i in backbone.get("out_indices", range(stages))]


def _twins_full(backbone: dict[str, Any]) -> list[int]:
    return list(backbone["embed_dims"])


BACKBONE_RULES = {"SwinTransformer": _swin, "PCPVT": _twins, "SVT": _twins, "MSCAN": _mscan}
BACKBONE_RULES |= {"mmpretrain.ConvNeXt": _convnext, "mmpretrain.PoolFormer": _poolformer}
HEAD_RULES = {"LightHamHead": _light_ham}
FULL_SIZE_BACKBONES = {
    "SwinTransformer": _swin_full,
    "PCPVT": _twins_full,
    "SVT": _twins_full,
    "MSCAN": _twins_full,
    "mmpretrain.ConvNeXt": _convnext_full,
    "mmpretrain.PoolFormer": _poolformer_full,
}
