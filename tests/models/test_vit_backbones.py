"""ViT/BEiT/MAE options that the MMSeg parity fixtures leave out, and their loading paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from segwright.models.backbones.beit import BEiT, relative_position_index
from segwright.models.backbones.mae import MAE
from segwright.models.backbones.vit import VisionTransformer, resize_pos_embed
from segwright.models.necks.featurepyramid import Feature2Pyramid
from segwright.utils.errors import ConfigError

TINY = dict(img_size=32, patch_size=8, embed_dims=8, num_layers=2, num_heads=2)
#: MMSeg's resizing of a BEiT bias table (see fixtures/mmseg_vit/generate_with_mmseg.py)
FIXTURE = Path(__file__).parent / "fixtures" / "mmseg_vit" / "rel_pos_resize.pt"


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_vit_out_origin_and_cls_token_outputs() -> None:
    torch.manual_seed(0)
    vit = VisionTransformer(**TINY, out_indices=(0, 1), out_origin=True, output_cls_token=True)
    vit.init_weights()
    outs = vit(torch.randn(2, 3, 32, 32))
    assert len(outs) == 3 == len(vit.out_channels)
    for feature, cls_token in outs:
        assert feature.shape == (2, 8, 4, 4) and cls_token.shape == (2, 8)


def test_vit_without_class_token_reads_patch_tokens_only() -> None:
    torch.manual_seed(0)
    vit = VisionTransformer(**TINY, with_cls_token=False).eval()
    x = torch.randn(1, 3, 32, 32)
    before = vit(x)[0]
    with torch.no_grad():
        vit.cls_token.add_(1.0)  # unused in the encoder; its pos_embed entry is dropped too
    torch.testing.assert_close(vit(x)[0], before)


def test_vit_frozen_exclude_and_norm_eval() -> None:
    vit = VisionTransformer(**TINY, frozen_exclude=["layers.1"], norm_eval=True)
    trainable = {n for n, p in vit.named_parameters() if p.requires_grad}
    assert trainable and all("layers.1" in n for n in trainable)
    vit.train()
    assert not vit.layers[0].ln1.training and vit.layers[0].attn.training


def test_vit_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError, match="with_cls_token"):
        VisionTransformer(**TINY, with_cls_token=False, output_cls_token=True)
    with pytest.raises(ConfigError, match="out_indices"):
        VisionTransformer(**TINY, out_indices=(2,))


def test_relative_position_index_matches_mmseg_for_a_2x3_window() -> None:
    # MMSeg 1.2.2's BEiTAttention(8, 2, window_size=(2, 3)).relative_position_index
    expected = torch.tensor([
        [17, 15, 15, 15, 15, 15, 15],
        [16, 7, 6, 5, 2, 1, 0],
        [16, 8, 7, 6, 3, 2, 1],
        [16, 9, 8, 7, 4, 3, 2],
        [16, 12, 11, 10, 7, 6, 5],
        [16, 13, 12, 11, 8, 7, 6],
        [16, 14, 13, 12, 9, 8, 7],
    ])  # fmt: skip
    torch.testing.assert_close(relative_position_index((2, 3)), expected)


def _save(module: torch.nn.Module, path: Path) -> str:
    torch.save({"state_dict": module.state_dict()}, path)
    return str(path)


def test_beit_pretrained_loads_same_window_and_resizes_another_as_mmseg(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = BEiT(**TINY)  # a 4x4 window
    source.init_weights()
    ref = torch.load(FIXTURE, map_location="cpu", weights_only=True)
    with torch.no_grad():
        source.layers[0].attn.relative_position_bias_table.copy_(ref["table"])
    path = _save(source, tmp_path / "beit.pth")
    same = BEiT(**TINY, init_cfg=dict(type="Pretrained", checkpoint=path))
    same.init_weights()
    for key, value in source.state_dict().items():
        torch.testing.assert_close(same.state_dict()[key], value, msg=key)
    other = BEiT(**{**TINY, "img_size": 48}, init_cfg=dict(type="Pretrained", checkpoint=path))
    other.init_weights()  # a 6x6 window: the table is resized as MMSeg resizes it
    ours = other.state_dict()[ref["key"]]
    # both sides evaluate the same cubic spline in float64 and round to float32: 1e-6 of the
    # table's scale is a few float32 ulps
    scale = ref["resized"].abs().max()
    assert float((ours - ref["resized"]).abs().max() / scale) <= 1e-6
    assert other(torch.randn(1, 3, 48, 48))[0].shape == (1, 8, 6, 6)


def test_mae_pretrained_gets_its_pos_embed_resized(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = MAE(**{**TINY, "img_size": 16})  # a 2x2 grid: tables of the 2x2 window
    with torch.no_grad():
        source.pos_embed.normal_()
    state = {k: v for k, v in source.state_dict().items() if "relative_position" not in k}
    path = tmp_path / "mae.pth"
    torch.save(state, path)
    target = MAE(**TINY, init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    target.init_weights()
    expected = resize_pos_embed(source.pos_embed.detach(), (4, 4), (2, 2), "bicubic")
    torch.testing.assert_close(target.pos_embed.detach(), expected)
    assert target(torch.randn(1, 3, 32, 32))[0].shape == (1, 8, 4, 4)


def test_mae_default_init_scales_output_projections_by_depth() -> None:
    torch.manual_seed(0)
    mae = MAE(**TINY, init_cfg=dict(type="Constant", val=0.0, layer="Conv2d"))
    mae.init_weights()  # init_cfg rules run after BEiT's basic init and MAE's rescaling
    assert not mae.patch_embed.projection.weight.any()
    std = [float(layer.attn.proj.weight.detach().std()) for layer in mae.layers]
    assert std[1] < std[0]  # 1/sqrt(4) vs 1/sqrt(2) of the same truncated normal


def test_feature2pyramid_rejects_unknown_or_misordered_scales() -> None:
    with pytest.raises(ConfigError, match="among"):
        Feature2Pyramid(8, rescales=[3, 1])
    with pytest.raises(ConfigError, match="order"):
        Feature2Pyramid(8, rescales=[4, 1, 0.5, 2], norm_cfg=dict(type="BN"))


def test_beit_says_which_input_size_it_takes() -> None:
    with pytest.raises(ValueError, match="img_size"):
        BEiT(**TINY)(torch.randn(1, 3, 48, 48))
