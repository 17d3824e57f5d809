"""Behaviour of the hierarchical backbones beyond the parity fixtures: full-size key layouts
(MMSeg's and mmpretrain's checkpoints load strictly), Swin's pretrained loading and freezing,
ConvNeXt's two pointwise layouts, PoolFormer's index rules, NMF's fixed bases.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from segwright.models.backbones.convnext import ConvNeXt
from segwright.models.backbones.poolformer import PoolFormer
from segwright.models.backbones.swin import SwinTransformer
from segwright.models.heads.ham_head import NMF2D
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

LAYOUTS = json.loads(
    (Path(__file__).parent / "fixtures" / "mmseg_hier" / "full_size_keys.json").read_text()
)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _tiny_swin(**kw: object) -> SwinTransformer:
    args = dict(embed_dims=8, depths=(2, 1), num_heads=(1, 2), strides=(4, 2), out_indices=(0, 1))
    args.update(kw)
    return SwinTransformer(**args)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_full_size_state_dict_layout_is_the_references(name: str) -> None:
    """Key -> shape of MMSeg's (mmpretrain's) full-size backbone, recorded by the generator."""
    with torch.device("meta"):
        backbone = MODELS.build(LAYOUTS[name]["cfg"])
    ours = {k: list(v.shape) for k, v in backbone.state_dict().items()}
    assert ours == LAYOUTS[name]["keys"]


def test_swin_pretrained_resizes_bias_tables_and_strips_backbone_prefix(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = _tiny_swin(window_size=3)
    source.init_weights()
    state = {f"backbone.{k}": v for k, v in source.state_dict().items()}
    table_key = "stages.0.blocks.1.attn.w_msa.relative_position_bias_table"
    state[f"backbone.{table_key}"] = torch.randn(25, 1)  # (2*3-1)**2 entries
    path = tmp_path / "swin.pth"
    torch.save({"state_dict": state}, path)
    target = _tiny_swin(window_size=5, init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    target.init_weights()
    grid = state[f"backbone.{table_key}"].t().reshape(1, 1, 5, 5)
    expected = F.interpolate(grid, size=(9, 9), mode="bicubic").reshape(1, 81).t()
    torch.testing.assert_close(target.state_dict()[table_key], expected)
    torch.testing.assert_close(
        target.patch_embed.projection.weight, source.patch_embed.projection.weight
    )
    # the index buffer is the target's own (window 5), not the checkpoint's
    assert target.state_dict()[table_key.replace("bias_table", "index")].shape == (25, 25)


def test_swin_frozen_stages_stay_frozen_in_train_mode() -> None:
    model = _tiny_swin(frozen_stages=1)
    model.train()
    assert not model.patch_embed.training and not model.stages[0].training
    assert not model.norm0.training and model.stages[1].training
    frozen = [model.patch_embed, model.stages[0], model.norm0]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in model.stages[1].parameters())


def test_swin_absolute_position_embedding_at_the_pretraining_size() -> None:
    model = _tiny_swin(use_abs_pos_embed=True, pretrain_img_size=32)
    model.init_weights()
    assert model.absolute_pos_embed.shape == (1, 64, 8)
    outs = model(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(1, 8, 8, 8), (1, 16, 4, 4)]


def test_swin_rejects_an_overlapping_patch_embedding() -> None:
    with pytest.raises(ConfigError, match="patch_size"):
        _tiny_swin(patch_size=3)


@pytest.mark.parametrize("use_grn", [False, True])
def test_convnext_linear_and_conv_pointwise_layouts_agree(use_grn: bool) -> None:
    """Channel-last Linear MLP and channel-first 1x1 convs are one computation."""
    torch.manual_seed(0)
    arch = dict(depths=[1, 1], channels=[8, 16])
    common = dict(arch=arch, out_indices=(0, 1), use_grn=use_grn, layer_scale_init_value=0.5)
    linear = ConvNeXt(linear_pw_conv=True, gap_before_final_norm=False, **common)
    conv = ConvNeXt(linear_pw_conv=False, gap_before_final_norm=False, **common)
    state = {}
    for key, value in linear.state_dict().items():
        if "grn" in key:
            value = torch.randn_like(value)
        elif "pointwise_conv" in key and key.endswith("weight"):
            value = value[:, :, None, None]
        state[key] = value
    linear.load_state_dict({k: v.reshape(linear.state_dict()[k].shape) for k, v in state.items()})
    conv.load_state_dict(state)
    x = torch.randn(2, 3, 32, 32)
    for a, b in zip(linear(x), conv(x)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_convnext_pooled_outputs_and_negative_indices() -> None:
    model = ConvNeXt(arch=dict(depths=[1, 1], channels=[8, 16]), out_indices=-1)
    assert model.out_indices == [1] and hasattr(model, "norm1") and not hasattr(model, "norm0")
    (out,) = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 16)  # gap_before_final_norm: pooled vectors
    with pytest.raises(ConfigError, match="LN2d"):
        ConvNeXt(arch=dict(depths=[1], channels=[8]), norm_cfg=dict(type="BN"))


def test_mmpretrain_scope_prefix_builds_our_classes() -> None:
    convnext = MODELS.build(dict(type="mmpretrain.ConvNeXt", arch=dict(depths=[1], channels=[8])))
    arch = dict(layers=[1], embed_dims=[8])
    pool = MODELS.build(dict(type="mmpretrain.PoolFormer", arch=arch, out_indices=0))
    assert type(convnext) is ConvNeXt and type(pool) is PoolFormer


def test_poolformer_indices_and_freezing() -> None:
    arch = dict(layers=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32])
    model = PoolFormer(arch=arch)  # out_indices=-1: mmpretrain's 7 + index
    assert model.out_indices == [6] and model.out_channels == (32,)
    model = PoolFormer(arch=arch, out_indices=(0, 1, 6), frozen_stages=1)
    assert model.out_strides == (4, 8, 32) and model.out_channels == (8, 16, 32)
    model.train()
    assert not model.patch_embed.training and not model.network[0].training
    assert not any(p.requires_grad for p in model.norm0.parameters())
    assert all(p.requires_grad for p in model.network[1].parameters())
    outs = model(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(1, 8, 8, 8), (1, 16, 4, 4), (1, 32, 1, 1)]


def test_nmf_fixed_bases_are_drawn_once_and_kept() -> None:
    nmf = NMF2D(dict(MD_R=3, rand_init=False))
    x = torch.rand(2, 8, 4, 4)
    out = nmf(x)
    assert nmf.bases.shape == (1, 8, 3) and "bases" in nmf.state_dict()
    torch.testing.assert_close(nmf(x), out)  # same bases, same result
    assert (out >= 0).all()  # non-negative factors of a non-negative input
    with pytest.raises(ConfigError, match="unknown keys"):
        NMF2D(dict(MD_Q=1))


def test_mmseg_convnext_config_loads_without_mmpretrain(tmp_path: Path) -> None:
    """MMSeg's ConvNeXt/PoolFormer configs import mmpretrain.models; segwright stands in."""
    from segwright.config.load import load_config

    path = tmp_path / "convnext.py"
    path.write_text(
        "custom_imports = dict(imports='mmpretrain.models', allow_failed_imports=False)\n"
        "model = dict(backbone=dict(type='mmpretrain.ConvNeXt', arch='tiny'))\n"
    )
    cfg = load_config(str(path))
    assert MODELS.get(cfg.model.backbone.type) is ConvNeXt
