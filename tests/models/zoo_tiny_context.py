"""Tiny sweep entries for the context-module families (sem_fpn, ann, apcnet, dmnet, encnet, ...).

Read by ``_zoo_entries()`` in ``test_registered_components.py``: heads get features with
channels (4, 8, 16, 32) at sizes (16, 8, 4, 2) of a 64x64 image.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

BN = dict(type="BN", requires_grad=True)
NUM_CLASSES = 3
BATCH = 2
FEAT_CHANNELS = (4, 8, 16, 32)
FEAT_SIZES = (16, 8, 4, 2)
ALL_LEVELS = dict(in_channels=list(FEAT_CHANNELS), in_index=[0, 1, 2, 3])


def head_kwargs(**kw: Any) -> dict[str, Any]:
    return dict(channels=4, num_classes=NUM_CLASSES, norm_cfg=BN, **kw)


def _features() -> tuple[torch.Tensor, ...]:
    torch.manual_seed(1)
    return tuple(torch.randn(BATCH, c, s, s) for c, s in zip(FEAT_CHANNELS, FEAT_SIZES))


def _samples(size: int = 64) -> list[Any]:
    from segwright.structures import PixelData, SegDataSample

    torch.manual_seed(2)
    samples = []
    for _ in range(BATCH):
        label = torch.randint(0, NUM_CLASSES - 1, (1, size, size))  # class 2 absent: SE target 0
        label[:, 0, :] = 255
        samples.append(
            SegDataSample(
                gt_sem_seg=PixelData(label),
                metainfo=dict(img_shape=(size, size), ori_shape=(size, size)),
            )
        )
    return samples


def check_enc_head(head: Any) -> None:
    """EncHead returns (seg, se) logits and logs ``loss_se`` next to ``loss_ce``."""
    feats = _features()
    seg, se = head(feats)
    assert seg.shape == (BATCH, NUM_CLASSES, 2, 2) and se.shape == (BATCH, NUM_CLASSES)
    metas = [dict(img_shape=(64, 64))] * BATCH
    assert head.predict(feats, metas, None).shape == (BATCH, NUM_CLASSES, 64, 64)
    losses = head.loss(feats, _samples(), None)
    assert set(losses) == {"loss_ce", "loss_se", "acc_seg"}
    assert all(torch.isfinite(v) for v in losses.values())
    onehot = head._convert_to_onehot_labels(torch.stack([s.gt_sem_seg.data for s in _samples()]), 3)
    assert onehot.tolist() == [[1, 1, 0]] * BATCH
    (losses["loss_ce"] + losses["loss_se"]).backward()
    assert head.se_layer.weight.grad is not None and head.conv_seg.weight.grad is not None
    assert head.enc_module.encoding[0].codewords.grad is not None
    check_enc_head_with_reverted_syncbn(head)


def check_enc_head_with_reverted_syncbn(head: Any) -> None:
    """A SyncBN EncHead reverted for one process (its 1-d norm becomes a BatchNorm2d) still runs
    and computes what the BN1d head computes."""
    from segwright.engine.dist import revert_sync_batchnorm
    from segwright.registry import MODELS

    kwargs = dict(ENTRIES["EncHead"]["kwargs"], norm_cfg=dict(type="SyncBN", requires_grad=True))
    synced = revert_sync_batchnorm(MODELS.build(dict(type="EncHead", **kwargs)))
    synced.load_state_dict(head.state_dict())
    head.train()
    synced.train()
    feats = _features()
    torch.manual_seed(5)
    expected = head(feats)
    torch.manual_seed(5)  # the same dropout draws
    got = synced(feats)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b)


def check_point_head(head: Any) -> None:
    """PointHead refines coarse logits at points: forward, training points and loss, predict."""
    feats = _features()
    torch.manual_seed(3)
    coarse = torch.randn(BATCH, NUM_CLASSES, 16, 16)
    points = torch.rand(BATCH, 7, 2)
    fine = head._get_fine_grained_point_feats(head._transform_inputs(feats), points)
    assert head(fine, head._get_coarse_point_feats(coarse, points)).shape == (BATCH, 3, 7)
    train_cfg = dict(num_points=20, oversample_ratio=3, importance_sample_ratio=0.75)
    losses = head.loss(feats, coarse, _samples(), train_cfg)
    assert set(losses) == {"pointloss_ce", "acc_point"} and torch.isfinite(losses["pointloss_ce"])
    losses["pointloss_ce"].backward()
    assert head.fc_seg.weight.grad is not None
    test_cfg = dict(mode="whole", subdivision_steps=2, subdivision_num_points=50, scale_factor=2)
    metas = [dict(img_shape=(64, 64))] * BATCH
    with torch.no_grad():
        out = head.predict(feats, coarse, metas, test_cfg)
    assert out.shape == (BATCH, NUM_CLASSES, 64, 64)
    with pytest.raises(ValueError, match="mode='predict'"):
        head(feats, coarse)  # a cascade's mode='tensor' call


ENTRIES: dict[str, dict[str, Any]] = {
    "FPNHead": dict(
        kind="head", kwargs=head_kwargs(feature_strides=[4, 8, 16, 32], **ALL_LEVELS),
        out_size=(16,),
    ),
    "ANNHead": dict(
        kind="head",
        kwargs=head_kwargs(
            in_channels=[16, 32], in_index=[2, 3], project_channels=4, key_pool_scales=(1, 2)
        ),
        out_size=(2,),
    ),
    "APCHead": dict(
        kind="head", kwargs=head_kwargs(in_channels=32, in_index=3, pool_scales=(1, 2)),
        out_size=(2,),
    ),
    "DMHead": dict(  # an even filter size takes the asymmetric padding path
        kind="head", kwargs=head_kwargs(in_channels=16, in_index=2, filter_sizes=(1, 2, 3)),
        out_size=(4,),
    ),
    "EncHead": dict(
        kind="head",
        kwargs=head_kwargs(
            in_channels=[8, 16, 32], in_index=[1, 2, 3], num_codes=4, add_lateral=True
        ),
        check=check_enc_head,
    ),
    "PSAHead": dict(  # 4x4 input, shrunk to 2x2: a 3x3 window covers the map
        kind="head", kwargs=head_kwargs(in_channels=16, in_index=2, mask_size=(3, 3)),
        out_size=(4,),
    ),
    "PointHead": dict(
        kind="head",
        kwargs=dict(channels=4, num_classes=NUM_CLASSES, in_channels=[4], in_index=[0], num_fcs=2),
        check=check_point_head,
    ),
}  # fmt: skip
