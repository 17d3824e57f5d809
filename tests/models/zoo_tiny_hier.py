"""Tiny sweep entries of the hierarchical backbones (Swin, Twins PCPVT/SVT, SegNeXt's MSCAN,
mmpretrain's ConvNeXt and PoolFormer) and SegNeXt's LightHamHead.

Read by ``_zoo_entries()`` in ``test_registered_components.py``: each backbone gets a
2x3x32x32 image, checked against its ``out_channels``/``out_strides``; heads get features of
channels (4, 8, 16, 32) at sizes (16, 8, 4, 2).
"""

from __future__ import annotations

from typing import Any

BN = dict(type="BN", requires_grad=True)
NUM_CLASSES = 3  # the sweep's

_TWINS = dict(
    embed_dims=(8, 16), num_heads=(1, 2), patch_sizes=(4, 2), strides=(4, 2),
    mlp_ratios=(2, 2), depths=(2, 1), sr_ratios=(2, 1), out_indices=(0, 1), qkv_bias=True,
)  # fmt: skip

ENTRIES: dict[str, dict[str, Any]] = {
    # 8x8 then 4x4 tokens in windows of 3: padded, shifted and masked windows all run
    "SwinTransformer": dict(
        kind="backbone",
        kwargs=dict(
            embed_dims=8,
            depths=(2, 1),
            num_heads=(1, 2),
            strides=(4, 2),
            out_indices=(0, 1),
            window_size=3,
            mlp_ratio=2,
            drop_path_rate=0.1,
        ),
    ),  # fmt: skip
    "PCPVT": dict(kind="backbone", kwargs=_TWINS),
    # windows of 3 on an 8x8 map: both sides padded, so the padding mask runs
    "SVT": dict(kind="backbone", kwargs=dict(_TWINS, windiow_sizes=(3, 3))),
    "MSCAN": dict(
        kind="backbone",
        kwargs=dict(
            embed_dims=(8, 8, 16, 16),
            mlp_ratios=(2, 2, 2, 2),
            depths=(1, 1, 1, 1),
            drop_path_rate=0.1,
            norm_cfg=BN,
        ),
    ),  # fmt: skip
    # ConvNeXt V2 blocks (GRN) with a real layer scale; maps out, not pooled vectors
    "ConvNeXt": dict(
        kind="backbone",
        kwargs=dict(
            arch=dict(depths=[2, 1], channels=[8, 16]),
            out_indices=(0, 1),
            use_grn=True,
            drop_path_rate=0.1,
            layer_scale_init_value=1.0,
            gap_before_final_norm=False,
        ),
    ),  # fmt: skip
    # network = [stage 0, downsampling, stage 1]; the two stages are returned
    "PoolFormer": dict(
        kind="backbone",
        kwargs=dict(
            arch=dict(layers=[2, 1], embed_dims=[8, 16], mlp_ratios=[2, 2]),
            out_indices=(0, 2),
            drop_path_rate=0.1,
        ),
    ),  # fmt: skip
    # levels 0 and 1 fused at 16x16; a short NMF (2 bases, 2 training steps)
    "LightHamHead": dict(
        kind="head",
        kwargs=dict(
            in_channels=[4, 8],
            in_index=[0, 1],
            channels=4,
            ham_channels=8,
            num_classes=NUM_CLASSES,
            norm_cfg=dict(type="GN", num_groups=2, requires_grad=True),
            ham_kwargs=dict(MD_R=2, train_steps=2, eval_steps=3),
        ),
        out_size=(16,),
    ),  # fmt: skip
}
