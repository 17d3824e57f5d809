"""The shared transformer blocks of ``segwright.models.layers`` and the backbone helpers that
several model families use: one attention base, FFN/encoder layers, ``pretrained=``, norm_eval.

Their numbers against MMSeg/MMDet are checked by the zoo parity tests (ViT, SegFormer, Twins,
K-Net, MaskFormer, Mask2Former); these tests pin the rules the families rely on.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from segwright.models.backbones.beit import BEiT
from segwright.models.backbones.mae import MAE
from segwright.models.backbones.utils import NormEvalMixin, freeze
from segwright.models.layers.attention import EfficientMultiheadAttention, MultiheadAttention
from segwright.models.layers.checkpoint import checkpointed
from segwright.models.layers.drop import DropPath, build_dropout, drop_path_rates
from segwright.models.layers.transformer import FFN, transformer_encoder_layers
from segwright.models.utils.pretrained import conv_backbone_init, init_cfg_from_pretrained
from segwright.utils.errors import ConfigError


def test_efficient_attention_without_reduction_is_the_plain_attention():
    # MMSeg's EfficientMultiheadAttention subclasses MMCV's MultiheadAttention; with
    # sr_ratio=1 it adds nothing, so the same weights give the same output bit for bit.
    torch.manual_seed(0)
    efficient = EfficientMultiheadAttention(8, 2, qkv_bias=True, sr_ratio=1).eval()
    plain = MultiheadAttention(8, 2, batch_first=True).eval()
    assert isinstance(efficient, MultiheadAttention)
    assert set(efficient.state_dict()) == set(plain.state_dict())
    plain.load_state_dict(efficient.state_dict())
    x, identity = torch.randn(2, 6, 8), torch.randn(2, 6, 8)
    with torch.no_grad():
        assert torch.equal(efficient(x), plain(x))
        assert torch.equal(efficient(x, identity=identity), plain(x, identity=identity))


def test_efficient_attention_adds_only_the_spatial_reduction():
    base = set(EfficientMultiheadAttention(8, 2, qkv_bias=True).state_dict())
    reduced = set(EfficientMultiheadAttention(8, 2, qkv_bias=True, sr_ratio=2).state_dict())
    assert reduced - base == {"sr.weight", "sr.bias", "norm.weight", "norm.bias"}
    with pytest.raises(ValueError, match="needs hw_shape"):
        EfficientMultiheadAttention(8, 2, sr_ratio=2)(torch.randn(1, 4, 8))
    with pytest.raises(ConfigError, match="batch_first=True only"):
        EfficientMultiheadAttention(8, 2, batch_first=False)


def test_attention_layouts_and_traced_form_agree():
    # Sequence-first and batch-first modules with the same weights compute the same thing,
    # and the form written for tracing (ONNX) matches the eager one in both layouts.
    torch.manual_seed(0)
    first = MultiheadAttention(8, 2, batch_first=True).eval().double()
    seq = MultiheadAttention(8, 2, batch_first=False).eval().double()
    seq.load_state_dict(first.state_dict())
    q, kv = torch.randn(2, 5, 8).double(), torch.randn(2, 7, 8).double()
    pos = torch.randn(2, 5, 8).double()
    with torch.no_grad():
        expected = first(q, kv, kv, query_pos=pos)
        got = seq(q.transpose(0, 1), kv.transpose(0, 1), kv.transpose(0, 1),
                  query_pos=pos.transpose(0, 1)).transpose(0, 1)  # fmt: skip
        # float64: only the summation order differs, so 1e-12 of the magnitude is ample.
        tol = 1e-12 * float(expected.abs().max())
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=tol)
        for module, args in (
            (first, (q, kv, kv)),
            (seq, tuple(t.transpose(0, 1) for t in (q, kv, kv))),
        ):
            eager = module.attend(*args)
            torch.testing.assert_close(module._traced_attention(*args), eager, rtol=1e-12, atol=tol)


def test_attention_mmcv_arguments():
    attn = MultiheadAttention(8, 2, dropout=0.3, bias=False)
    assert attn.attn.dropout == 0.3 and attn.proj_drop.p == 0.3  # MMCV's deprecated alias
    assert {n for n, _ in attn.named_parameters()} == {
        "attn.in_proj_weight",
        "attn.out_proj.weight",
    }
    assert isinstance(MultiheadAttention(8, 2).dropout_layer, nn.Dropout)
    assert isinstance(MultiheadAttention(8, 2, dropout_layer=None).dropout_layer, nn.Identity)
    with pytest.raises(ConfigError, match="MultiheadAttention: embed_dims=10 is not divisible"):
        MultiheadAttention(10, 3)


def test_dropout_builder_and_rates():
    assert isinstance(build_dropout(None), nn.Identity)
    assert isinstance(build_dropout(dict(type="DropPath", drop_prob=0.1)), DropPath)
    assert build_dropout(dict(type="Dropout", drop_prob=0.2)).p == 0.2
    with pytest.raises(ConfigError, match="unknown keys"):
        build_dropout(dict(type="Dropout", drop_prob=0.1, inplace=True))
    with pytest.raises(ConfigError, match="'DropPath' or 'Dropout'"):
        build_dropout(dict(type="DropBlock"))
    assert drop_path_rates(0.3, 4) == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_encoder_layers_rise_stochastic_depth_linearly():
    layers = transformer_encoder_layers(3, 0.2, embed_dims=8, num_heads=2, feedforward_channels=16)
    # The first block gets rate 0 and so no DropPath at all, as in MMSeg.
    assert isinstance(layers[0].ffn.dropout_layer, nn.Identity)
    assert [layers[i].ffn.dropout_layer.drop_prob for i in (1, 2)] == pytest.approx([0.1, 0.2])
    keys = {k for k in layers[0].state_dict() if not k.startswith("ffn")}
    assert keys == {
        "ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias", "attn.attn.in_proj_weight",
        "attn.attn.in_proj_bias", "attn.attn.out_proj.weight", "attn.attn.out_proj.bias",
    }  # fmt: skip
    x = torch.randn(2, 5, 8)
    assert layers.eval()[2](x).shape == x.shape


def test_ffn_residual_and_keys():
    ffn = FFN(4, 8, num_fcs=3, add_identity=True).eval()
    assert sorted(k for k in ffn.state_dict() if k.endswith("weight")) == [
        "layers.0.0.weight", "layers.1.0.weight", "layers.2.weight",
    ]  # fmt: skip
    x, identity = torch.randn(3, 4), torch.randn(3, 4)
    with torch.no_grad():
        torch.testing.assert_close(ffn(x, identity) - identity, ffn(x) - x)
    with pytest.raises(ConfigError, match="at least 2"):
        FFN(4, 8, num_fcs=1)


def test_pretrained_becomes_init_cfg_once():
    default = conv_backbone_init()
    assert init_cfg_from_pretrained("Net", None, None, default) == default
    given = dict(type="Normal", std=0.1)
    assert init_cfg_from_pretrained("Net", None, given, default) is given
    with pytest.warns(DeprecationWarning, match="Net pretrained= is deprecated"):
        cfg = init_cfg_from_pretrained("Net", "w.pth", None, default)
    assert cfg == dict(type="Pretrained", checkpoint="w.pth")
    with pytest.raises(ConfigError, match="Net: set either init_cfg or pretrained, not both"):
        init_cfg_from_pretrained("Net", "w.pth", given)
    with pytest.raises(ConfigError, match="Net pretrained must be a path or None, got 3"):
        init_cfg_from_pretrained("Net", 3, None)


class _Tiny(NormEvalMixin):
    def __init__(self, norm_eval: bool) -> None:
        super().__init__()
        self.norm_eval = norm_eval
        self.stem = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
        self.body = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2))

    def _freeze_stages(self) -> None:
        freeze(self.stem)


def test_norm_eval_mixin_keeps_frozen_parts_and_batch_norms_in_eval():
    net = _Tiny(norm_eval=True).train()
    assert net.training and not net.stem.training and not net.body[1].training
    assert net.body[0].training  # only norms are held in eval
    assert not any(p.requires_grad for p in net.stem.parameters())
    assert all(p.requires_grad for p in net.body.parameters())
    plain = _Tiny(norm_eval=False).train()
    assert plain.body[1].training and not plain.stem.training
    assert not plain.eval().body[1].training


def test_checkpointed_gives_the_same_values_and_gradients():
    torch.manual_seed(0)
    block = nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 4))
    x = torch.randn(3, 4, requires_grad=True)
    grads = []
    for with_cp in (False, True):
        x.grad = None
        block.zero_grad()
        out = checkpointed(block, x, with_cp)
        out.sum().backward()
        grads.append((out.detach(), x.grad.clone(), block[0].weight.grad.clone()))
    # The recomputation repeats the same float32 operations, so the results are identical.
    for plain, recomputed in zip(grads[0], grads[1]):
        assert torch.equal(plain, recomputed)


def test_transformer_backbones_hold_layer_norms_in_eval_with_norm_eval():
    for cls in (BEiT, MAE):
        net = cls(img_size=32, patch_size=16, embed_dims=8, num_layers=1, num_heads=2,
                  norm_eval=True).train()  # fmt: skip
        norms = [m for m in net.modules() if isinstance(m, nn.LayerNorm)]
        assert norms and not any(m.training for m in norms)
        assert net.training and net.layers[0].ffn.training
