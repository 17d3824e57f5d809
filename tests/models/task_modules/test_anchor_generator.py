"""AnchorGenerator: MMDetection 3.3's base anchors, grid order and valid flags."""

from __future__ import annotations

import math

import pytest
import torch

from segwright.models.task_modules import AnchorGenerator
from segwright.registry import TASK_UTILS
from segwright.utils.errors import ConfigError

R = math.sqrt(2.0)


def test_base_anchors_by_hand() -> None:
    gen = AnchorGenerator(strides=[4], ratios=[0.5, 1.0, 2.0], scales=[8])
    # base size 4 * scale 8 = 32; ratio r = h / w: w = 32 / sqrt(r), h = 32 * sqrt(r); centre 0
    half_long, half_short = 16 * R, 16 / R
    expected = torch.tensor(
        [
            [-half_long, -half_short, half_long, half_short],  # ratio 0.5: wide
            [-16.0, -16.0, 16.0, 16.0],  # ratio 1
            [-half_short, -half_long, half_short, half_long],  # ratio 2: tall
        ]
    )
    torch.testing.assert_close(gen.base_anchors[0], expected)
    assert gen.num_base_priors == [3] and gen.num_base_anchors == [3] and gen.num_levels == 1


def test_base_anchor_order_ratio_major_then_scale_major_false() -> None:
    kwargs = dict(strides=[8], ratios=[0.5, 2.0], scales=[1, 2], base_sizes=[4])
    major = AnchorGenerator(**kwargs).base_anchors[0]
    minor = AnchorGenerator(scale_major=False, **kwargs).base_anchors[0]
    widths_major = (major[:, 2] - major[:, 0]).tolist()
    widths_minor = (minor[:, 2] - minor[:, 0]).tolist()
    # scale_major=True: ratios outer, scales inner; False: scales outer, ratios inner
    assert widths_major == pytest.approx([4 * R, 8 * R, 4 / R, 8 / R])
    assert widths_minor == pytest.approx([4 * R, 4 / R, 8 * R, 8 / R])


def test_center_offset_and_octave_scales() -> None:
    gen = AnchorGenerator(
        strides=[(8, 4)], ratios=[1.0], octave_base_scale=4, scales_per_octave=3, center_offset=0.5
    )
    assert gen.base_sizes == [4]  # the smaller of (stride_w, stride_h)
    torch.testing.assert_close(gen.scales, torch.tensor([4.0, 4 * 2 ** (1 / 3), 4 * 2 ** (2 / 3)]))
    centres = (gen.base_anchors[0][:, :2] + gen.base_anchors[0][:, 2:]) / 2
    torch.testing.assert_close(centres, torch.full((3, 2), 2.0))  # 0.5 * base size


def test_grid_priors_location_major_with_stride_shifts() -> None:
    gen = AnchorGenerator(strides=[(4, 6)], ratios=[0.5, 1.0, 2.0], scales=[8])
    (anchors,) = gen.grid_priors([(2, 3)], device="cpu")
    assert anchors.shape == (2 * 3 * 3, 4)
    base = gen.base_anchors[0]
    for y in range(2):
        for x in range(3):
            for a in range(3):
                shift = torch.tensor([4.0 * x, 6.0 * y, 4.0 * x, 6.0 * y])
                torch.testing.assert_close(anchors[(y * 3 + x) * 3 + a], base[a] + shift)
    half = gen.grid_priors([(2, 3)], dtype=torch.float16)[0]
    assert half.dtype == torch.float16


def test_sparse_priors_index_the_grid() -> None:
    gen = AnchorGenerator(strides=[4, 8], ratios=[0.5, 1.0, 2.0], scales=[8])
    grid = gen.grid_priors([(3, 5), (2, 3)])
    idx = torch.tensor([0, 7, 20, 44])
    torch.testing.assert_close(gen.sparse_priors(idx, (3, 5), 0), grid[0][idx])


def test_valid_flags_cover_the_padded_image() -> None:
    gen = AnchorGenerator(strides=[4, 8], ratios=[1.0, 2.0], scales=[8])
    flags = gen.valid_flags([(3, 3), (2, 2)], pad_shape=(5, 6, 3))
    # level 0: ceil(5 / 4) = 2 rows and ceil(6 / 4) = 2 columns are valid; level 1: 1 x 1
    expected0 = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=torch.bool)
    assert flags[0].dtype == torch.bool
    assert flags[0].tolist() == expected0.reshape(-1).repeat_interleave(2).tolist()
    assert flags[1].tolist() == [True, True] + [False] * 6


def test_registered_and_mmdet_rpn_config() -> None:
    gen = TASK_UTILS.build(
        dict(type="AnchorGenerator", scales=[8], ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64])
    )
    sizes = [(8, 10), (4, 5), (2, 3), (1, 2), (1, 1)]
    anchors = gen.grid_priors(sizes)
    assert [a.shape[0] for a in anchors] == [h * w * 3 for h, w in sizes]
    assert "AnchorGenerator(strides=" in repr(gen)


def test_bad_config_raises() -> None:
    with pytest.raises(ConfigError, match="either scales"):
        AnchorGenerator(strides=[4], ratios=[1.0])
    with pytest.raises(ConfigError, match="either scales"):
        AnchorGenerator(
            strides=[4], ratios=[1.0], scales=[8], octave_base_scale=4, scales_per_octave=2
        )
    with pytest.raises(ConfigError, match="center_offset must be in"):
        AnchorGenerator(strides=[4], ratios=[1.0], scales=[8], center_offset=1.5)
    with pytest.raises(ConfigError, match="base_sizes needs one entry per level"):
        AnchorGenerator(strides=[4, 8], ratios=[1.0], scales=[8], base_sizes=[4])
    with pytest.raises(ConfigError, match="strides must be a non-empty list"):
        AnchorGenerator(strides=4, ratios=[1.0], scales=[8])  # type: ignore[arg-type]
    gen = AnchorGenerator(strides=[4, 8], ratios=[1.0], scales=[8])
    with pytest.raises(ValueError, match="2 levels"):
        gen.grid_priors([(2, 2)])
