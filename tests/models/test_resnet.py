"""ResNet backbones: MMSeg key names and counts, dilation/stride layout, freezing, init."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from segwright.models.backbones import ResNet, ResNetV1c, ResNetV1d
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

D8 = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), contract_dilation=True)
TINY = dict(stem_channels=8, base_channels=4)


def bn_keys(prefix):
    return {
        f"{prefix}.{n}"
        for n in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    }


def test_resnet_v1c_50_keys_match_mmseg():
    keys = set(ResNetV1c(depth=50, **D8).state_dict())
    # stem: 3 convs + 3 BNs; 16 bottlenecks x (3 convs + 3 BNs); 4 downsamples (conv + BN)
    assert len(keys) == 3 * 6 + 16 * 18 + 4 * 6 == 330
    assert {"stem.0.weight", "stem.3.weight", "stem.6.weight"} <= keys
    assert bn_keys("stem.1") | bn_keys("stem.4") | bn_keys("stem.7") <= keys
    assert not any(k.startswith(("conv1", "bn1")) for k in keys)
    assert {"layer1.0.conv1.weight", "layer1.0.conv2.weight", "layer1.0.conv3.weight"} <= keys
    assert bn_keys("layer1.0.bn3") | bn_keys("layer4.2.bn1") <= keys
    assert {"layer1.0.downsample.0.weight", "layer3.0.downsample.0.weight"} <= keys
    assert bn_keys("layer2.0.downsample.1") <= keys
    assert "layer3.5.conv3.weight" in keys and "layer3.6.conv1.weight" not in keys


def test_resnet_v1b_and_v1d_keys():
    v1b = set(ResNet(depth=50).state_dict())
    assert len(v1b) == 318  # torchvision's resnet50 minus fc.weight / fc.bias
    assert "conv1.weight" in v1b and bn_keys("bn1") <= v1b and "stem.0.weight" not in v1b
    v1d = ResNetV1d(depth=50)
    keys = set(v1d.state_dict())
    assert "layer2.0.downsample.1.weight" in keys and bn_keys("layer2.0.downsample.2") <= keys
    assert isinstance(v1d.layer2[0].downsample[0], nn.AvgPool2d)
    r18 = set(ResNet(depth=18).state_dict())
    assert "layer1.0.conv2.weight" in r18 and "layer1.0.conv3.weight" not in r18
    assert "layer1.0.downsample.0.weight" not in r18 and "layer2.0.downsample.0.weight" in r18


def test_d8_shapes_strides_and_contracted_dilations():
    model = ResNetV1c(depth=50, **TINY, **D8).eval()
    outs = model(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [
        (1, 16, 8, 8),
        (1, 32, 4, 4),
        (1, 64, 4, 4),
        (1, 128, 4, 4),
    ]
    assert model.out_channels == (16, 32, 64, 128) and model.out_strides == (4, 8, 8, 8)
    assert model.layer3[0].conv2.dilation == (1, 1) and model.layer3[1].conv2.dilation == (2, 2)
    assert model.layer4[0].conv2.dilation == (2, 2) and model.layer4[2].conv2.dilation == (4, 4)
    assert model.layer4[1].conv2.padding == (4, 4)
    assert model.layer2[0].conv2.stride == (2, 2) and model.layer2[0].conv1.stride == (1, 1)


def test_default_strides_caffe_style_and_multi_grid():
    model = ResNet(depth=18, **TINY, out_indices=(1, 3))
    outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 8, 8, 8), (1, 32, 2, 2)]
    caffe = ResNet(depth=50, **TINY, style="caffe")
    assert caffe.layer2[0].conv1.stride == (2, 2) and caffe.layer2[0].conv2.stride == (1, 1)
    grid = ResNetV1c(depth=50, **TINY, **D8, multi_grid=(1, 2, 4))
    assert [b.conv2.dilation[0] for b in grid.layer4] == [1, 2, 4]  # used as given, like MMSeg
    with pytest.raises(ConfigError, match="multi_grid"):
        ResNetV1c(depth=50, multi_grid=(1, 2))


def test_norm_eval_and_frozen_stages():
    model = ResNetV1c(depth=18, **TINY, frozen_stages=1, norm_eval=True)
    model.train()
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert not any(p.requires_grad for p in model.stem.parameters())
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not model.layer1.training and model.layer2.training

    plain = ResNet(depth=18, **TINY, frozen_stages=0)
    plain.train()
    assert not plain.conv1.weight.requires_grad and not plain.bn1.training
    assert plain.layer1.training and any(
        m.training for m in plain.modules() if isinstance(m, nn.BatchNorm2d)
    )


def test_gn_norm_names_and_with_cp_gradients():
    gn = ResNet(depth=18, **TINY, norm_cfg=dict(type="GN", num_groups=2))
    assert "layer1.0.gn1.weight" in gn.state_dict() and "gn1.weight" in gn.state_dict()
    torch.manual_seed(0)
    plain = ResNetV1c(depth=18, **TINY).double()
    cp = ResNetV1c(depth=18, **TINY, with_cp=True).double()
    cp.load_state_dict(plain.state_dict())
    # float64: checkpointing recomputes the forward, whose kernels may sum in another order.
    # A float64 gradient summed over ~1e3 terms is off by <= ~1e3 * 1.1e-16 of their absolute
    # sum; 1e-10 of the largest gradient leaves room for cancellation between those terms.
    x = torch.randn(2, 3, 32, 32).double().requires_grad_()
    sum(o.sum() for o in plain(x)).backward()
    grad_plain = plain.layer2[0].conv1.weight.grad.clone()
    sum(o.sum() for o in cp(x)).backward()
    tol = 1e-10 * float(grad_plain.abs().max())
    assert torch.allclose(grad_plain, cp.layer2[0].conv1.weight.grad, rtol=1e-10, atol=tol)


def test_default_init_zero_inits_last_norm():
    model = ResNetV1c(depth=50, **TINY)
    model.init_weights()
    assert torch.all(model.layer1[0].bn3.weight == 0) and torch.all(model.layer1[0].bn1.weight == 1)
    assert torch.all(model.stem[1].weight == 1)
    basic = ResNet(depth=18, **TINY)
    basic.init_weights()
    assert torch.all(basic.layer2[1].bn2.weight == 0)
    keep = ResNet(depth=18, **TINY, zero_init_residual=False)
    keep.init_weights()
    assert torch.all(keep.layer2[1].bn2.weight == 1)


def test_pretrained_argument_becomes_init_cfg(tmp_path):
    source = ResNetV1c(depth=18, **TINY)
    path = tmp_path / "r18.pth"
    torch.save({"state_dict": source.state_dict()}, path)
    with pytest.warns(DeprecationWarning):
        model = ResNetV1c(depth=18, **TINY, pretrained=str(path))
    assert model.init_cfg == dict(type="Pretrained", checkpoint=str(path))
    model.init_weights()
    assert torch.equal(model.layer1[0].conv1.weight, source.layer1[0].conv1.weight)
    with pytest.raises(ConfigError, match="not both"):
        ResNetV1c(depth=18, pretrained=str(path), init_cfg=dict(type="Pretrained", checkpoint="x"))


def test_config_errors():
    with pytest.raises(ConfigError, match="depth"):
        ResNet(depth=42)
    with pytest.raises(ConfigError, match="compiled"):
        ResNet(depth=50, dcn=dict(type="DCNv2", deform_groups=1))
    with pytest.raises(ConfigError, match="plugins"):
        ResNet(depth=50, plugins=[dict(cfg=dict(type="ContextBlock"))])
    with pytest.raises(ConfigError, match="one stride"):
        ResNet(depth=50, strides=(1, 2))
    with pytest.raises(ConfigError, match="deep_stem"):  # the variant fixes it
        MODELS.build(dict(type="ResNetV1c", depth=18, deep_stem=False))
