"""EncoderDecoder: MMSeg keys, loss names and totals, whole/slide inference, postprocessing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segwright.engine.model import BaseModel
from segwright.models.heads import BaseDecodeHead, FCNHead
from segwright.models.segmentors import CascadeEncoderDecoder, EncoderDecoder
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError

pytestmark = [
    pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore"),
    pytest.mark.filterwarnings(r"ignore:ResNet\w* pretrained= is deprecated"),
]

SYNC_BN = dict(type="SyncBN", requires_grad=True)
TINY_BACKBONE = dict(
    type="ResNetV1c", depth=18, stem_channels=8, base_channels=4, strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4), contract_dilation=True, norm_cfg=SYNC_BN,
)  # fmt: skip


def head_cfg(kind="PSPHead", in_channels=32, in_index=3, **kw):
    extra = dict(pool_scales=(1, 2)) if kind == "PSPHead" else dict(num_convs=1, concat_input=False)
    return dict(
        type=kind, in_channels=in_channels, in_index=in_index, channels=4, num_classes=3,
        norm_cfg=SYNC_BN, **extra, **kw,
    )  # fmt: skip


def tiny_model(**kw):
    torch.manual_seed(0)
    cfg = dict(
        backbone=TINY_BACKBONE,
        decode_head=head_cfg(),
        auxiliary_head=head_cfg("FCNHead", in_channels=16, in_index=2),
        test_cfg=dict(mode="whole"),
    )
    cfg.update(kw)
    return EncoderDecoder(**cfg)


def labelled(batch=2, size=32):
    torch.manual_seed(2)
    return [
        SegDataSample(
            gt_sem_seg=PixelData(torch.randint(0, 3, (1, size, size))),
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size)),
        )
        for _ in range(batch)
    ]


def test_pspnet_r50_d8_state_dict_keys():
    cfg = dict(
        type="EncoderDecoder",
        data_preprocessor=dict(
            type="SegDataPreProcessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True, size=(512, 1024),
        ),
        backbone=dict(
            type="ResNetV1c", depth=50, num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1), norm_cfg=SYNC_BN, norm_eval=False, style="pytorch",
            contract_dilation=True,
        ),
        decode_head=dict(
            type="PSPHead", in_channels=2048, in_index=3, channels=512, pool_scales=(1, 2, 3, 6),
            dropout_ratio=0.1, num_classes=19, norm_cfg=SYNC_BN, align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
        ),
        auxiliary_head=dict(
            type="FCNHead", in_channels=1024, in_index=2, channels=256, num_convs=1,
            concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=SYNC_BN,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=0.4),
        ),
        train_cfg=dict(),
        test_cfg=dict(mode="whole"),
    )  # fmt: skip
    model = MODELS.build(cfg)
    keys = set(model.state_dict())
    assert len([k for k in keys if k.startswith("backbone.")]) == 330
    assert len([k for k in keys if k.startswith("decode_head.")]) == 32
    assert len([k for k in keys if k.startswith("auxiliary_head.")]) == 8
    assert len(keys) == 370  # the preprocessor's mean/std are not saved
    assert {
        "backbone.stem.0.weight",
        "backbone.layer4.2.bn3.num_batches_tracked",
        "decode_head.conv_seg.weight",
        "decode_head.psp_modules.3.1.conv.weight",
        "decode_head.bottleneck.bn.running_mean",
        "auxiliary_head.convs.0.conv.weight",
        "auxiliary_head.conv_seg.bias",
    } <= keys
    assert isinstance(model.backbone.layer1[0].bn1, nn.SyncBatchNorm)
    assert model.decode_head.bottleneck.conv.weight.shape == (512, 2048 + 4 * 512, 3, 3)


def test_loss_names_and_total():
    model = tiny_model()
    model.train()
    losses = model(torch.randn(2, 3, 32, 32), labelled(), mode="loss")
    assert set(losses) == {"decode.loss_ce", "decode.acc_seg", "aux.loss_ce", "aux.acc_seg"}
    total, log_vars = BaseModel.parse_losses(losses)
    assert torch.allclose(total, losses["decode.loss_ce"] + losses["aux.loss_ce"])
    assert set(log_vars) == {"loss", *losses}
    total.backward()
    assert model.backbone.layer1[0].conv1.weight.grad is not None


def test_aux_list_naming_and_loss_step():
    model = tiny_model(
        auxiliary_head=[
            head_cfg("FCNHead", in_channels=16, in_index=2),
            head_cfg(
                "FCNHead",
                in_channels=8,
                in_index=1,
                loss_decode=dict(type="CrossEntropyLoss", loss_name="loss_x"),
            ),
        ],
        data_preprocessor=dict(type="SegDataPreProcessor"),
    )
    losses = model(torch.randn(2, 3, 32, 32), labelled(), mode="loss")
    assert {"aux_0.loss_ce", "aux_0.acc_seg", "aux_1.loss_x", "aux_1.acc_seg"} <= set(losses)
    batch = dict(
        inputs=[torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)] * 2, data_samples=labelled()
    )
    model.init_weights()  # reaches heads inside the list
    assert all(torch.all(head.conv_seg.bias == 0) for head in model.auxiliary_head)
    log_vars = model.loss_step(batch)
    assert set(log_vars) == {
        "loss",
        "decode.loss_ce",
        "decode.acc_seg",
        *(k for k in losses if k.startswith("aux")),
    }


def test_tensor_mode_and_whole_predict():
    model = tiny_model().eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        raw = model(x, mode="tensor")
        assert raw.shape == (2, 3, 4, 4)
        preds = model(x, mode="predict")
    assert len(preds) == 2 and preds[0].seg_logits.data.shape == (3, 32, 32)
    assert (
        preds[0].pred_sem_seg.data.shape == (1, 32, 32)
        and preds[0].pred_sem_seg.data.dtype == torch.long
    )
    # predict runs the same batch through the same kernels, then the same bilinear resize:
    # bit-identical float32 on any CPU, so the logits (and their argmax, ties included) match.
    expected = F.interpolate(raw, size=(32, 32), mode="bilinear", align_corners=False)
    assert torch.equal(preds[1].seg_logits.data, expected[1])
    assert torch.equal(preds[1].pred_sem_seg.data[0], expected[1].argmax(0))


def test_postprocess_crops_padding_unflips_and_resizes():
    model = tiny_model().eval()
    logits = torch.arange(2 * 6 * 8, dtype=torch.float).view(1, 2, 6, 8)
    logits = torch.cat([logits, logits.new_zeros(1, 1, 6, 8)], dim=1)
    sample = SegDataSample(
        metainfo=dict(
            padding_size=(0, 2, 0, 1), flip=True, flip_direction="horizontal", ori_shape=(10, 12)
        )
    )
    out = model.postprocess_result(logits, [sample])[0]
    cropped = logits[:, :, :5, :6].flip(dims=(3,))
    expected = F.interpolate(cropped, size=(10, 12), mode="bilinear", align_corners=False)[0]
    assert torch.allclose(out.seg_logits.data, expected)
    assert out.pred_sem_seg.data.shape == (1, 10, 12)
    vertical = SegDataSample(metainfo=dict(flip=True, flip_direction="vertical", ori_shape=(6, 8)))
    out = model.postprocess_result(logits, [vertical])[0]
    assert torch.allclose(out.seg_logits.data, logits[0].flip(dims=(1,)))


class _ContextBackbone(nn.Module):
    """Output depends on the whole crop (mean-centred), so crop placement matters."""

    def forward(self, x):
        return (x - x.mean(dim=(2, 3), keepdim=True),)


def _slide_model(crop, stride):
    torch.manual_seed(0)
    head = FCNHead(
        in_channels=2,
        channels=2,
        num_convs=0,
        concat_input=False,
        num_classes=3,
        in_index=0,
        dropout_ratio=0,
    )
    return EncoderDecoder(
        backbone=_ContextBackbone(), decode_head=head,
        test_cfg=dict(mode="slide", crop_size=crop, stride=stride),
    ).eval().double()  # fmt: skip


def _close64(actual, expected):
    """Equal up to summation order, in float64.

    Slide and whole inference (or a hand-made average) may run other kernels, so sum in another
    order; in float64 that moves the O(1) logits by ~1e-15, far inside 1e-12 of their largest.
    """
    tol = 1e-12 * float(expected.abs().max())
    return torch.allclose(actual, expected, rtol=1e-12, atol=tol)


def _hand_slide(model, x, windows):
    out = torch.zeros(x.shape[0], 3, *x.shape[2:], dtype=x.dtype)
    count = torch.zeros(1, 1, *x.shape[2:], dtype=x.dtype)
    for y1, y2, x1, x2 in windows:
        crop = x[:, :, y1:y2, x1:x2]
        out[:, :, y1:y2, x1:x2] += model.decode_head.conv_seg(model.backbone(crop)[0])
        count[:, :, y1:y2, x1:x2] += 1
    return out / count


@torch.no_grad()
def test_slide_inference_matches_hand_made_average():
    x = torch.randn(1, 2, 5, 7).double()  # the models are float64: see _close64
    model = _slide_model(crop=(3, 4), stride=(2, 3))
    # h: grids = (5-3+1)//2+1 = 2 -> rows [0,3), [2,5); w: (7-4+2)//3+1 = 2 -> cols [0,4), [3,7)
    windows = [(0, 3, 0, 4), (0, 3, 3, 7), (2, 5, 0, 4), (2, 5, 3, 7)]
    assert _close64(model.inference(x, [{}]), _hand_slide(model, x, windows))

    square = torch.randn(1, 2, 6, 6).double()
    model = _slide_model(crop=4, stride=3)  # ints are accepted
    # grids = (6-4+2)//3+1 = 2: [0,4) and [3,7) shifted back to [2,6)
    windows = [(a, a + 4, b, b + 4) for a in (0, 2) for b in (0, 2)]
    expected = _hand_slide(model, square, windows)
    assert _close64(model.inference(square, [{}]), expected)
    as_tuple = _slide_model(crop=(4, 4), stride=(3, 3))
    assert _close64(as_tuple.inference(square, [{}]), expected)


@torch.no_grad()
def test_slide_equals_whole_when_crop_covers_image():
    x = torch.randn(2, 2, 5, 6).double()
    slide = _slide_model(crop=(8, 8), stride=(4, 4))
    whole = EncoderDecoder(backbone=_ContextBackbone(), decode_head=slide.decode_head).eval()
    assert _close64(slide.inference(x, [{}]), whole.inference(x, [{}]))
    model = tiny_model(test_cfg=dict(mode="slide", crop_size=32, stride=16)).eval().double()
    whole = tiny_model().eval().double()
    whole.load_state_dict(model.state_dict())
    img = torch.randn(1, 3, 32, 32).double()
    assert _close64(model.inference(img, [{}]), whole.inference(img, [{}]))


def test_binary_prediction_with_threshold():
    with pytest.warns(UserWarning, match="avg_non_ignore"):
        head = FCNHead(
            in_channels=2, channels=2, num_convs=0, concat_input=False, in_index=0, num_classes=2,
            out_channels=1, threshold=0.6, dropout_ratio=0,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=True),
        )  # fmt: skip
    with torch.no_grad():
        head.conv_seg.weight.copy_(torch.tensor([[[[1.0]], [[0.0]]]]))
        head.conv_seg.bias.zero_()
    model = EncoderDecoder(backbone=_ContextBackbone(), decode_head=head).eval()
    x = torch.zeros(1, 2, 2, 2)
    x[0, 0] = torch.tensor([[-1.0, 0.2], [0.6, 0.2]])
    out = model.predict(x)[0]
    centred = x[0, 0] - x[0, 0].mean()  # [-1, .2; .6, .2] - 0 = same
    assert torch.allclose(out.seg_logits.data[0], centred.sigmoid())
    assert torch.equal(out.pred_sem_seg.data[0], (centred.sigmoid() > 0.6).long())
    assert out.pred_sem_seg.data.tolist() == [[[0, 0], [1, 0]]]
    losses = model.loss(x, [SegDataSample(gt_sem_seg=PixelData(torch.tensor([[[0, 1], [1, 0]]])))])
    assert set(losses) == {"decode.loss_ce", "decode.acc_seg"}


def test_test_cfg_errors_and_pretrained_push(tmp_path):
    with pytest.raises(ConfigError, match="'whole' or 'slide'"):
        tiny_model(test_cfg=dict(mode="sliding"))
    with pytest.raises(ConfigError, match="crop_size"):
        tiny_model(test_cfg=dict(mode="slide", stride=(2, 2)))
    with pytest.raises(ConfigError, match="pair"):
        tiny_model(test_cfg=dict(mode="slide", crop_size=(2, 2, 2), stride=2))
    model = tiny_model(pretrained=str(tmp_path / "r.pth"))
    assert model.backbone.init_cfg == dict(type="Pretrained", checkpoint=str(tmp_path / "r.pth"))
    with pytest.raises(ConfigError, match="keep one"):
        tiny_model(pretrained="a.pth", backbone={**TINY_BACKBONE, "pretrained": "b.pth"})
    with pytest.raises(ConfigError, match="Invalid forward mode"):
        tiny_model()(torch.randn(1, 3, 32, 32), mode="logits")


def test_built_modules_and_init_weights():
    backbone = MODELS.build(TINY_BACKBONE)
    head = FCNHead(in_channels=32, channels=4, num_classes=3)
    model = EncoderDecoder(backbone=backbone, decode_head=head)
    assert model.backbone is backbone and model.decode_head is head
    model.init_weights()
    assert torch.all(model.backbone.layer1[0].bn2.weight == 0) and torch.all(
        head.conv_seg.bias == 0
    )


class _RefineHead(BaseDecodeHead):
    """A cascade stage: adds the previous logits to its own."""

    def forward(self, inputs, prev_output):
        return self.cls_seg(self._transform_inputs(inputs)) + prev_output

    def loss(self, inputs, prev_output, batch_data_samples, train_cfg):
        return self.loss_by_feat(self.forward(inputs, prev_output), batch_data_samples)

    def predict(self, inputs, prev_output, batch_img_metas, test_cfg):
        return self.predict_by_feat(self.forward(inputs, prev_output), batch_img_metas)


def test_cascade_encoder_decoder():
    torch.manual_seed(0)
    first = FCNHead(in_channels=32, channels=4, num_convs=1, concat_input=False, num_classes=3)
    second = _RefineHead(in_channels=32, channels=32, num_classes=3)
    model = CascadeEncoderDecoder(num_stages=2, backbone=TINY_BACKBONE, decode_head=[first, second])
    losses = model.loss(torch.randn(2, 3, 32, 32), labelled())
    assert {"decode_0.loss_ce", "decode_0.acc_seg", "decode_1.loss_ce", "decode_1.acc_seg"} == set(
        losses
    )
    model.eval()
    with torch.no_grad():
        x = torch.randn(1, 3, 32, 32)
        assert model(x, mode="tensor").shape == (1, 3, 4, 4)
        assert model.predict(x)[0].seg_logits.data.shape == (3, 32, 32)
    with pytest.raises(ConfigError, match="num_stages=3"):
        CascadeEncoderDecoder(num_stages=3, backbone=TINY_BACKBONE, decode_head=[first, second])
