"""Tiny sweep entries of HRNet, OCRNet, FastFCN and ResNeSt parts.

Read by ``_zoo_entries()`` in ``test_registered_components.py``: backbones get a 2x3x32x32
image; heads get features of channels (4, 8, 16, 32) at sizes (16, 8, 4, 2).
"""

from __future__ import annotations

from typing import Any

import torch

from segwright.structures import PixelData, SegDataSample

BN = dict(type="BN", requires_grad=True)
NUM_CLASSES = 3  # the sweep's


def _stage(branches: int, block: str = "BASIC", modules: int = 1) -> dict[str, Any]:
    return dict(
        num_modules=modules, num_branches=branches, block=block, num_blocks=(1,) * branches,
        num_channels=(2, 3, 4, 5)[:branches],
    )  # fmt: skip


TINY_HRNET = dict(
    extra=dict(
        stage1=_stage(1, "BOTTLENECK"), stage2=_stage(2), stage3=_stage(3), stage4=_stage(4, modules=2)
    ),
    norm_cfg=BN,
)  # fmt: skip


def _features() -> tuple[torch.Tensor, ...]:
    torch.manual_seed(1)
    return tuple(torch.randn(2, c, s, s) for c, s in zip((4, 8, 16, 32), (16, 8, 4, 2)))


def _samples(size: int = 64) -> list[SegDataSample]:
    torch.manual_seed(2)
    labels = torch.randint(0, NUM_CLASSES, (2, 1, size, size))
    labels[:, :, 0] = 255
    meta = dict(img_shape=(size, size), ori_shape=(size, size))
    return [SegDataSample(gt_sem_seg=PixelData(label), metainfo=meta) for label in labels]


def check_ocr_head(head: Any) -> None:
    """OCRHead: a cascade stage, so every call also takes the previous stage's logits."""
    feats = _features()
    prev = torch.randn(2, NUM_CLASSES, 16, 16)
    assert tuple(head(feats, prev).shape) == (2, NUM_CLASSES, 16, 16)
    losses = head.loss(feats, prev, _samples(), None)
    assert set(losses) == {"loss_ce", "acc_seg"} and torch.isfinite(losses["loss_ce"])
    losses["loss_ce"].backward()
    assert head.conv_seg.weight.grad is not None
    assert head.object_context_block.key_project[0].conv.weight.grad is not None
    metas = [dict(img_shape=(64, 64), ori_shape=(64, 64))] * 2
    assert tuple(head.predict(feats, prev, metas, None).shape) == (2, NUM_CLASSES, 64, 64)


def check_jpu(neck: Any) -> None:
    """JPU on levels 1-3: level 1 and 2 pass through, the JPU map comes at level 1's size."""
    feats = _features()
    outs = neck(feats[1:])
    assert [tuple(o.shape) for o in outs] == [(2, 8, 8, 8), (2, 16, 4, 4), (2, 6, 8, 8)]
    assert neck.out_channels == (8, 16, 6)
    assert outs[0] is feats[1] and outs[1] is feats[2]
    outs[-1].mean().backward()
    assert neck.conv_layers[2][0].conv.weight.grad is not None


ENTRIES: dict[str, dict[str, Any]] = {
    "HRNet": dict(kind="backbone", kwargs=TINY_HRNET),
    # stride on the 3x3 (avd_layer) in stage 2, dilation in stage 3, groups and radix 2
    "ResNeSt": dict(
        kind="backbone",
        kwargs=dict(
            depth=50,
            stem_channels=8,
            base_channels=2,
            num_stages=3,
            strides=(1, 2, 1),
            dilations=(1, 1, 2),
            out_indices=(0, 1, 2),
            groups=2,
            base_width=4,
            norm_cfg=BN,
        ),
    ),  # fmt: skip
    "JPU": dict(
        kind="neck",
        kwargs=dict(in_channels=(8, 16, 32), mid_channels=2, dilations=(1, 2, 4), norm_cfg=BN),
        check=check_jpu,
    ),
    "OCRHead": dict(
        kind="head",
        kwargs=dict(
            in_channels=[4, 8],
            in_index=[0, 1],
            input_transform="resize_concat",
            channels=4,
            ocr_channels=2,
            num_classes=NUM_CLASSES,
            norm_cfg=BN,
        ),
        check=check_ocr_head,
    ),  # fmt: skip
}
