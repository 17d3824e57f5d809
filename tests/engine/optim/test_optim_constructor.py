"""DefaultOptimWrapperConstructor: paramwise_cfg rules (MMEngine semantics) and building."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from segwright.engine.optim.constructor import (
    DefaultOptimWrapperConstructor,
    build_optim_wrapper,
    describe_param_groups,
)
from segwright.engine.optim.wrapper import AmpOptimWrapper, OptimWrapper
from segwright.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS
from segwright.utils.errors import ConfigError

BASE_LR = 0.01
BASE_WD = 5e-4


class TinySegmentor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 3, groups=4)
        )
        self.decode_head = nn.Module()
        self.decode_head.conv_seg = nn.Conv2d(4, 2, 1)
        self.auxiliary_head = nn.Module()
        self.auxiliary_head.conv_seg = nn.Conv2d(4, 2, 1)


def sgd(**extra):
    return dict(type="SGD", lr=BASE_LR, momentum=0.9, weight_decay=BASE_WD, **extra)


def group_of(wrapper, model):
    """param name -> the optimizer group holding it (each param is its own group here)."""
    by_id = {}
    for group in wrapper.optimizer.param_groups:
        for p in group["params"]:
            by_id[id(p)] = group
    return {name: by_id[id(p)] for name, p in model.named_parameters() if id(p) in by_id}


def build(model, paramwise_cfg=None, **optimizer):
    cfg = dict(optimizer=optimizer or sgd())
    if paramwise_cfg is not None:
        cfg["paramwise_cfg"] = paramwise_cfg
    return build_optim_wrapper(model, cfg)


def test_no_paramwise_cfg_gives_one_group_with_all_params():
    model = TinySegmentor()
    model.backbone[0].weight.requires_grad_(False)  # frozen ones included, as in MMEngine
    wrapper = build(model)
    assert type(wrapper) is OptimWrapper
    assert isinstance(wrapper.optimizer, torch.optim.SGD)
    (group,) = wrapper.optimizer.param_groups
    assert len(group["params"]) == len(list(model.parameters()))
    assert group["lr"] == BASE_LR and group["weight_decay"] == BASE_WD


def test_seed_head_lr_mult_matches_decode_and_auxiliary_heads():
    model = TinySegmentor()
    wrapper = build(model, dict(custom_keys={"head": dict(lr_mult=10.0)}))
    groups = group_of(wrapper, model)
    assert len(wrapper.optimizer.param_groups) == len(list(model.parameters())) == 9
    for name, group in groups.items():
        if "head" in name:
            assert group["lr"] == pytest.approx(BASE_LR * 10)
            assert group["lr_mult"] == 10.0  # every custom_keys entry is copied
            assert group["weight_decay"] == BASE_WD
        else:
            assert group["lr"] == BASE_LR
            assert "lr_mult" not in group
            assert group["weight_decay"] == BASE_WD
    assert wrapper.get_lr()["base_lr"] == [BASE_LR]


def test_longest_key_wins_and_ties_go_to_alphabetical_first():
    model = TinySegmentor()
    keys = {
        "head": dict(lr_mult=10.0),
        "decode_head": dict(lr_mult=2.0),
        "back": dict(lr_mult=3.0),
        "bone": dict(lr_mult=4.0),  # same length as 'back': 'back' sorts first
    }
    groups = group_of(build(model, dict(custom_keys=keys)), model)
    assert groups["decode_head.conv_seg.weight"]["lr"] == pytest.approx(BASE_LR * 2)
    assert groups["auxiliary_head.conv_seg.bias"]["lr"] == pytest.approx(BASE_LR * 10)
    assert groups["backbone.0.weight"]["lr"] == pytest.approx(BASE_LR * 3)


def test_custom_key_decay_mult_and_extra_options_are_copied():
    model = TinySegmentor()
    keys = {"backbone.1": dict(decay_mult=0.0, momentum=0.5)}
    groups = group_of(build(model, dict(custom_keys=keys)), model)
    bn_weight = groups["backbone.1.weight"]
    assert bn_weight["lr"] == BASE_LR and bn_weight["weight_decay"] == 0.0
    assert bn_weight["momentum"] == 0.5 and bn_weight["decay_mult"] == 0.0
    assert groups["backbone.0.weight"]["momentum"] == 0.9


def test_root_level_parameter_is_matched_with_a_leading_dot():
    model = nn.Linear(2, 2)
    groups = group_of(build(model, dict(custom_keys={".weight": dict(lr_mult=0.5)})), model)
    assert groups["weight"]["lr"] == pytest.approx(BASE_LR * 0.5)
    assert groups["bias"]["lr"] == BASE_LR


class RuleModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))  # root-level 1-D parameter
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.dw = nn.Conv2d(4, 4, 3, groups=4)
        self.fc = nn.Linear(4, 2)


def test_norm_bias_dwconv_flat_rules_in_mmengine_order():
    model = RuleModel()
    cfg = dict(
        bias_lr_mult=2.0,
        bias_decay_mult=0.5,
        norm_decay_mult=0.0,
        dwconv_decay_mult=0.1,
        flat_decay_mult=0.3,
    )
    wrapper = build(model, cfg, type="SGD", lr=1.0, weight_decay=1.0)
    g = {name: (grp["lr"], grp["weight_decay"]) for name, grp in group_of(wrapper, model).items()}
    assert g == {
        "scale": (1.0, 0.3),  # flat
        "conv.weight": (1.0, 1.0),
        "conv.bias": (2.0, 0.5),
        "bn.weight": (1.0, 0.0),  # norm first
        "bn.bias": (1.0, 0.0),  # no bias_lr_mult in norm layers; norm rule before bias
        "dw.weight": (1.0, 0.1),
        "dw.bias": (2.0, 0.5),  # bias rule before dwconv rule (MMEngine order)
        "fc.weight": (1.0, 1.0),
        "fc.bias": (2.0, 0.5),
    }


def test_unset_rule_lets_a_later_rule_apply():
    model = RuleModel()
    wrapper = build(model, dict(bias_decay_mult=0.0), type="SGD", lr=1.0, weight_decay=1.0)
    g = {name: grp["weight_decay"] for name, grp in group_of(wrapper, model).items()}
    assert g["bn.bias"] == 0.0  # norm_decay_mult unset -> the bias rule applies
    assert g["bn.weight"] == 1.0
    assert g["scale"] == 1.0  # flat_decay_mult unset


def test_custom_key_switches_off_all_other_rules():
    model = RuleModel()
    cfg = dict(custom_keys={"bn": dict(lr_mult=3.0)}, norm_decay_mult=0.0, bias_lr_mult=2.0)
    wrapper = build(model, cfg, type="SGD", lr=1.0, weight_decay=1.0)
    g = {name: (grp["lr"], grp["weight_decay"]) for name, grp in group_of(wrapper, model).items()}
    assert g["bn.weight"] == (3.0, 1.0) and g["bn.bias"] == (3.0, 1.0)


class DeformConv2d(nn.Module):
    """A stand-in for a pure-PyTorch DCN: detected by class name."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(4, 4, 3, 3))
        self.bias = nn.Parameter(torch.zeros(4))


