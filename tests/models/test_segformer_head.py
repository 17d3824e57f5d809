"""SegformerHead: MMSeg keys, forward math, and a tiny SegFormer (MiT + head) that trains."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from segwright.engine.model import BaseModel
from segwright.models.heads import SegformerHead
from segwright.models.segmentors import EncoderDecoder
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

SYNC_BN = dict(type="SyncBN", requires_grad=True)


def test_segformer_b0_head_keys():
    # The decode head of MMSeg's configs/_base_/models/segformer_mit-b0.py.
    head = MODELS.build(
        dict(
            type="SegformerHead", in_channels=[32, 64, 160, 256], in_index=[0, 1, 2, 3],
            channels=256, dropout_ratio=0.1, num_classes=19, norm_cfg=SYNC_BN,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
        )
    )  # fmt: skip
    keys = set(head.state_dict())
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    assert len(keys) == 5 * 6 + 2
    assert {"conv_seg.weight", "conv_seg.bias", "fusion_conv.conv.weight"} <= keys
    assert {f"convs.{i}.bn.{n}" for i in range(4) for n in bn} <= keys
    assert head.convs[2].conv.weight.shape == (256, 160, 1, 1)
    assert head.fusion_conv.conv.weight.shape == (256, 1024, 1, 1)
    assert head.conv_seg.weight.shape == (19, 256, 1, 1)
    assert head.input_transform == "multiple_select"


def test_forward_resizes_to_first_level_and_fuses():
    torch.manual_seed(0)
    head = SegformerHead(
        in_channels=[2, 3], in_index=[0, 1], channels=4, num_classes=3, dropout_ratio=0.0,
        act_cfg=None, norm_cfg=None,
    ).eval()  # fmt: skip
    # float64: the head and the hand-made formula may sum in different orders (oneDNN vs
    # ATen kernels); in float64 that differs by ~1e-15 of the O(1) logits, far below 1e-12.
    head.double()
    feats = [torch.randn(1, 2, 8, 8), torch.randn(1, 3, 4, 4), torch.randn(1, 5, 2, 2)]
    feats = [f.double() for f in feats]
    with torch.no_grad():
        out = head(feats)
        a = head.convs[0](feats[0])
        b = F.interpolate(head.convs[1](feats[1]), size=(8, 8), mode="bilinear")
        fused = F.relu(head.fusion_conv.conv(torch.cat([a, b], 1)))  # fusion: ReLU always
        expected = head.conv_seg(fused)
    tol = 1e-12 * float(expected.abs().max())
    assert out.shape == (1, 3, 8, 8) and torch.allclose(out, expected, rtol=1e-12, atol=tol)
    with pytest.raises(ConfigError, match="multiple_select"):
        SegformerHead(in_channels=[2], in_index=[0], channels=4, num_classes=3,
                      input_transform="resize_concat")  # fmt: skip
    with pytest.raises(ConfigError, match="same length"):
        SegformerHead(in_channels=[2, 3], in_index=[0], channels=4, num_classes=3)


def tiny_segformer():
    torch.manual_seed(0)
    return EncoderDecoder(
        backbone=dict(
            type="MixVisionTransformer", embed_dims=4, num_layers=[1, 1, 1, 1],
            num_heads=[1, 2, 5, 8], drop_path_rate=0.1,
        ),
        decode_head=dict(
            type="SegformerHead", in_channels=[4, 8, 20, 32], in_index=[0, 1, 2, 3],
            channels=8, num_classes=3, norm_cfg=SYNC_BN, align_corners=False,
        ),
        data_preprocessor=dict(type="SegDataPreProcessor", size=(64, 64)),
        test_cfg=dict(mode="whole"),
    )  # fmt: skip


def samples(batch=2, size=64):
    torch.manual_seed(1)
    return [
        SegDataSample(
            gt_sem_seg=PixelData(torch.randint(0, 3, (1, size, size))),
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size)),
        )
        for _ in range(batch)
    ]


def test_tiny_segformer_loss_and_predict():
    model = tiny_segformer()
    model.init_weights()
    assert model.backbone.out_channels == (4, 8, 20, 32)
    model.train()
    losses = model(torch.randn(2, 3, 64, 64), samples(), mode="loss")
    assert set(losses) == {"decode.loss_ce", "decode.acc_seg"}
    total, _ = BaseModel.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert model.backbone.layers[0][1][0].attn.attn.in_proj_weight.grad is not None
    assert model.decode_head.fusion_conv.conv.weight.grad is not None

    model.eval()
    with torch.no_grad():
        raw = model(torch.randn(2, 3, 64, 64), mode="tensor")
        assert raw.shape == (2, 3, 16, 16)  # 1/4 of the input
        preds = model(torch.randn(2, 3, 64, 64), samples(), mode="predict")
    assert preds[0].seg_logits.data.shape == (3, 64, 64)
    assert preds[1].pred_sem_seg.data.shape == (1, 64, 64)
