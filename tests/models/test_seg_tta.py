"""SegTTAModel: one identity view equals plain prediction; flips average softmax by hand."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads import FCNHead
from segwright.models.segmentors import EncoderDecoder, SegTTAModel
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError

pytestmark = [
    pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore"),
    pytest.mark.filterwarnings("ignore:For binary segmentation"),
]


class TinyBackbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, stride=2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        return (self.conv(x),)


def tiny_segmentor(num_classes: int = 3) -> EncoderDecoder:
    torch.manual_seed(0)
    head = FCNHead(
        in_channels=4, channels=4, num_convs=1, concat_input=False, in_index=0,
        num_classes=num_classes, dropout_ratio=0.0,
    )  # fmt: skip
    model = EncoderDecoder(backbone=TinyBackbone(), decode_head=head)
    nn.init.normal_(model.decode_head.conv_seg.weight, std=1.0)  # non-trivial logits
    return model.eval()


def image(seed: int = 1, size: tuple[int, int] = (10, 14)) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randint(0, 256, (3, *size), dtype=torch.uint8)


def sample(flip: bool = False, size: tuple[int, int] = (10, 14)) -> SegDataSample:
    meta = dict(ori_shape=size, img_shape=size, flip=flip, img_path="a.png")
    if flip:
        meta["flip_direction"] = "horizontal"
    gt = PixelData(torch.zeros(1, *size, dtype=torch.long))
    return SegDataSample(gt_sem_seg=gt, metainfo=meta)


@torch.no_grad()
def test_single_identity_view_equals_plain_prediction():
    model = tiny_segmentor()
    img = image()
    plain = model.test_step(dict(inputs=[img], data_samples=[sample()]))[0]
    tta = SegTTAModel(module=model)
    merged = tta.test_step(dict(inputs=[[img]], data_samples=[[sample()]]))
    assert len(merged) == 1
    assert torch.equal(merged[0].pred_sem_seg.data, plain.pred_sem_seg.data)
    assert torch.allclose(merged[0].seg_logits.data, plain.seg_logits.data.softmax(0))
    assert merged[0].gt_sem_seg is not None and merged[0].metainfo["img_path"] == "a.png"


@torch.no_grad()
def test_flip_views_average_softmax_probabilities():
    model = tiny_segmentor()
    img = image()
    flipped = img.flip(-1)
    meta = [dict(ori_shape=(10, 14), img_shape=(10, 14))] * 2
    # SegTTAModel predicts same-size views in one batch. A batch of two may round differently
    # from two batches of one (the conv kernels split work by batch), so the expectation uses
    # the same batch; undoing the flip, softmax and the mean of two are then the same float32
    # operations on the same values, which leaves at most a few ulps: rtol 1e-6 (~8 ulps).
    logits = model.encode_decode(torch.stack([img, flipped]).float(), meta)
    logits_a, logits_b = logits[0], logits[1].flip(-1)
    expected = (logits_a.softmax(0) + logits_b.softmax(0)) / 2
    assert not torch.allclose(logits_a, logits_b)  # the flip view really differs
    tta = SegTTAModel(module=model)
    batch = dict(inputs=[[img, flipped]], data_samples=[[sample(), sample(flip=True)]])
    merged = tta.test_step(batch)[0]
    assert torch.allclose(merged.seg_logits.data, expected, rtol=1e-6, atol=0)
    assert torch.equal(merged.pred_sem_seg.data, expected.argmax(0, keepdim=True))
    assert merged.metainfo["flip"] is False


@torch.no_grad()
def test_scales_are_resized_back_and_samples_stay_apart():
    model = tiny_segmentor()
    img0, img1 = image(1), image(2)
    small = F.interpolate(img1[None].float(), size=(6, 8), mode="bilinear")[0]
    small_sample = sample()
    small_sample.set_metainfo(dict(img_shape=(6, 8)))
    batch = dict(
        inputs=[[img0], [img1, small]], data_samples=[[sample()], [sample(), small_sample]]
    )
    merged = SegTTAModel(module=model).test_step(batch)
    assert [m.pred_sem_seg.data.shape for m in merged] == [(1, 10, 14), (1, 10, 14)]
    one = model.test_step(dict(inputs=[img1], data_samples=[sample()]))[0].seg_logits.data
    two = model.test_step(dict(inputs=[small], data_samples=[small_sample]))[0].seg_logits.data
    assert torch.allclose(merged[1].seg_logits.data, (one.softmax(0) + two.softmax(0)) / 2)


@torch.no_grad()
def test_one_channel_averages_sigmoid_then_thresholds():
    torch.manual_seed(0)
    head = FCNHead(
        in_channels=4, channels=4, num_convs=1, concat_input=False, in_index=0,
        num_classes=2, out_channels=1, threshold=0.5, dropout_ratio=0.0,
    )  # fmt: skip
    model = EncoderDecoder(backbone=TinyBackbone(), decode_head=head).eval()
    nn.init.normal_(model.decode_head.conv_seg.weight, std=1.0)
    img = image()
    meta = [dict(ori_shape=(10, 14), img_shape=(10, 14))] * 2
    # One batch of both views, as SegTTAModel predicts them (see the softmax test above).
    logits = model.encode_decode(torch.stack([img, img.flip(-1)]).float(), meta)
    prob_a, prob_b = logits[0].sigmoid(), logits[1].flip(-1).sigmoid()
    expected = (prob_a + prob_b) / 2
    batch = dict(inputs=[[img, img.flip(-1)]], data_samples=[[sample(), sample(flip=True)]])
    merged = SegTTAModel(module=model).test_step(batch)[0]
    assert torch.allclose(merged.seg_logits.data, expected, rtol=1e-6, atol=0)
    assert torch.equal(merged.pred_sem_seg.data, (expected > 0.5).long())


def test_built_from_config_passes_the_data_preprocessor_and_checks_batches():
    module = dict(
        type="EncoderDecoder",
        backbone=dict(type="UNet", in_channels=3, base_channels=4, num_stages=2,
                      strides=(1, 1), enc_num_convs=(1, 1), dec_num_convs=(1,),
                      downsamples=(True,), enc_dilations=(1, 1), dec_dilations=(1,)),
        decode_head=dict(type="FCNHead", in_channels=4, channels=4, num_convs=1,
                         in_index=-1, num_classes=2),
    )  # fmt: skip
    pre = dict(type="SegDataPreProcessor", mean=[0, 0, 0], std=[1, 1, 1])
    tta = MODELS.build(dict(type="SegTTAModel", module=module, data_preprocessor=pre))
    assert type(tta.module.data_preprocessor).__name__ == "SegDataPreProcessor"
    with pytest.raises(ConfigError, match="one data_samples entry per input"):
        tta.test_step(dict(inputs=[[image()]]))
    with pytest.raises(ConfigError, match="2 views but 1 data samples"):
        tta.test_step(dict(inputs=[[image(), image()]], data_samples=[[copy.copy(sample())]]))