class DeformConv2dPack(DeformConv2d):
    def __init__(self) -> None:
        super().__init__()
        self.conv_offset = nn.Conv2d(4, 18, 3)


def test_dcn_offset_rules():
    model = nn.Module()
    model.dcn = DeformConv2dPack()
    cfg = dict(dcn_offset_lr_mult=0.1, bias_lr_mult=2.0, bias_decay_mult=0.5, flat_decay_mult=0.3)
    wrapper = build(model, cfg, type="SGD", lr=1.0, weight_decay=1.0)
    g = {name: (grp["lr"], grp["weight_decay"]) for name, grp in group_of(wrapper, model).items()}
    assert g["dcn.weight"] == (1.0, 1.0)
    assert g["dcn.bias"] == (2.0, 0.5)  # the DCN module's own bias is an ordinary bias
    assert g["dcn.conv_offset.weight"] == (0.1, 1.0)
    assert g["dcn.conv_offset.bias"] == (0.1, 1.0)  # offset lr wins; no bias/flat decay


def test_frozen_params_are_bare_groups_without_rules():
    model = TinySegmentor()
    model.backbone[0].weight.requires_grad_(False)
    cfg = dict(custom_keys={"backbone": dict(lr_mult=0.1, decay_mult=0.0)})
    wrapper = build(model, cfg)
    groups = group_of(wrapper, model)
    frozen = groups["backbone.0.weight"]
    assert frozen["lr"] == BASE_LR and frozen["weight_decay"] == BASE_WD
    assert "lr_mult" not in frozen
    assert groups["backbone.1.weight"]["lr"] == pytest.approx(BASE_LR * 0.1)
    first_row = describe_param_groups(wrapper).splitlines()[2].split()
    assert first_row[:2] == ["0.01", "0.0005"] and first_row[-1] == "1"  # one frozen tensor


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = nn.Linear(3, 3)
        self.b.weight = self.a.weight


def test_shared_parameter_needs_bypass_duplicate(caplog):
    model = Tied()
    with pytest.raises(ConfigError, match="bypass_duplicate"):
        build(model, dict(bias_lr_mult=1.0))
    with caplog.at_level(logging.WARNING):
        wrapper = build(model, dict(bias_lr_mult=1.0, bypass_duplicate=True))
    assert len(wrapper.optimizer.param_groups) == 3  # a.weight, a.bias, b.bias
    assert "b.weight" in caplog.text


def test_decay_mult_without_weight_decay_is_rejected():
    model = TinySegmentor()
    with pytest.raises(ConfigError, match="weight_decay"):
        build(model, dict(custom_keys={"head": dict(decay_mult=0.0)}), type="SGD", lr=0.1)
    with pytest.raises(ConfigError, match="norm_decay_mult"):
        build(model, dict(norm_decay_mult=0.0), type="SGD", lr=0.1)
    # lr_mult alone needs no weight decay; the group gets none
    build(model, dict(custom_keys={"head": dict(lr_mult=2.0)}), type="SGD", lr=0.1)


