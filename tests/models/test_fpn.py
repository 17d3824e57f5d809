"""FPN neck: MMSeg keys, output sizes, extra levels."""

from __future__ import annotations

import pytest
import torch

from segwright.models.necks import FPN
from segwright.utils.errors import ConfigError

IN_CHANNELS = [4, 8, 16, 32]


def feats():
    return [torch.randn(1, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate(IN_CHANNELS)]


def test_fpn_keys_and_shapes():
    fpn = FPN(IN_CHANNELS, 6, num_outs=4)
    keys = set(fpn.state_dict())
    assert {
        "lateral_convs.0.conv.weight",
        "lateral_convs.3.conv.bias",
        "fpn_convs.3.conv.weight",
    } <= keys
    assert len(keys) == 16
    outs = fpn(feats())
    assert [tuple(o.shape) for o in outs] == [
        (1, 6, 16, 16),
        (1, 6, 8, 8),
        (1, 6, 4, 4),
        (1, 6, 2, 2),
    ]


def test_fpn_top_down_path_adds_upsampled_levels():
    fpn = FPN([1, 1], 1, num_outs=2)
    with torch.no_grad():
        for conv in fpn.lateral_convs:
            conv.conv.weight.fill_(1.0)
            conv.conv.bias.zero_()
        for conv in fpn.fpn_convs:
            conv.conv.weight.zero_()
            conv.conv.weight[0, 0, 1, 1] = 1.0  # identity 3x3
            conv.conv.bias.zero_()
    low, high = torch.ones(1, 1, 4, 4), torch.full((1, 1, 2, 2), 2.0)
    out_low, out_high = fpn([low, high])
    assert torch.equal(out_high, high) and torch.equal(out_low, torch.full((1, 1, 4, 4), 3.0))


@pytest.mark.parametrize("extra", [False, True, "on_input", "on_lateral", "on_output"])
def test_fpn_extra_levels(extra):
    fpn = FPN(IN_CHANNELS, 6, num_outs=6, start_level=1, add_extra_convs=extra)
    outs = fpn(feats())
    assert [o.shape[-1] for o in outs] == [8, 4, 2, 1, 1, 1]
    assert len(fpn.fpn_convs) == (3 if not extra else 6)


def test_fpn_norm_and_errors():
    fpn = FPN(IN_CHANNELS, 6, num_outs=4, norm_cfg=dict(type="BN"), no_norm_on_lateral=True)
    keys = set(fpn.state_dict())
    assert "fpn_convs.0.bn.weight" in keys and "lateral_convs.0.bn.weight" not in keys
    with pytest.raises(ConfigError, match="num_outs"):
        FPN(IN_CHANNELS, 6, num_outs=2)
    with pytest.raises(ConfigError, match="add_extra_convs"):
        FPN(IN_CHANNELS, 6, num_outs=5, add_extra_convs="on_top")
    fpn = FPN(IN_CHANNELS, 6, num_outs=2, start_level=1, end_level=3)
    assert [o.shape[-1] for o in fpn(feats())] == [8, 4]
