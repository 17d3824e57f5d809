"""ConvModule and friends: MMCV attribute names, bias rule, builders, resize, weight init."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from segwright.models.layers import (
    ACTIVATIONS,
    ConvModule,
    DepthwiseSeparableConvModule,
    build_activation_layer,
    build_conv_layer,
    build_norm_layer,
    resize,
)
from segwright.models.utils import BaseModule, Sequential, initialize
from segwright.utils.errors import CheckpointError, ConfigError


@pytest.mark.parametrize(
    ("norm_cfg", "name"),
    [
        (dict(type="BN"), "bn"),
        (dict(type="SyncBN", requires_grad=True), "bn"),
        (dict(type="GN", num_groups=2), "gn"),
        (dict(type="IN"), "in"),
    ],
)
def test_conv_module_norm_names_and_auto_bias(norm_cfg, name):
    m = ConvModule(4, 8, 3, padding=1, norm_cfg=norm_cfg)
    assert m.norm_name == name
    keys = set(m.state_dict())
    assert "conv.weight" in keys and "conv.bias" not in keys
    assert f"{name}.weight" in keys or name == "in"  # InstanceNorm has no affine by default
    assert m(torch.randn(2, 4, 5, 5)).shape == (2, 8, 5, 5)


def test_build_norm_layer_postfix_requires_grad_and_ln():
    name, layer = build_norm_layer(dict(type="BN", requires_grad=False), 4, postfix=2)
    assert name == "bn2" and isinstance(layer, nn.BatchNorm2d)
    assert not any(p.requires_grad for p in layer.parameters())
    name, layer = build_norm_layer(dict(type="LN"), 6)
    assert name == "ln" and isinstance(layer, nn.LayerNorm)
    with pytest.raises(ConfigError, match="num_groups"):
        build_norm_layer(dict(type="GN"), 4)
    with pytest.raises(ConfigError, match="Did you mean 'SyncBN'"):
        build_norm_layer(dict(type="SyncBn"), 4)


def test_conv_module_without_norm_has_bias_and_act():
    m = ConvModule(3, 5, 1)
    assert set(m.state_dict()) == {"conv.weight", "conv.bias"}
    assert isinstance(m.activate, nn.ReLU) and m.activate.inplace
    m = ConvModule(3, 5, 1, act_cfg=None)
    assert not hasattr(m, "activate")
    x = torch.randn(1, 3, 4, 4)
    assert torch.equal(m(x), m.conv(x))


def test_conv_module_order_norm_first_uses_input_channels():
    m = ConvModule(3, 5, 1, norm_cfg=dict(type="BN"), order=("norm", "conv", "act"))
    assert m.bn.num_features == 3
    with pytest.raises(ConfigError, match="permutation"):
        ConvModule(3, 5, 1, order=("conv", "act"))


def test_conv_module_reflect_padding_and_leaky_relu():
    m = ConvModule(2, 2, 3, padding=1, padding_mode="reflect", act_cfg=dict(type="LeakyReLU"))
    assert isinstance(m.padding_layer, nn.ReflectionPad2d)
    assert m.conv.padding == (0, 0)
    assert m(torch.randn(1, 2, 6, 6)).shape == (1, 2, 6, 6)
    assert isinstance(m.activate, nn.LeakyReLU)


def test_conv_module_rejects_compiled_convs():
    with pytest.raises(ConfigError, match="compiled"):
        ConvModule(2, 2, 3, conv_cfg=dict(type="DCNv2"))


def test_build_conv_layer_default_and_named():
    assert isinstance(build_conv_layer(None, 1, 2, 3), nn.Conv2d)
    assert isinstance(build_conv_layer(dict(type="Conv1d"), 1, 2, 3), nn.Conv1d)


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_every_activation_builds_and_runs(act):
    layer = build_activation_layer(dict(type=act, inplace=True))
    x = torch.linspace(-4, 4, 9).view(1, 1, 3, 3)
    assert layer(x.clone()).shape == x.shape


def test_activation_values_and_unknown():
    x = torch.tensor([-4.0, 0.0, 1.5, 4.0])
    hsig = build_activation_layer(dict(type="HSigmoid"))
    assert torch.allclose(hsig(x), torch.tensor([0.0, 0.5, 0.75, 1.0]))
    hswish = build_activation_layer(dict(type="HSwish"))
    assert torch.allclose(hswish(x), x * torch.clamp(x + 3, 0, 6) / 6)
    swish = build_activation_layer(dict(type="Swish"))
    assert torch.allclose(swish(x), x * torch.sigmoid(x))
    with pytest.raises(ConfigError, match="Did you mean 'ReLU'"):
        build_activation_layer(dict(type="Relu"))


def test_depthwise_separable_conv_module_keys():
    m = DepthwiseSeparableConvModule(4, 6, 3, padding=2, dilation=2, norm_cfg=dict(type="BN"))
    assert m.depthwise_conv.conv.groups == 4
    assert m.depthwise_conv.conv.dilation == (2, 2)
    assert "depthwise_conv.bn.running_mean" in m.state_dict()
    assert "pointwise_conv.conv.weight" in m.state_dict()
    assert m(torch.randn(1, 4, 7, 7)).shape == (1, 6, 7, 7)
    m = DepthwiseSeparableConvModule(4, 6, 3, padding=1, dw_act_cfg=None)
    assert not m.depthwise_conv.with_activation and m.pointwise_conv.with_activation


def test_resize_modes_and_warning():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert resize(x, size=(8, 8), mode="nearest", align_corners=False).shape == (1, 1, 8, 8)
    with pytest.warns(UserWarning, match="align_corners"):
        resize(x, size=(8, 8), mode="bilinear", align_corners=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = resize(x, size=(7, 7), mode="bilinear", align_corners=True)  # 7 = 2 * (4 - 1) + 1
    assert out[0, 0, 0, 2] == 1.0


class _Toy(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.conv_a = nn.Conv2d(2, 2, 1)
        self.conv_seg = nn.Conv2d(2, 3, 1)
        self.body = Sequential(
            nn.Conv2d(2, 2, 1), init_cfg=dict(type="Constant", val=2, layer="Conv2d")
        )


def test_init_cfg_layer_override_and_children_order():
    toy = _Toy(
        init_cfg=[
            dict(type="Constant", val=1, bias=0.5, layer="Conv2d"),
            dict(type="Constant", val=3, override=dict(name="conv_seg", val=7)),
        ]
    )
    toy.init_weights()
    assert torch.all(toy.conv_a.weight == 1) and torch.all(toy.conv_a.bias == 0.5)
    assert torch.all(toy.conv_seg.weight == 7)
    assert torch.all(toy.body[0].weight == 2)  # the child's own init_cfg runs after the parent's
    assert toy.is_init
    with pytest.raises(ConfigError, match="no such child"):
        initialize(toy, dict(type="Normal", override=dict(name="missing")))
    with pytest.raises(ConfigError, match="Unknown init_cfg type"):
        initialize(toy, dict(type="Kaiminh", layer="Conv2d"))


def test_pretrained_init_with_and_without_prefix(tmp_path):
    source = _Toy()
    with torch.no_grad():
        for p in source.parameters():
            p.fill_(4.0)
    path = tmp_path / "w.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in source.state_dict().items()}}, path)
    target = _Toy(
        init_cfg=[
            dict(type="Constant", val=1, layer="Conv2d"),
            dict(type="Pretrained", checkpoint=str(path), prefix="backbone"),
        ]
    )
    target.init_weights()  # Pretrained runs last, after the children
    assert all(torch.all(p == 4.0) for p in target.parameters())

    plain = tmp_path / "plain.pth"
    torch.save({f"module.{k}": v for k, v in source.state_dict().items()}, plain)
    other = _Toy(init_cfg=dict(type="Pretrained", checkpoint=str(plain)))
    other.init_weights()
    assert all(torch.all(p == 4.0) for p in other.parameters())

    with pytest.raises(CheckpointError, match="prefix"):
        _Toy(init_cfg=dict(type="Pretrained", checkpoint=str(path), prefix="neck.")).init_weights()
    with pytest.raises(CheckpointError, match="local path"):
        _Toy(
            init_cfg=dict(type="Pretrained", checkpoint="open-mmlab://resnet50_v1c")
        ).init_weights()
