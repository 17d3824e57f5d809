"""Tiny sweep entries of the plain-ViT families (ViT, SETR, Segmenter, DPT, BEiT, MAE).

Read by ``_zoo_entries()`` in ``test_registered_components.py``. Parts fed by a ViT's
same-size features (MLANeck, Feature2Pyramid, Segmenter's and DPT's heads) get their own
checks.
"""

from __future__ import annotations

from typing import Any

import torch

from segwright.structures import PixelData, SegDataSample

BN = dict(type="BN", requires_grad=True)
NUM_CLASSES = 3  # the sweep's


def _vit_features(
    levels: int = 4, channels: int = 8, size: int = 4, cls_token: bool = False
) -> list[Any]:
    torch.manual_seed(1)
    maps = [torch.randn(2, channels, size, size) for _ in range(levels)]
    return [[m, torch.randn(2, channels)] for m in maps] if cls_token else maps


def _samples(size: int) -> list[SegDataSample]:
    torch.manual_seed(2)
    labels = torch.randint(0, NUM_CLASSES, (2, 1, size, size))
    labels[:, :, 0] = 255
    meta = dict(img_shape=(size, size), ori_shape=(size, size))
    return [SegDataSample(gt_sem_seg=PixelData(label), metainfo=meta) for label in labels]


def _check_head(head: Any, feats: list[Any], logits_size: int, trained: Any) -> None:
    assert tuple(head(feats).shape) == (2, NUM_CLASSES, logits_size, logits_size)
    losses = head.loss(feats, _samples(32), None)
    assert set(losses) == {"loss_ce", "acc_seg"} and torch.isfinite(losses["loss_ce"])
    losses["loss_ce"].backward()
    assert trained(head).grad is not None
    metas = [dict(img_shape=(32, 32), ori_shape=(32, 32))] * 2
    assert tuple(head.predict(feats, metas, None).shape) == (2, NUM_CLASSES, 32, 32)


def check_mla_neck(neck: Any) -> None:
    """Same-size levels in and out; output ``i`` sums the last ``i + 1`` projected levels."""
    outs = neck(_vit_features(channels=8))
    assert [tuple(o.shape) for o in outs] == [(2, 4, 4, 4)] * 4
    sum(o.mean() for o in outs).backward()
    assert all(n.weight.grad is not None for n in neck.norm)


def check_feature2pyramid(neck: Any) -> None:
    """Four same-size maps rescaled x4, x2, x1, x0.5; the 2-less order too."""
    outs = neck(_vit_features(channels=8))
    assert [tuple(o.shape) for o in outs] == [(2, 8, s, s) for s in (16, 8, 4, 2)]
    sum(o.mean() for o in outs).backward()
    assert neck.upsample_4x[0].weight.grad is not None
    coarse = type(neck)(embed_dim=8, rescales=[2, 1, 0.5, 0.25], norm_cfg=BN)
    outs = coarse(_vit_features(channels=8))
    assert [tuple(o.shape) for o in outs] == [(2, 8, s, s) for s in (8, 4, 2, 1)]


def check_segmenter_head(head: Any) -> None:
    """Masks at the token grid; no ``conv_seg``: the class embeddings learn instead."""
    assert not hasattr(head, "conv_seg")
    head.init_weights()
    _check_head(head, _vit_features(levels=1), 4, lambda h: h.cls_emb)


def check_dpt_head(head: Any) -> None:
    """``[feature, cls_token]`` pairs in; logits at 8x the token grid."""
    _check_head(head, _vit_features(cls_token=True), 32, lambda h: h.conv_seg.weight)
    assert head.reassemble_blocks.readout_projects[0][0].weight.grad is not None


def _head(**kw: Any) -> dict[str, Any]:
    return dict(channels=4, num_classes=NUM_CLASSES, norm_cfg=BN, **kw)


ENTRIES: dict[str, dict[str, Any]] = {
    "VisionTransformer": dict(
        kind="backbone",
        kwargs=dict(
            img_size=32,
            patch_size=8,
            embed_dims=8,
            num_layers=2,
            num_heads=2,
            out_indices=(0, 1),
            final_norm=True,
            pre_norm=True,
            drop_path_rate=0.1,
        ),  # fmt: skip
    ),
    # BEiT/MAE: inputs of the training size (their relative-bias window is fixed)
    "BEiT": dict(
        kind="backbone",
        kwargs=dict(
            img_size=32,
            patch_size=8,
            embed_dims=8,
            num_layers=2,
            num_heads=2,
            out_indices=(0, 1),
            final_norm=True,
            drop_path_rate=0.1,
        ),  # fmt: skip
    ),
    "MAE": dict(
        kind="backbone",
        kwargs=dict(img_size=32, patch_size=16, embed_dims=8, num_layers=1, num_heads=2),
    ),
    "Feature2Pyramid": dict(
        kind="neck",
        check=check_feature2pyramid,
        kwargs=dict(embed_dim=8, rescales=[4, 2, 1, 0.5], norm_cfg=BN),
    ),
    "MultiLevelNeck": dict(
        kind="neck",
        kwargs=dict(in_channels=[4, 8, 16, 32], out_channels=4, scales=[2, 1, 0.5, 1]),
        out_size=(32, 8, 2, 2),
    ),
    "MLANeck": dict(
        kind="neck", kwargs=dict(in_channels=[8] * 4, out_channels=4), check=check_mla_neck
    ),
    "SETRUPHead": dict(
        kind="head",
        kwargs=_head(in_channels=4, in_index=0, num_convs=2, up_scale=2, kernel_size=3),
        out_size=(64,),
    ),
    "SETRMLAHead": dict(
        kind="head",
        kwargs=_head(in_channels=[4, 8], in_index=[0, 1], mla_channels=2, up_scale=1),
        check=lambda head: _check_head(
            head,
            [torch.randn(2, 4, 8, 8), torch.randn(2, 8, 8, 8)],
            8,
            lambda h: h.conv_seg.weight,
        ),
    ),
    "SegmenterMaskTransformerHead": dict(
        kind="head",
        kwargs=dict(
            in_channels=8,
            channels=8,
            num_classes=NUM_CLASSES,
            num_layers=1,
            num_heads=2,
            embed_dims=8,
        ),  # fmt: skip
        check=check_segmenter_head,
    ),
    "DPTHead": dict(
        kind="head",
        kwargs=_head(
            in_channels=[8] * 4,
            in_index=[0, 1, 2, 3],
            input_transform="multiple_select",
            embed_dims=8,
            post_process_channels=[2, 4, 4, 8],
            readout_type="project",
            patch_size=8,
        ),  # fmt: skip
        check=check_dpt_head,
    ),
}
