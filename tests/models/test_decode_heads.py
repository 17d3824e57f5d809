"""Decode heads: MMSeg keys, output shapes, input transforms, binary rules, losses."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from segwright.models.heads import (
    ASPPHead,
    DepthwiseSeparableASPPHead,
    FCNHead,
    PSPHead,
    UPerHead,
)
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

BN = dict(type="BN")
CHANNELS = [4, 8, 12, 16]


def feats(batch=2):
    torch.manual_seed(0)
    sizes = [16, 8, 8, 8]
    return tuple(torch.randn(batch, c, s, s) for c, s in zip(CHANNELS, sizes))


def samples(batch=2, size=32, num_classes=3):
    torch.manual_seed(1)
    out = []
    for _ in range(batch):
        label = torch.randint(0, num_classes, (1, size, size))
        label[0, :2] = 255
        out.append(SegDataSample(gt_sem_seg=PixelData(label)))
    return out


def test_psp_head_keys_and_shape():
    head = PSPHead(in_channels=16, channels=4, num_classes=3, norm_cfg=BN)
    keys = set(head.state_dict())
    assert {
        "conv_seg.weight",
        "conv_seg.bias",
        "bottleneck.conv.weight",
        "bottleneck.bn.running_var",
    } <= keys
    assert {f"psp_modules.{i}.1.conv.weight" for i in range(4)} <= keys
    assert "psp_modules.3.1.bn.num_batches_tracked" in keys
    assert len(keys) == 2 + 4 * 6 + 6
    assert head.bottleneck.conv.in_channels == 16 + 4 * 4
    assert head(feats()).shape == (2, 3, 8, 8)


def test_aspp_heads_keys_and_shape():
    aspp = ASPPHead(in_channels=16, channels=4, num_classes=3, dilations=(1, 2, 3), norm_cfg=BN)
    keys = set(aspp.state_dict())
    assert {
        "image_pool.1.conv.weight",
        "aspp_modules.0.conv.weight",
        "bottleneck.bn.weight",
    } <= keys
    assert aspp.aspp_modules[0].conv.kernel_size == (1, 1)
    assert aspp.aspp_modules[2].conv.dilation == (3, 3) and aspp.aspp_modules[2].conv.padding == (
        3,
        3,
    )
    assert aspp(feats()).shape == (2, 3, 8, 8)

    sep = DepthwiseSeparableASPPHead(
        in_channels=16, channels=4, c1_in_channels=4, c1_channels=2, num_classes=3,
        dilations=(1, 2, 3), norm_cfg=BN,
    )  # fmt: skip
    keys = set(sep.state_dict())
    assert {
        "c1_bottleneck.conv.weight",
        "aspp_modules.0.conv.weight",
        "aspp_modules.1.depthwise_conv.conv.weight",
        "aspp_modules.1.pointwise_conv.bn.weight",
        "sep_bottleneck.0.depthwise_conv.conv.weight",
        "sep_bottleneck.1.pointwise_conv.bn.running_mean",
    } <= keys
    assert sep.sep_bottleneck[0].depthwise_conv.conv.in_channels == 6
    assert sep(feats()).shape == (2, 3, 16, 16)  # at the size of inputs[0]


def test_fcn_head_variants():
    head = FCNHead(in_channels=16, channels=4, num_convs=2, num_classes=3, norm_cfg=BN)
    keys = set(head.state_dict())
    assert {"convs.0.conv.weight", "convs.1.bn.weight", "conv_cat.conv.weight"} <= keys
    assert head(feats()).shape == (2, 3, 8, 8)
    aux = FCNHead(
        in_channels=12, in_index=2, channels=4, num_convs=1, concat_input=False, num_classes=3
    )
    assert not hasattr(aux, "conv_cat") and aux(feats()).shape == (2, 3, 8, 8)
    ident = FCNHead(in_channels=16, channels=16, num_convs=0, concat_input=False, num_classes=3)
    assert isinstance(ident.convs, nn.Identity)
    with pytest.raises(ConfigError, match="num_convs=0"):
        FCNHead(in_channels=16, channels=4, num_convs=0, num_classes=3)
    dil = FCNHead(in_channels=16, channels=4, dilation=2, num_classes=3)
    assert dil.convs[0].conv.padding == (2, 2)


def test_uper_head_keys_and_shape():
    head = UPerHead(
        in_channels=CHANNELS, in_index=[0, 1, 2, 3], channels=4, num_classes=3, norm_cfg=BN
    )
    keys = set(head.state_dict())
    assert {
        "psp_modules.0.1.conv.weight",
        "bottleneck.conv.weight",
        "lateral_convs.2.conv.weight",
        "fpn_convs.2.bn.weight",
        "fpn_bottleneck.conv.weight",
    } <= keys
    assert "lateral_convs.3.conv.weight" not in keys
    assert head.fpn_bottleneck.conv.in_channels == 16
    assert head(feats()).shape == (2, 3, 16, 16)
    with pytest.raises(ConfigError, match="multiple_select"):
        UPerHead(
            in_channels=CHANNELS,
            in_index=[0, 1, 2, 3],
            channels=4,
            num_classes=3,
            input_transform="resize_concat",
        )


def test_input_transforms():
    head = FCNHead(
        in_channels=[4, 8], in_index=[0, 1], input_transform="resize_concat", channels=4,
        num_classes=3,
    )  # fmt: skip
    assert head.in_channels == 12
    assert head(feats()).shape == (2, 3, 16, 16)
    with pytest.raises(ConfigError, match="must be ints"):
        FCNHead(in_channels=[4, 8], in_index=[0, 1], channels=4, num_classes=3)
    with pytest.raises(ConfigError, match="same length"):
        FCNHead(
            in_channels=[4, 8],
            in_index=[0],
            input_transform="multiple_select",
            channels=4,
            num_classes=3,
        )
    with pytest.raises(ConfigError, match="input_transform"):
        FCNHead(in_channels=4, channels=4, num_classes=3, input_transform="concat")


def test_binary_rules():
    with pytest.raises(ConfigError, match="num_classes=2, out_channels=1"):
        FCNHead(in_channels=16, channels=4, num_classes=1)
    with pytest.raises(ConfigError, match="out_channels must equal num_classes"):
        FCNHead(in_channels=16, channels=4, num_classes=3, out_channels=2)
    with pytest.warns(UserWarning, match="0.3"):
        head = FCNHead(
            in_channels=16, channels=4, num_classes=2, out_channels=1,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=True),
        )  # fmt: skip
    assert head.threshold == 0.3 and head.conv_seg.out_channels == 1
    with pytest.warns(UserWarning, match="out_channels=1"):
        FCNHead(in_channels=16, channels=4, num_classes=2)


def test_binary_head_acc_seg_scores_the_thresholded_prediction():
    # MMSeg 1.2.2 runs accuracy() on the 1-channel logits, whose top-1 is always class 0: it
    # logs the share of label-0 pixels (here 2 of 6 = 33 %). Ours scores sigmoid > threshold.
    head = FCNHead(
        in_channels=16, channels=4, num_classes=2, out_channels=1, threshold=0.5,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=True),
    )  # fmt: skip
    logits = torch.tensor([[[[2.0, -2.0, 0.1, -0.1], [3.0, -3.0, -0.5, 5.0]]]])  # (1, 1, 2, 4)
    label = torch.tensor([[[1, 0, 1, 255], [1, 1, 0, 255]]])
    data = [SegDataSample(gt_sem_seg=PixelData(label))]
    # predicted 1 0 1 (0) / 1 0 0 (1): right at 5 of the 6 non-ignored pixels
    acc = head.loss_by_feat(logits, data)["acc_seg"]
    eps = torch.finfo(torch.float32).eps
    assert acc.shape == (1,)
    assert acc.item() == pytest.approx((5 + eps) * 100 / (6 + eps), rel=1e-6)
    head.threshold = 0.3  # sigmoid(-0.5) = 0.38 now counts as 1: that pixel turns wrong
    acc = head.loss_by_feat(logits, data)["acc_seg"]
    assert acc.item() == pytest.approx((4 + eps) * 100 / (6 + eps), rel=1e-6)


def test_loss_by_feat_sums_same_names_and_adds_accuracy():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 8, 8)
    data = samples()
    ce = dict(type="CrossEntropyLoss", loss_weight=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = FCNHead(in_channels=16, channels=4, num_classes=3, loss_decode=ce)
        double = FCNHead(in_channels=16, channels=4, num_classes=3, loss_decode=[ce, ce])
        mixed = FCNHead(
            in_channels=16, channels=4, num_classes=3,
            loss_decode=[ce, dict(type="DiceLoss", loss_name="loss_dice")],
        )  # fmt: skip
    one = single.loss_by_feat(logits, data)
    two = double.loss_by_feat(logits, data)
    assert set(one) == {"loss_ce", "acc_seg"}
    assert torch.allclose(two["loss_ce"], 2 * one["loss_ce"])
    assert set(mixed.loss_by_feat(logits, data)) == {"loss_ce", "loss_dice", "acc_seg"}

    # Expected CE by hand: logits resized to the 32x32 labels, sum over valid / all pixels.
    # In float64, as the head and this formula may sum the 2048 positive terms in different
    # orders: that moves the mean by <= 2048 * 1.1e-16 of it, inside rtol 1e-12.
    logits = logits.double()
    one = single.loss_by_feat(logits, data)
    up = nn.functional.interpolate(logits, size=(32, 32), mode="bilinear", align_corners=False)
    labels = torch.stack([s.gt_sem_seg.data[0] for s in data])
    per_pixel = nn.functional.cross_entropy(up, labels, ignore_index=255, reduction="none")
    eps = torch.finfo(torch.float32).eps  # MMSeg's mean: sum / (count + eps), in any dtype
    expected = per_pixel.sum() / (labels.numel() + eps)
    assert torch.allclose(one["loss_ce"], expected, rtol=1e-12, atol=0)
    # The head resizes with the same op, so its argmax is this one; both sides are then a
    # count over a total rounded to float32 (a few ulps apart): rtol 1e-6 is ~8 ulps.
    valid = labels != 255
    acc = (up.argmax(1) == labels)[valid].float().mean() * 100
    assert torch.allclose(one["acc_seg"].squeeze(), acc, rtol=1e-6, atol=0)


def test_sampler_is_built_with_context_and_missing_gt():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        head = FCNHead(
            in_channels=16, channels=4, num_classes=3,
            sampler=dict(type="OHEMPixelSampler", thresh=0.7, min_kept=10),
        )  # fmt: skip
    assert head.sampler.context is head
    losses = head.loss(feats(), samples())
    assert losses["loss_ce"].ndim == 0 and losses["loss_ce"] > 0
    with pytest.raises(ValueError, match="gt_sem_seg"):
        head.loss(feats(), [SegDataSample(), SegDataSample()])


def test_conv_seg_init_and_registry_build():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        head = MODELS.build(
            dict(type="PSPHead", in_channels=2048, channels=512, num_classes=19), key="decode_head"
        )
    head.init_weights()
    assert torch.all(head.conv_seg.bias == 0)
    assert 0.008 < head.conv_seg.weight.std().item() < 0.012
    with pytest.raises(ConfigError, match="loss_decode"):
        FCNHead(in_channels=16, channels=4, num_classes=3, loss_decode="CrossEntropyLoss")


def test_predict_by_feat_resizes_to_meta_size():
    head = FCNHead(in_channels=16, channels=4, num_classes=3)
    logits = torch.randn(1, 3, 4, 4)
    assert head.predict_by_feat(logits, [dict(img_shape=(10, 12))]).shape == (1, 3, 10, 12)
    assert (
        head.predict_by_feat(logits, [dict(img_shape=(10, 12), pad_shape=(16, 16))]).shape[-1] == 16
    )
    assert (
        head.predict_by_feat(
            logits, [dict(img_shape=torch.Size((6, 6)), pad_shape=(16, 16))]
        ).shape[-1]
        == 6
    )


def test_a_loss_name_without_loss_warns_that_it_is_not_trained_on():
    import pytest

    from segwright.models.heads import FCNHead

    with pytest.warns(UserWarning, match=r"loss_name='dice'.*left out of the total loss"):
        FCNHead(
            in_channels=4,
            channels=4,
            num_convs=1,
            num_classes=3,
            loss_decode=[dict(type="CrossEntropyLoss"), dict(type="DiceLoss", loss_name="dice")],
        )
