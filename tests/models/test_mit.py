"""MixVisionTransformer (SegFormer MiT): MMSeg keys of MiT-B0, shapes, attention/FFN math."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from segwright.models.backbones import MixVisionTransformer
from segwright.models.backbones.mit import MixFFN
from segwright.models.backbones.utils import AdaptivePadding, PatchEmbed
from segwright.models.layers.attention import EfficientMultiheadAttention
from segwright.models.layers.drop import DropPath
from segwright.models.layers.shape_convert import nchw_to_nlc, nlc_to_nchw
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

B0 = dict(embed_dims=32, num_layers=[2, 2, 2, 2], num_heads=[1, 2, 5, 8])
TINY = dict(embed_dims=8, num_layers=[1, 1, 1, 1], num_heads=[1, 1, 1, 1])


def test_mit_b0_keys_and_shapes():
    # The backbone of MMSeg's configs/_base_/models/segformer_mit-b0.py.
    model = MODELS.build(
        dict(
            type="MixVisionTransformer", in_channels=3, num_stages=4, patch_sizes=[7, 3, 3, 3],
            sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3), mlp_ratio=4, qkv_bias=True,
            drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.1, **B0,
        )
    )  # fmt: skip
    sd = model.state_dict()
    # per stage: patch embed (4) + final norm (2); per block: norms (4), attention (4),
    # FFN (6), plus sr conv + norm (4) where sr_ratio > 1 (stages 0-2)
    assert len(sd) == 4 * 6 + 8 * 14 + 6 * 4 == 160
    expected = {
        "layers.0.0.projection.weight": (32, 3, 7, 7),
        "layers.0.0.norm.bias": (32,),
        "layers.0.1.0.norm1.weight": (32,),
        "layers.0.1.0.attn.attn.in_proj_weight": (96, 32),
        "layers.0.1.0.attn.attn.in_proj_bias": (96,),
        "layers.0.1.0.attn.attn.out_proj.weight": (32, 32),
        "layers.0.1.0.attn.attn.out_proj.bias": (32,),
        "layers.0.1.0.attn.sr.weight": (32, 32, 8, 8),
        "layers.0.1.1.attn.norm.weight": (32,),
        "layers.0.1.1.norm2.bias": (32,),
        "layers.0.1.1.ffn.layers.0.weight": (128, 32, 1, 1),
        "layers.0.1.1.ffn.layers.1.weight": (128, 1, 3, 3),
        "layers.0.1.1.ffn.layers.4.weight": (32, 128, 1, 1),
        "layers.0.2.weight": (32,),
        "layers.1.0.projection.weight": (64, 32, 3, 3),
        "layers.2.1.1.attn.sr.weight": (160, 160, 2, 2),
        "layers.3.1.1.attn.attn.in_proj_weight": (768, 256),
        "layers.3.1.1.ffn.layers.4.bias": (256,),
        "layers.3.2.bias": (256,),
    }
    assert {k: tuple(sd[k].shape) for k in expected} == expected
    assert not any(k.startswith(("layers.3.1.0.attn.sr", "layers.3.1.0.attn.norm")) for k in sd)
    assert model.out_channels == (32, 64, 160, 256) and model.out_strides == (4, 8, 16, 32)
    rates = [block.attn.dropout_layer.drop_prob for stage in model.layers for block in stage[1]]
    assert rates == pytest.approx([0.1 * i / 7 for i in range(8)])
    assert model.layers[0][0].norm.eps == 1e-6 and model.layers[0][1][0].attn.attn.num_heads == 1


def test_tiny_forward_shapes_and_odd_sizes():
    torch.manual_seed(0)
    model = MixVisionTransformer(**TINY).eval()
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 64, 64))
        assert [tuple(o.shape) for o in outs] == [
            (2, 8, 16, 16),
            (2, 8, 8, 8),
            (2, 8, 4, 4),
            (2, 8, 2, 2),
        ]
        odd = MixVisionTransformer(**TINY, out_indices=(1, 3)).eval()(torch.randn(1, 3, 65, 50))
    assert [tuple(o.shape[2:]) for o in odd] == [(9, 7), (3, 2)]  # ceil(H / stride)


def test_efficient_attention_matches_formula():
    torch.manual_seed(0)
    # float64: nn.MultiheadAttention's fused kernels and this formula sum in different orders;
    # in float64 that is ~1e-15 of the O(1) outputs, far inside 1e-12 of the largest.
    attn = EfficientMultiheadAttention(8, 2, qkv_bias=True, sr_ratio=2).eval().double()
    x = torch.randn(2, 16, 8).double()
    hw = (4, 4)
    kv = attn.norm(nchw_to_nlc(attn.sr(nlc_to_nchw(x, hw))))
    assert kv.shape == (2, 4, 8)
    w, b = attn.attn.in_proj_weight, attn.attn.in_proj_bias
    q = x @ w[:8].T + b[:8]
    k = kv @ w[8:16].T + b[8:16]
    v = kv @ w[16:].T + b[16:]
    heads = []
    for h in range(2):
        s = slice(4 * h, 4 * h + 4)
        weights = torch.softmax(q[..., s] @ k[..., s].transpose(1, 2) / math.sqrt(4), dim=-1)
        heads.append(weights @ v[..., s])
    out = torch.cat(heads, -1) @ attn.attn.out_proj.weight.T + attn.attn.out_proj.bias
    identity = torch.randn(2, 16, 8).double()
    with torch.no_grad():
        tol = 1e-12 * float((x.abs() + out.detach().abs()).max())
        assert torch.allclose(attn(x, hw), x + out, rtol=1e-12, atol=tol)
        tol = 1e-12 * float((identity.abs() + out.detach().abs()).max())
        assert torch.allclose(attn(x, hw, identity=identity), identity + out, rtol=1e-12, atol=tol)
        # The form traced for ONNX export (token count kept symbolic) computes the same.
        tol = 1e-12 * float(out.detach().abs().max())
        assert torch.allclose(attn._traced_attention(x, kv), out, rtol=1e-12, atol=tol)
    plain = EfficientMultiheadAttention(8, 2, qkv_bias=False).double()  # float64: as above
    with torch.no_grad():
        expected = plain.attn(x, x, x, need_weights=False)[0]
        tol = 1e-12 * float(expected.abs().max())
        assert torch.allclose(plain._traced_attention(x, x), expected, rtol=1e-12, atol=tol)
    names = {n for n, _ in plain.named_parameters()}
    assert names == {"attn.in_proj_weight", "attn.out_proj.weight"}  # bias=False drops both
    with pytest.raises(ConfigError, match="not divisible"):
        EfficientMultiheadAttention(10, 3)


def test_mix_ffn_matches_formula():
    torch.manual_seed(0)
    ffn = MixFFN(4, 8).eval().double()  # float64: as in the attention test above
    x = torch.randn(1, 6, 4).double()
    fc1, pe, fc2 = ffn.layers[0], ffn.layers[1], ffn.layers[4]
    hidden = F.gelu(pe(fc1(nlc_to_nchw(x, (2, 3)))))
    expected = x + nchw_to_nlc(fc2(hidden))
    with torch.no_grad():
        tol = 1e-12 * float(expected.detach().abs().max())
        assert torch.allclose(ffn(x, (2, 3)), expected, rtol=1e-12, atol=tol)
    assert pe.groups == 8 and pe.padding == (1, 1)


def test_drop_path_patch_embed_and_padding():
    drop = DropPath(0.5)
    x = torch.ones(1000, 3)
    assert torch.equal(drop.eval()(x), x)
    torch.manual_seed(0)
    out = drop.train()(x)
    assert set(out[:, 0].tolist()) <= {0.0, 2.0} and torch.all(out == out[:, :1])
    assert 400 < int((out[:, 0] > 0).sum()) < 600
    with pytest.raises(ConfigError):
        DropPath(1.0)
    embed = PatchEmbed(3, 8, kernel_size=4, norm_cfg=dict(type="LN"))
    tokens, hw = embed(torch.randn(2, 3, 9, 6))
    assert hw == (3, 2) and tokens.shape == (2, 6, 8)  # 'corner' pads 9x6 up to 12x8
    assert AdaptivePadding(4, 4, padding="same").get_pad_shape((9, 6)) == (3, 2)
    padded = AdaptivePadding(4, 4, padding="same")(torch.ones(1, 1, 9, 6))
    assert padded.shape == (1, 1, 12, 8) and padded[0, 0, 0, 0] == 0 and padded[0, 0, 1, 1] == 1


def test_default_init_and_pretrained_round_trip(tmp_path):
    torch.manual_seed(0)
    model = MixVisionTransformer(**TINY)
    model.init_weights()
    assert model.is_init
    block = model.layers[0][1][0]
    assert torch.all(block.norm1.weight == 1) and torch.all(block.attn.attn.out_proj.bias == 0)
    assert block.attn.attn.out_proj.weight.abs().max() < 0.1  # trunc normal, std 0.02
    assert torch.all(block.ffn.layers[1].bias == 0)
    path = tmp_path / "mit.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in model.state_dict().items()}}, path)
    loaded = MixVisionTransformer(
        **TINY, init_cfg=dict(type="Pretrained", checkpoint=str(path), prefix="backbone.")
    )
    loaded.init_weights()
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with pytest.warns(DeprecationWarning):
        legacy = MixVisionTransformer(**TINY, pretrained=str(path))
    assert legacy.init_cfg == dict(type="Pretrained", checkpoint=str(path))


def test_with_cp_gradients_match():
    torch.manual_seed(0)
    two = dict(embed_dims=8, num_stages=2, num_layers=[1, 1], num_heads=[1, 2],
               patch_sizes=[7, 3], strides=[4, 2], sr_ratios=[8, 4], out_indices=(1,))  # fmt: skip
    plain = MixVisionTransformer(**two).double()
    cp = MixVisionTransformer(**two, with_cp=True).double()
    cp.load_state_dict(plain.state_dict())
    # float64: checkpointing recomputes the forward, whose kernels may sum in another order.
    # A float64 gradient summed over ~1e3 terms is off by <= ~1e3 * 1.1e-16 of their absolute
    # sum; 1e-10 of the largest gradient leaves room for cancellation between those terms.
    x = torch.randn(1, 3, 32, 32).double().requires_grad_()
    plain(x)[0].sum().backward()
    cp(x)[0].sum().backward()
    a = plain.layers[0][1][0].attn.attn.in_proj_weight.grad
    tol = 1e-10 * float(a.abs().max())
    b = cp.layers[0][1][0].attn.attn.in_proj_weight.grad
    assert torch.allclose(a, b, rtol=1e-10, atol=tol)


def test_config_errors():
    with pytest.raises(ConfigError, match="num_heads must have num_stages=4"):
        MixVisionTransformer(num_heads=[1, 2, 4])
    with pytest.raises(ConfigError, match="out_indices"):
        MixVisionTransformer(**TINY, out_indices=(4,))
    with pytest.raises(ConfigError, match="not both"):
        MixVisionTransformer(pretrained="a.pth", init_cfg=dict(type="Pretrained", checkpoint="a"))