def test_invalid_paramwise_cfg_values():
    cfg = dict(optimizer=sgd())
    with pytest.raises(ConfigError, match="custom_keys must be a dict"):
        DefaultOptimWrapperConstructor(cfg, dict(custom_keys=["head"]))
    with pytest.raises(ConfigError, match=r"custom_keys\['head'\]"):
        DefaultOptimWrapperConstructor(cfg, dict(custom_keys={"head": 10.0}))
    with pytest.raises(ConfigError, match="paramwise_cfg must be"):
        DefaultOptimWrapperConstructor(cfg, [("bias_lr_mult", 2.0)])
    with pytest.raises(ConfigError, match="no 'optimizer'"):
        DefaultOptimWrapperConstructor(dict(type="OptimWrapper"))


def test_unknown_paramwise_key_warns_with_suggestion(caplog):
    with caplog.at_level(logging.WARNING):
        DefaultOptimWrapperConstructor(dict(optimizer=sgd()), dict(norm_decay_mul=0.0))
    assert "norm_decay_mult" in caplog.text


def test_missing_lr_falls_back_to_the_optimizer_default():
    model = nn.Linear(2, 2)
    wrapper = build(model, dict(bias_lr_mult=2.0), type="Adam")
    groups = group_of(wrapper, model)
    assert groups["bias"]["lr"] == pytest.approx(2 * 1e-3)


def test_ddp_like_wrapper_is_unwrapped():
    class FakeDDP(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    model = TinySegmentor()
    wrapper = build(FakeDDP(model), dict(custom_keys={"module.backbone": dict(lr_mult=0.0)}))
    assert all(g["lr"] == BASE_LR for g in wrapper.optimizer.param_groups)


def test_wrapper_type_and_options_are_passed_on():
    model = TinySegmentor()
    cfg = dict(
        type="AmpOptimWrapper",
        dtype="bfloat16",
        optimizer=dict(type="mmengine.AdamW", lr=1e-3),
        clip_grad=dict(max_norm=1.0),
        accumulative_counts=2,
    )
    wrapper = build_optim_wrapper(model, cfg)
    assert isinstance(wrapper, AmpOptimWrapper) and isinstance(wrapper.optimizer, torch.optim.AdamW)
    assert wrapper.clip_grad_kwargs == {"max_norm": 1.0}
    assert cfg["optimizer"] == dict(type="mmengine.AdamW", lr=1e-3)  # caller's dict untouched


def test_unknown_optimizer_type_names_the_key():
    with pytest.raises(ConfigError, match="optim_wrapper.optimizer"):
        build(TinySegmentor(), type="SDG", lr=0.1)


@OPTIMIZERS.register_module(force=True)
class MyOptimizer(torch.optim.SGD):
    """The MMSeg docs' custom optimizer: extra arguments a, b, c."""

    def __init__(self, params, a, b, c, lr=0.1):
        super().__init__(params, lr=lr)
        self.abc = (a, b, c)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class MyOptimizerConstructor(DefaultOptimWrapperConstructor):
    """Backbone in one group at lr/10, the rest in another."""

    def add_params(self, params, module, prefix="", is_dcn_module=None):
        backbone = list(module.backbone.parameters())
        ids = {id(p) for p in backbone}
        params.append({"params": backbone, "lr": self.base_lr * 0.1})
        params.append({"params": [p for p in module.parameters() if id(p) not in ids]})


def test_user_registered_optimizer():
    model = TinySegmentor()
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type="MyOptimizer", a=1, b=2, c=3)))
    assert isinstance(wrapper.optimizer, MyOptimizer)
    assert wrapper.optimizer.abc == (1, 2, 3) and wrapper.get_lr()["lr"] == [0.1]


def test_user_registered_constructor():
    model = TinySegmentor()
    cfg = dict(
        constructor="MyOptimizerConstructor",
        optimizer=sgd(),
        paramwise_cfg=dict(anything=1),
    )
    wrapper = build_optim_wrapper(model, cfg)
    assert wrapper.get_lr() == {"base_lr": [BASE_LR], "lr": [pytest.approx(BASE_LR * 0.1), BASE_LR]}


def test_describe_param_groups_merges_equal_settings():
    model = TinySegmentor()
    wrapper = build(model, dict(custom_keys={"head": dict(lr_mult=10.0)}))
    text = describe_param_groups(wrapper)
    lines = text.splitlines()
    assert "9 parameter group(s), 2 distinct" in lines[0]
    assert lines[1].split() == ["lr", "weight_decay", "groups", "tensors", "elements", "frozen"]
    backbone_elements = 4 * 3 * 3 * 3 + 4 + 4 + 4 * 3 * 3 + 4
    assert lines[2].split() == ["0.01", "0.0005", "5", "5", str(backbone_elements), "0"]
    assert lines[3].split() == ["0.1", "0.0005", "4", "4", "20", "0"]
    assert lines[4].split()[0] == "total"
