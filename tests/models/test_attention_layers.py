"""The attention building blocks' own rules: identity at init, MMCV's keys, loud errors.

Their numbers against MMCV/MMSeg are checked in ``test_zoo_attention_parity.py``.
"""

from __future__ import annotations

import pytest
import torch

from segwright.models.heads.ema_head import EMAModule
from segwright.models.layers.context_block import ContextBlock
from segwright.models.layers.non_local import NonLocal2d
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")


def test_blocks_start_as_identity_with_mmcv_keys():
    x = torch.randn(2, 8, 5, 6)
    block = NonLocal2d(8, norm_cfg=dict(type="BN"))
    torch.testing.assert_close(block.eval()(x), x)
    assert {k.rsplit(".", 1)[0] for k in block.state_dict()} == {
        "g.conv", "theta.conv", "phi.conv", "conv_out.conv", "conv_out.bn",
    }  # fmt: skip
    sub = NonLocal2d(8, sub_sample=True, mode="gaussian")
    assert "g.0.conv.weight" in sub.state_dict() and not hasattr(sub, "theta")
    gc = ContextBlock(8, ratio=0.25, fusion_types=("channel_add", "channel_mul"))
    out = gc(x)
    torch.testing.assert_close(out, x * 0.5)  # add term 0, mul term sigmoid(0)
    assert "channel_add_conv.1.weight" in gc.state_dict()  # the LayerNorm


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: NonLocal2d(8, mode="cosine"), "mode must be one of"),
        (lambda: ContextBlock(8, 0.25, pooling_type="max"), "pooling_type"),
        (lambda: ContextBlock(8, 0.25, fusion_types=()), "non-empty"),
        (lambda: ContextBlock(8, 0.25, fusion_types=("add",)), "unknown fusion_types"),
        (lambda: EMAModule(8, 4, 0, 0.1), "num_stages"),
    ],
)
def test_bad_arguments_raise_config_errors(build, match):
    with pytest.raises(ConfigError, match=match):
        build()


def test_ema_bases_move_in_training_only():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(type="EMAHead", in_channels=4, channels=4, ema_channels=4, num_bases=3,
             num_stages=2, num_classes=3, norm_cfg=dict(type="BN"))
    )  # fmt: skip
    feats = [torch.randn(2, 4, 6, 6)]
    before = head.ema_module.bases.clone()
    head.eval()
    head(feats)
    torch.testing.assert_close(head.ema_module.bases, before)
    head.train()
    head(feats)
    assert not torch.equal(head.ema_module.bases, before)
    norms = head.ema_module.bases.norm(dim=1)
    assert float(norms.max()) <= 1 + 1e-6  # a blend of unit vectors
    assert all(not p.requires_grad for p in head.ema_mid_conv.parameters())


def test_heads_fix_num_convs_like_mmseg():
    for name in ("NLHead", "GCHead", "DNLHead", "CCHead"):
        with pytest.raises(TypeError):
            MODELS.build(dict(type=name, in_channels=8, channels=8, num_classes=3, num_convs=1))
