"""UNet backbone: MMSeg keys of fcn_unet_s5-d16, shapes/strides, upsample kinds, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.backbones import UNet
from segwright.models.backbones.unet import DeconvModule, InterpConv
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

TINY = dict(base_channels=4)
THREE = dict(
    base_channels=4, num_stages=3, strides=(1, 1, 1), enc_num_convs=(2, 2, 2),
    dec_num_convs=(2, 2), downsamples=(True, True), enc_dilations=(1, 1, 1), dec_dilations=(1, 1),
)  # fmt: skip


def conv_module_keys(prefix):
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    return {f"{prefix}.conv.weight"} | {f"{prefix}.bn.{n}" for n in bn}


def test_fcn_unet_s5_d16_backbone_keys():
    # The backbone of MMSeg's configs/_base_/models/fcn_unet_s5-d16.py.
    model = MODELS.build(
        dict(
            type="UNet", in_channels=3, base_channels=64, num_stages=5, strides=(1, 1, 1, 1, 1),
            enc_num_convs=(2, 2, 2, 2, 2), dec_num_convs=(2, 2, 2, 2),
            downsamples=(True, True, True, True), enc_dilations=(1, 1, 1, 1, 1),
            dec_dilations=(1, 1, 1, 1), with_cp=False, conv_cfg=None,
            norm_cfg=dict(type="SyncBN", requires_grad=True), act_cfg=dict(type="ReLU"),
            upsample_cfg=dict(type="InterpConv"), norm_eval=False,
        )
    )  # fmt: skip
    keys = set(model.state_dict())
    # encoder: 5 stages x 2 ConvModules; decoder: 4 x (2 ConvModules + the InterpConv's one)
    assert len(keys) == (5 * 2 + 4 * 3) * 6 == 132
    assert conv_module_keys("encoder.0.0.convs.0") | conv_module_keys("encoder.0.0.convs.1") <= keys
    assert conv_module_keys("encoder.1.1.convs.0") | conv_module_keys("encoder.4.1.convs.1") <= keys
    assert conv_module_keys("decoder.0.conv_block.convs.1") <= keys
    assert conv_module_keys("decoder.3.upsample.interp_upsample.1") <= keys
    assert not any(k.startswith("encoder.1.0.") for k in keys)  # MaxPool: no parameters
    assert isinstance(model.encoder[1][0], nn.MaxPool2d)
    assert model.encoder[4][1].convs[0].conv.weight.shape == (1024, 512, 3, 3)
    assert model.decoder[3].upsample.interp_upsample[1].conv.weight.shape == (512, 1024, 1, 1)
    assert model.decoder[0].conv_block.convs[0].conv.weight.shape == (64, 128, 3, 3)
    assert model.out_channels == (1024, 512, 256, 128, 64)
    assert model.out_strides == (16, 8, 4, 2, 1) and model.size_divisor == 16
    assert isinstance(model.encoder[0][0].convs[0].bn, nn.SyncBatchNorm)


def test_tiny_shapes_deepest_first():
    model = UNet(**TINY).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [
        (1, 64, 2, 2),
        (1, 32, 4, 4),
        (1, 16, 8, 8),
        (1, 8, 16, 16),
        (1, 4, 32, 32),
    ]
    assert model.out_channels == (64, 32, 16, 8, 4)


def test_strided_convs_no_downsample_and_dilations():
    model = UNet(
        **TINY, num_stages=4, strides=(1, 2, 1, 1), enc_num_convs=(1, 2, 2, 2),
        dec_num_convs=(2, 2, 2), downsamples=(False, False, True), enc_dilations=(1, 1, 2, 4),
        dec_dilations=(1, 1, 2),
    ).eval()  # fmt: skip
    assert len(model.encoder[0][0].convs) == 1
    assert model.encoder[1][0].convs[0].conv.stride == (2, 2)  # no MaxPool before it
    assert len(model.encoder[1]) == 1 and isinstance(model.encoder[3][0], nn.MaxPool2d)
    assert model.encoder[3][1].convs[1].conv.dilation == (4, 4)
    assert model.encoder[3][1].convs[0].conv.dilation == (1, 1)
    assert model.decoder[2].conv_block.convs[1].conv.padding == (2, 2)
    # stage 2 does not downsample: its decoder step maps channels with a 1x1 ConvModule
    assert not hasattr(model.decoder[1].upsample, "interp_upsample")
    assert model.decoder[1].upsample.conv.kernel_size == (1, 1)
    assert model.out_strides == (4, 2, 2, 1) and model.size_divisor == 4
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 12, 8))
    assert [tuple(o.shape) for o in outs] == [
        (2, 32, 3, 2),
        (2, 16, 6, 4),
        (2, 8, 6, 4),
        (2, 4, 12, 8),
    ]


def test_deconv_upsampling_and_interp_conv():
    model = UNet(**THREE, upsample_cfg=dict(type="DeconvModule"))
    keys = set(model.state_dict())
    assert {"decoder.0.upsample.deconv_upsamping.0.weight",
            "decoder.0.upsample.deconv_upsamping.0.bias",
            "decoder.1.upsample.deconv_upsamping.1.running_mean"} <= keys  # fmt: skip
    assert [tuple(o.shape) for o in model.eval()(torch.randn(1, 3, 8, 8))] == [
        (1, 16, 2, 2),
        (1, 8, 4, 4),
        (1, 4, 8, 8),
    ]
    deconv = DeconvModule(2, 3, kernel_size=6, scale_factor=2)
    assert deconv(torch.randn(1, 2, 5, 7)).shape == (1, 3, 10, 14)
    with pytest.raises(ConfigError, match="even"):
        DeconvModule(2, 3, kernel_size=3, scale_factor=2)
    # float64: module and formula may sum in different orders (kernel choice); in float64
    # that is ~1e-15 of the O(1) values, far inside 1e-12.
    interp = InterpConv(2, 3, norm_cfg=None, act_cfg=None, conv_first=True).eval().double()
    x = torch.randn(1, 2, 3, 4).double()
    expected = F.interpolate(interp.interp_upsample[0](x), scale_factor=2, mode="bilinear")
    tol = 1e-12 * float(expected.detach().abs().max())
    assert torch.allclose(interp(x), expected, rtol=1e-12, atol=tol)


def test_divisibility_error_names_the_multiple():
    model = UNet(**TINY)
    with pytest.raises(ConfigError, match="multiples of 16.*30x32"):
        model(torch.randn(1, 3, 30, 32))
    assert model(torch.randn(1, 3, 16, 48))[0].shape == (1, 64, 1, 3)


def test_norm_eval_with_cp_and_init():
    model = UNet(**THREE, norm_eval=True)
    model.train()
    assert model.training and all(
        not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d)
    )
    torch.manual_seed(0)
    model.init_weights()
    assert torch.all(model.encoder[0][0].convs[0].bn.weight == 1)
    cp_model = UNet(**THREE, with_cp=True)
    cp_model.load_state_dict(model.state_dict())
    # float64: checkpointing recomputes the forward, whose kernels may sum in another order.
    # A float64 gradient summed over ~1e3 terms is off by <= ~1e3 * 1.1e-16 of their absolute
    # sum; 1e-10 of the largest gradient leaves room for cancellation between those terms.
    model.double(), cp_model.double()
    x = torch.randn(2, 3, 8, 8).double().requires_grad_()
    model.eval(), cp_model.eval()
    model(x)[-1].sum().backward()
    cp_model(x)[-1].sum().backward()
    a, b = model.encoder[1][1].convs[0].conv, cp_model.encoder[1][1].convs[0].conv
    tol = 1e-10 * float(a.weight.grad.abs().max())
    assert torch.allclose(a.weight.grad, b.weight.grad, rtol=1e-10, atol=tol)


def test_config_errors():
    with pytest.raises(ConfigError, match="dec_num_convs must have 4 values"):
        UNet(dec_num_convs=(2, 2, 2))
    with pytest.raises(ConfigError, match="strides must be 1 or 2"):
        UNet(strides=(1, 4, 1, 1, 1))
    with pytest.raises(ConfigError, match="compiled"):
        UNet(dcn=dict(type="DCN"))
    with pytest.raises(ConfigError, match="plugins"):
        UNet(plugins=[dict(cfg=dict(type="ContextBlock"))])
    with pytest.raises(ConfigError, match="not both"):
        UNet(pretrained="a.pth", init_cfg=dict(type="Pretrained", checkpoint="a.pth"))
