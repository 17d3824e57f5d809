"""SingleRoIExtractor: FPN level mapping, pooling order, empty RoIs, configuration errors."""

from __future__ import annotations

import pytest
import torch
from roi_head_fixtures import CHANNELS, STRIDES, features, roi_extractor_cfg

from segwright.models.roi_heads import SingleRoIExtractor
from segwright.ops import roi_align
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def build(output_size: int = 7) -> SingleRoIExtractor:
    return MODELS.build(roi_extractor_cfg(output_size))


def square_roi(side: float, image: int = 0) -> list[float]:
    return [float(image), 0.0, 0.0, side, side]


def test_map_roi_levels_by_hand() -> None:
    extractor = build()
    # sqrt(w*h) thresholds with finest_scale=56: 112 -> level 1, 224 -> 2, 448 -> 3
    sides = [10.0, 111.9, 112.0, 223.9, 224.0, 447.0, 448.0, 2000.0]
    rois = torch.tensor([square_roi(s) for s in sides])
    assert extractor.map_roi_levels(rois, 4).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    # fewer levels clamp; a non-square RoI uses sqrt(w * h): 56 x 224 -> scale 112
    assert extractor.map_roi_levels(rois, 2).tolist() == [0, 0, 1, 1, 1, 1, 1, 1]
    assert extractor.map_roi_levels(torch.tensor([[0.0, 0, 0, 56, 224]]), 4).tolist() == [1]


def test_forward_pools_each_roi_from_its_level() -> None:
    extractor = build()
    feats = features(batch=2)
    rois = torch.tensor(
        [[1.0, 0, 0, 150, 150], [0.0, 4, 4, 20, 30], [1.0, 10, 10, 40, 40], [0.0, 0, 0, 300, 300]]
    )
    out = extractor(feats, rois)
    assert out.shape == (4, CHANNELS, 7, 7)
    levels = extractor.map_roi_levels(rois, 4).tolist()
    assert levels == [1, 0, 0, 2]
    for k, level in enumerate(levels):
        expected = roi_align(feats[level], rois[k : k + 1], 7, 1 / STRIDES[level], 0, "avg", True)
        torch.testing.assert_close(out[k : k + 1], expected)


def test_extra_levels_are_ignored_and_empty_rois_give_empty_features() -> None:
    extractor = build()
    feats = (*features(), torch.randn(2, CHANNELS, 1, 1))  # a 5th FPN level, as the RPN's
    rois = torch.tensor([[0.0, 1, 1, 20, 20]])
    assert extractor(feats, rois).shape == (1, CHANNELS, 7, 7)
    leaf = features()[0].requires_grad_(True)
    empty = extractor((leaf, *features()[1:]), torch.zeros(0, 5))
    assert empty.shape == (0, CHANNELS, 7, 7)
    empty.sum().backward()  # still connected to the features
    assert leaf.grad is not None and float(leaf.grad.abs().sum()) == 0


def test_single_level_and_roi_scale_factor() -> None:
    extractor = SingleRoIExtractor(
        roi_layer=dict(type="RoIAlign", output_size=3, sampling_ratio=2),
        out_channels=CHANNELS,
        featmap_strides=[4],
    )
    feats = features()[:1]
    rois = torch.tensor([[0.0, 8, 8, 40, 40]])
    torch.testing.assert_close(
        extractor(feats, rois), roi_align(feats[0], rois, 3, 0.25, 2, "avg", True)
    )
    assert extractor(feats, torch.zeros(0, 5)).shape == (0, CHANNELS, 3, 3)
    rescaled = build().roi_rescale(torch.tensor([[0.0, 10, 20, 30, 60]]), 1.5)
    torch.testing.assert_close(rescaled, torch.tensor([[0.0, 5, 10, 35, 70]]))


def test_rescaled_rois_keep_their_level() -> None:
    extractor = build()
    feats = features()
    rois = torch.tensor([[0.0, 10, 10, 100, 100]])  # scale 90: level 0 (x2 would be level 1)
    out = extractor(feats, rois, roi_scale_factor=2.0)
    expected = roi_align(feats[0], torch.tensor([[0.0, -35, -35, 145, 145]]), 7, 0.25, 0)
    torch.testing.assert_close(out, expected)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="RoIPool"):
        SingleRoIExtractor(dict(type="RoIPool", output_size=7), CHANNELS, STRIDES)
    with pytest.raises(ConfigError, match="spatial_scale"):
        SingleRoIExtractor(dict(type="RoIAlign", output_size=7, spatial_scale=1.0), 8, STRIDES)
    with pytest.raises(ConfigError, match="featmap_strides"):
        SingleRoIExtractor(dict(type="RoIAlign", output_size=7), CHANNELS, [])
    with pytest.raises(ValueError, match=r"\(K, 5\)"):
        build()(features(), torch.zeros(3, 4))
    assert isinstance(
        SingleRoIExtractor(dict(type="mmcv.RoIAlign", output_size=7), 8, STRIDES),
        SingleRoIExtractor,
    )
