"""Every registered loss: builds from a config dict, runs the decode-head call, backpropagates."""

from __future__ import annotations

import pytest
import torch

from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

CONFIGS = [
    dict(type="CrossEntropyLoss"),
    dict(type="CrossEntropyLoss", use_sigmoid=True),
    dict(type="CrossEntropyLoss", class_weight=[1.0, 2.0, 0.5], avg_non_ignore=True),
    dict(type="DiceLoss"),
    dict(type="DiceLoss", use_sigmoid=False, naive_dice=True),
    dict(type="DiceLossV030"),
    dict(type="CrossEntropyLoss", class_weight=[1.0, 2.0, 0.5], avg_by_class_weight=False),
    dict(type="FocalLoss"),
    dict(type="LovaszLoss", reduction="none"),
    dict(type="LovaszLoss", per_image=True),
    dict(type="TverskyLoss"),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_decode_head_call(cfg: dict) -> None:
    loss_module = MODELS.build(dict(cfg), key="decode_head.loss_decode")
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 4, 4, generator=gen, requires_grad=True)
    label = torch.randint(0, 3, (2, 4, 4), generator=gen)
    label[:, 0] = 255
    loss = loss_module(logits, label, weight=None, ignore_index=255)
    assert loss.numel() == 1 and torch.isfinite(loss).all()
    loss.sum().backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert loss_module.loss_name.startswith("loss_")


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "DiceLoss", "LovaszLoss", "FocalLoss"])
def test_loss_weight_must_be_a_number(name: str) -> None:
    extra = dict(reduction="none") if name == "LovaszLoss" else {}
    with pytest.raises(ConfigError, match="loss_weight must be a number"):
        MODELS.build(dict(type=name, loss_weight="1.0", **extra))
