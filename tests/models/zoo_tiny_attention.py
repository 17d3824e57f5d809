"""Tiny sweep entries of the attention heads (NL, GC, DNL, DA, CC, EMA, ISA).

Read by ``_zoo_entries()`` in ``test_registered_components.py``: features of channels
(4, 8, 16, 32) at sizes (16, 8, 4, 2); heads read level 0 (16x16) so attention has positions
to attend over.
"""

from __future__ import annotations

from typing import Any

import torch

from segwright.structures import PixelData, SegDataSample

BN = dict(type="BN", requires_grad=True)
NUM_CLASSES = 3  # the sweep's


def _head(**kw: Any) -> dict[str, Any]:
    return dict(in_channels=4, in_index=0, channels=4, num_classes=NUM_CLASSES, norm_cfg=BN, **kw)


def _features() -> tuple[torch.Tensor, ...]:
    torch.manual_seed(1)
    return tuple(torch.randn(2, c, s, s) for c, s in zip((4, 8, 16, 32), (16, 8, 4, 2)))


def _samples(size: int = 64) -> list[SegDataSample]:
    torch.manual_seed(2)
    labels = torch.randint(0, NUM_CLASSES, (2, 1, size, size))
    labels[:, :, 0] = 255
    meta = dict(img_shape=(size, size), ori_shape=(size, size))
    return [SegDataSample(gt_sem_seg=PixelData(label), metainfo=meta) for label in labels]


def check_da_head(head: Any) -> None:
    """DAHead: three logits in ``forward``, three prefixed loss groups, fused prediction."""
    feats = _features()
    outs = head(feats)
    assert [tuple(o.shape) for o in outs] == [(2, NUM_CLASSES, 16, 16)] * 3
    losses = head.loss(feats, _samples(), None)
    expected = {f"{b}.{k}" for b in ("pam_cam", "pam", "cam") for k in ("loss_ce", "acc_seg")}
    assert set(losses) == expected
    sum(v for k, v in losses.items() if "loss" in k).backward()
    for conv in (head.conv_seg, head.pam_conv_seg, head.cam_conv_seg):
        assert conv.weight.grad is not None
    assert head.pam.gamma.scale.grad is not None and head.cam.gamma.scale.grad is not None
    metas = [dict(img_shape=(64, 64), ori_shape=(64, 64))] * 2
    assert tuple(head.predict(feats, metas, None).shape) == (2, NUM_CLASSES, 64, 64)


ENTRIES: dict[str, dict[str, Any]] = {
    "NLHead": dict(kind="head", kwargs=_head(), out_size=(16,)),
    "GCHead": dict(kind="head", kwargs=_head(ratio=0.5), out_size=(16,)),
    "DNLHead": dict(kind="head", kwargs=_head(), out_size=(16,)),
    "DAHead": dict(kind="head", kwargs=_head(pam_channels=2), check=check_da_head),
    # criss-cross attention embeds at channels // 8: 8 is the least width that works
    "CCHead": dict(kind="head", kwargs={**_head(), "channels": 8}, out_size=(16,)),
    "EMAHead": dict(
        kind="head", kwargs=_head(ema_channels=4, num_bases=3, num_stages=2), out_size=(16,)
    ),
    # 16x16 in groups of 3x5: padded to 18x20, so the pad and crop paths run too
    "ISAHead": dict(kind="head", kwargs=_head(isa_channels=2, down_factor=(3, 5)), out_size=(16,)),
}
