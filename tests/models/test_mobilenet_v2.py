"""MobileNetV2: MMSeg keys of the dilated variant, make_divisible, shapes, freezing, blocks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from segwright.models.backbones import MobileNetV2
from segwright.models.backbones.utils import InvertedResidual, make_divisible
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

DILATED = dict(
    strides=(1, 2, 2, 1, 1, 1, 1), dilations=(1, 1, 1, 2, 2, 4, 4), out_indices=(1, 2, 4, 6)
)


def conv_module_keys(prefix):
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    return {f"{prefix}.conv.weight"} | {f"{prefix}.bn.{n}" for n in bn}


def test_make_divisible():
    assert make_divisible(32, 8) == 32
    assert make_divisible(32 * 0.5, 8) == 16
    assert make_divisible(24 * 0.35, 8) == 8  # at least the divisor
    assert make_divisible(10, 8) == 16  # 8 would lose more than 10%
    assert make_divisible(320 * 1.4, 8) == 448
    assert make_divisible(3, 8, min_value=4) == 4


def test_dilated_config_keys_channels_and_strides():
    model = MODELS.build(
        dict(type="MobileNetV2", widen_factor=1.0, **DILATED,
             norm_cfg=dict(type="SyncBN", requires_grad=True))
    )  # fmt: skip
    keys = set(model.state_dict())
    # stem + 17 blocks: layer1's single block has 2 ConvModules, the 16 others 3
    assert len(keys) == (1 + 2 + 16 * 3) * 6 == 306
    assert conv_module_keys("conv1") | conv_module_keys("layer1.0.conv.1") <= keys
    assert "layer1.0.conv.2.conv.weight" not in keys
    assert conv_module_keys("layer2.0.conv.2") | conv_module_keys("layer7.0.conv.0") <= keys
    assert conv_module_keys("layer4.3.conv.1") <= keys and "layer4.4.conv.0.conv.weight" not in keys
    assert model.layer7[0].conv[2].conv.weight.shape == (320, 960, 1, 1)
    assert model.layer2[0].conv[1].conv.weight.shape == (96, 1, 3, 3)  # depthwise
    assert model.out_channels == (24, 32, 96, 320) and model.out_strides == (4, 8, 8, 8)
    # only the first block of a stage is dilated (as in MMSeg)
    assert model.layer4[0].conv[1].conv.dilation == (2, 2)
    assert model.layer4[0].conv[1].conv.padding == (2, 2)
    assert model.layer4[1].conv[1].conv.dilation == (1, 1)
    assert model.layer6[0].conv[1].conv.dilation == (4, 4)
    assert isinstance(model.conv1.activate, nn.ReLU6)
    assert hasattr(model.layer1[0].conv[0], "activate")  # layer1: depthwise, projection
    assert not hasattr(model.layer1[0].conv[1], "activate")
    assert not hasattr(model.layer2[0].conv[2], "activate")  # the projection is linear


def test_tiny_forward_shapes_default_and_dilated():
    torch.manual_seed(0)
    dilated = MobileNetV2(widen_factor=0.25, **DILATED).eval()
    assert dilated.out_channels == (8, 8, 24, 80)
    with torch.no_grad():
        outs = dilated(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [
        (1, 8, 8, 8),
        (1, 8, 4, 4),
        (1, 24, 4, 4),
        (1, 80, 4, 4),
    ]
    plain = MobileNetV2(widen_factor=0.25, out_indices=(6,)).eval()
    with torch.no_grad():
        outs = plain(torch.randn(1, 3, 64, 64))
    assert isinstance(outs, tuple) and outs[0].shape == (1, 80, 2, 2)
    assert plain.out_strides == (32,)


def test_inverted_residual_block():
    torch.manual_seed(0)
    block = InvertedResidual(8, 8, 1, expand_ratio=6, norm_cfg=None).eval()
    assert block.use_res_connect and block.conv[0].conv.weight.shape == (48, 8, 1, 1)
    x = torch.randn(1, 8, 5, 5)
    assert torch.allclose(block(x), x + block.conv(x))
    down = InvertedResidual(8, 16, 2, expand_ratio=1)
    assert not down.use_res_connect and len(down.conv) == 2
    assert down(x).shape == (1, 16, 3, 3)
    with pytest.raises(ConfigError, match="stride must be 1 or 2"):
        InvertedResidual(8, 8, 3, expand_ratio=6)


def test_frozen_stages_and_norm_eval():
    model = MobileNetV2(widen_factor=0.25, frozen_stages=2, norm_eval=False)
    model.train()
    assert not any(p.requires_grad for p in model.conv1.parameters())
    assert model.conv1.bn.training  # MMSeg freezes the stem's parameters only
    assert not any(p.requires_grad for p in model.layer2.parameters())
    assert not model.layer1.training and not model.layer2.training and model.layer3.training
    assert all(p.requires_grad for p in model.layer3.parameters())
    evaled = MobileNetV2(widen_factor=0.25, norm_eval=True).train()
    assert all(not m.training for m in evaled.modules() if isinstance(m, nn.BatchNorm2d))
    assert all(p.requires_grad for p in evaled.parameters())


def test_with_cp_gradients_match_and_init():
    torch.manual_seed(0)
    plain = MobileNetV2(widen_factor=0.25, out_indices=(3,))
    plain.init_weights()
    assert torch.all(plain.layer2[0].conv[0].bn.weight == 1)
    cp = MobileNetV2(widen_factor=0.25, out_indices=(3,), with_cp=True)
    cp.load_state_dict(plain.state_dict())
    plain.eval(), cp.eval()
    plain.double(), cp.double()
    # float64: checkpointing recomputes the forward, whose kernels may sum in another order.
    # A float64 gradient summed over ~1e3 terms is off by <= ~1e3 * 1.1e-16 of their absolute
    # sum; 1e-10 of the largest gradient leaves room for cancellation between those terms.
    x = torch.randn(1, 3, 32, 32).double().requires_grad_()
    plain(x)[0].sum().backward()
    cp(x)[0].sum().backward()
    a, b = plain.layer3[1].conv[0].conv.weight.grad, cp.layer3[1].conv[0].conv.weight.grad
    assert torch.allclose(a, b, rtol=1e-10, atol=1e-10 * float(a.abs().max()))


def test_config_errors():
    with pytest.raises(ConfigError, match="out_indices"):
        MobileNetV2(out_indices=(7,))
    with pytest.raises(ConfigError, match="frozen_stages"):
        MobileNetV2(frozen_stages=8)
    with pytest.raises(ConfigError, match="7 strides and dilations"):
        MobileNetV2(strides=(1, 2, 2))
    with pytest.raises(ConfigError, match="not both"):
        MobileNetV2(pretrained="m.pth", init_cfg=dict(type="Pretrained", checkpoint="m.pth"))
    with pytest.warns(DeprecationWarning):
        model = MobileNetV2(widen_factor=0.25, pretrained="mmcls://mobilenet_v2")
    assert model.init_cfg == dict(type="Pretrained", checkpoint="mmcls://mobilenet_v2")
