"""MMSeg's LearningRateDecayOptimizerConstructor / LayerDecayOptimizerConstructor."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from segwright.engine.optim import layer_decay_constructor  # noqa: F401  (registers)
from segwright.engine.optim.constructor import build_optim_wrapper
from segwright.engine.optim.layer_decay_constructor import (
    layer_id_convnext,
    layer_id_vit,
    stage_id_convnext,
)
from segwright.utils.errors import ConfigError

LR, WD, RATE = 1.0, 0.05, 0.5


class ConvNeXt(nn.Module):
    def __init__(self, depths=(1, 1, 4, 1)) -> None:
        super().__init__()
        self.downsample_layers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2, 2, 1), nn.LayerNorm(2)) for _ in range(4)
        )
        self.stages = nn.ModuleList(
            nn.ModuleList(nn.Linear(2, 2) for _ in range(d)) for d in depths
        )


class BEiT(nn.Module):
    def __init__(self, layers=3) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 2))
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, 2))
        self.patch_embed = nn.Conv2d(3, 2, 2)
        self.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(layers))


class Segmentor(nn.Module):
    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.decode_head = nn.Conv2d(2, 2, 1)


def build(model, **paramwise):
    cfg = dict(
        constructor="LearningRateDecayOptimizerConstructor",
        optimizer=dict(type="AdamW", lr=LR, weight_decay=WD),
        paramwise_cfg=paramwise,
    )
    return build_optim_wrapper(model, cfg)


def lr_of(wrapper):
    return {
        name: (group["lr"], group["weight_decay"], group["group_name"])
        for group in wrapper.optimizer.param_groups
        for name in group["param_names"]
    }


def test_layer_id_rules():
    assert layer_id_convnext("backbone.downsample_layers.0.0.weight", 12) == 0
    assert layer_id_convnext("backbone.downsample_layers.1.0.weight", 12) == 2
    assert layer_id_convnext("backbone.downsample_layers.2.0.weight", 12) == 3
    assert layer_id_convnext("backbone.downsample_layers.3.0.weight", 12) == 12
    assert layer_id_convnext("backbone.stages.0.2.weight", 12) == 1
    assert layer_id_convnext("backbone.stages.1.2.weight", 12) == 2
    assert layer_id_convnext("backbone.stages.2.7.weight", 12) == 5
    assert layer_id_convnext("backbone.stages.3.0.weight", 12) == 12
    assert layer_id_convnext("decode_head.conv_seg.weight", 12) == 13
    assert stage_id_convnext("backbone.stages.2.7.weight", 14) == 3
    assert stage_id_convnext("backbone.downsample_layers.3.0.weight", 14) == 0
    assert stage_id_convnext("decode_head.conv_seg.weight", 14) == 13
    assert layer_id_vit("backbone.pos_embed", 14) == 0
    assert layer_id_vit("backbone.patch_embed.projection.weight", 14) == 0
    assert layer_id_vit("backbone.layers.4.ffn.weight", 14) == 5
    assert layer_id_vit("decode_head.conv_seg.weight", 14) == 13


def test_convnext_layer_wise_lrs():
    model = Segmentor(ConvNeXt())
    got = lr_of(build(model, num_layers=6, decay_rate=RATE))
    eff = 6 + 2

    def lr(layer_id):
        return LR * RATE ** (eff - layer_id - 1)

    assert got["backbone.downsample_layers.0.0.weight"] == (lr(0), WD, "layer_0_decay")
    assert got["backbone.downsample_layers.0.0.bias"] == (lr(0), 0.0, "layer_0_no_decay")
    assert got["backbone.downsample_layers.0.1.weight"][1] == 0.0  # 1-D: no decay
    assert got["backbone.stages.2.2.weight"][0] == lr(3)
    assert got["backbone.stages.2.3.weight"][0] == lr(4)
    assert got["backbone.stages.3.0.weight"][0] == lr(6)
    assert got["decode_head.weight"] == (LR, WD, "layer_7_decay")
    assert len(got) == len(list(model.parameters()))


def test_convnext_stage_wise_and_lr_scale_key():
    model = Segmentor(ConvNeXt())
    wrapper = build(model, num_layers=12, decay_rate=RATE, decay_type="stage_wise")
    got = lr_of(wrapper)
    assert got["backbone.stages.2.3.weight"][0] == LR * RATE ** (14 - 3 - 1)
    assert got["decode_head.weight"][0] == LR * RATE ** (14 - 13 - 1)
    scales = {g["group_name"]: g["lr_scale"] for g in wrapper.optimizer.param_groups}
    assert scales["layer_0_decay"] == RATE**13


def test_vit_layer_wise_and_tokens_keep_decay():
    model = Segmentor(BEiT(layers=3))
    model.backbone.layers[0].weight.requires_grad_(False)
    got = lr_of(build(model, num_layers=3, decay_rate=RATE, decay_type="layer_wise_vit"))
    eff = 5
    assert got["backbone.pos_embed"] == (LR * RATE ** (eff - 1), WD, "layer_0_decay")
    assert got["backbone.layers.2.weight"][0] == LR * RATE ** (eff - 3 - 1)
    assert got["decode_head.bias"] == (LR, 0.0, "layer_4_no_decay")
    assert "backbone.layers.0.weight" not in got  # frozen: left out


def test_deprecated_layer_decay_constructor_renames_the_rate():
    model = Segmentor(BEiT(layers=3))
    cfg = dict(
        constructor="LayerDecayOptimizerConstructor",
        optimizer=dict(type="AdamW", lr=LR, weight_decay=WD),
        paramwise_cfg=dict(num_layers=3, layer_decay_rate=RATE),
    )
    got = lr_of(build_optim_wrapper(model, cfg))
    assert got["backbone.layers.1.weight"][0] == LR * RATE ** (5 - 2 - 1)


def test_errors():
    with pytest.raises(ConfigError, match="num_layers"):
        build(Segmentor(BEiT()), decay_rate=RATE)
    with pytest.raises(ConfigError, match="decay_type"):
        build(Segmentor(BEiT()), num_layers=3, decay_rate=RATE, decay_type="block_wise")
    with pytest.raises(ConfigError, match="ConvNeXt backbone"):
        build(Segmentor(BEiT()), num_layers=3, decay_rate=RATE, decay_type="stage_wise")
    with pytest.raises(ConfigError, match="'backbone'"):
        build(nn.Linear(2, 2), num_layers=3, decay_rate=RATE)
