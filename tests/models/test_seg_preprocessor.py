"""SegDataPreProcessor: channel swap, normalisation, padding with pad_val/seg_pad_val, metainfo."""

from __future__ import annotations

import pytest
import torch

from segwright.models.preprocessor import SegDataPreProcessor, pad_batch
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def image(h, w, value=None):
    if value is None:
        return torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
    return torch.full((3, h, w), value, dtype=torch.uint8)


def sample(h, w):
    return SegDataSample(gt_sem_seg=PixelData(torch.ones(1, h, w, dtype=torch.long)))


def test_bgr_to_rgb_and_normalisation_exact():
    pre = SegDataPreProcessor(mean=MEAN, std=STD, bgr_to_rgb=True)
    img = torch.stack([torch.full((2, 2), v, dtype=torch.uint8) for v in (10, 20, 30)])  # B, G, R
    out = pre(dict(inputs=[img], data_samples=[SegDataSample()]), training=False)["inputs"]
    expected = torch.tensor(
        [(30 - MEAN[0]) / STD[0], (20 - MEAN[1]) / STD[1], (10 - MEAN[2]) / STD[2]]
    )
    assert out.shape == (1, 3, 2, 2) and out.dtype == torch.float32
    assert torch.allclose(out[0, :, 0, 0], expected)
    plain = SegDataPreProcessor()(dict(inputs=[img]), training=False)["inputs"]
    assert torch.equal(plain[0], img.float())
    assert SegDataPreProcessor(mean=MEAN, std=STD).state_dict() == {}


def test_training_pads_to_size_with_pad_values():
    pre = MODELS.build(
        dict(
            type="SegDataPreProcessor",
            mean=[0, 0, 0],
            std=[1, 1, 1],
            size=(6, 8),
            pad_val=7,
            seg_pad_val=255,
        )
    )
    samples = [sample(4, 5), sample(6, 8)]
    out = pre(dict(inputs=[image(4, 5, 1), image(6, 8, 2)], data_samples=samples), training=True)
    batch = out["inputs"]
    assert batch.shape == (2, 3, 6, 8)
    assert torch.all(batch[0, :, :4, :5] == 1) and torch.all(batch[0, :, 4:, :] == 7)
    assert torch.all(batch[0, :, :, 5:] == 7) and torch.all(batch[1] == 2)
    label = out["data_samples"][0].gt_sem_seg.data
    assert (
        label.shape == (1, 6, 8)
        and torch.all(label[:, :4, :5] == 1)
        and torch.all(label[:, 4:] == 255)
    )
    meta = out["data_samples"][0].metainfo
    assert meta["img_shape"] == (4, 5) and meta["pad_shape"] == (6, 8)
    assert meta["padding_size"] == (0, 3, 0, 2)
    assert out["data_samples"][1].metainfo["padding_size"] == (0, 0, 0, 0)


def test_training_size_divisor_and_mixed_sizes():
    pre = SegDataPreProcessor(size_divisor=4)
    out = pre(
        dict(inputs=[image(5, 7), image(8, 3)], data_samples=[sample(5, 7), sample(8, 3)]),
        training=True,
    )
    assert out["inputs"].shape == (2, 3, 8, 8)
    assert out["data_samples"][1].metainfo["padding_size"] == (0, 5, 0, 0)
    divisible = pre(dict(inputs=[image(8, 8)], data_samples=[sample(8, 8)]), training=True)
    assert divisible["inputs"].shape == (1, 3, 8, 8)  # already a multiple: no extra block
    no_size = SegDataPreProcessor()(
        dict(inputs=[image(2, 3), image(3, 2)], data_samples=[sample(2, 3), sample(3, 2)]),
        training=True,
    )
    assert no_size["inputs"].shape == (2, 3, 3, 3)
    with pytest.raises(ConfigError, match="data_samples"):
        SegDataPreProcessor()(dict(inputs=[image(2, 2)]), training=True)


def test_inference_padding_recorded_and_same_size_required():
    pre = SegDataPreProcessor(test_cfg=dict(size_divisor=8), pad_val=0)
    samples = [SegDataSample(metainfo=dict(ori_shape=(5, 6)))]
    out = pre(dict(inputs=[image(5, 6)], data_samples=samples), training=False)
    assert out["inputs"].shape == (1, 3, 8, 8)
    assert out["data_samples"][0].metainfo["padding_size"] == (0, 2, 0, 3)
    assert SegDataPreProcessor()(dict(inputs=[image(5, 6)]), training=False)["inputs"].shape == (
        1,
        3,
        5,
        6,
    )
    with pytest.raises(ConfigError, match="same size"):
        SegDataPreProcessor()(dict(inputs=[image(5, 6), image(6, 5)]), training=False)


def test_padding_round_trip_through_segmentor():
    from segwright.models.heads import FCNHead
    from segwright.models.segmentors import EncoderDecoder

    class Identity(torch.nn.Module):
        def forward(self, x):
            return (x,)

    head = FCNHead(
        in_channels=3,
        channels=3,
        num_convs=0,
        concat_input=False,
        in_index=0,
        num_classes=3,
        dropout_ratio=0,
    )
    with torch.no_grad():
        head.conv_seg.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
        head.conv_seg.bias.zero_()
    model = EncoderDecoder(
        backbone=Identity(), decode_head=head,
        data_preprocessor=dict(type="SegDataPreProcessor", test_cfg=dict(size=(8, 8))),
    ).eval()  # fmt: skip
    img = image(5, 6)
    samples = [SegDataSample(metainfo=dict(ori_shape=(5, 6), img_shape=(5, 6)))]
    preds = model.test_step(dict(inputs=[img], data_samples=samples))
    assert torch.allclose(preds[0].seg_logits.data, img.float())
    assert torch.equal(preds[0].pred_sem_seg.data[0], img.float().argmax(0))


def test_pad_batch_and_config_errors():
    batch, paddings = pad_batch([torch.zeros(1, 2, 2)], size=(3, 5), pad_val=-1)
    assert batch.shape == (1, 1, 3, 5) and paddings == [(0, 3, 0, 1)] and batch[0, 0, 2, 4] == -1
    with pytest.raises(ConfigError, match="not both"):
        SegDataPreProcessor(bgr_to_rgb=True, rgb_to_bgr=True)
    with pytest.raises(ConfigError, match="std"):
        SegDataPreProcessor(mean=MEAN)
    with pytest.raises(ConfigError, match="size_divisor"):
        SegDataPreProcessor(size_divisor=0)
