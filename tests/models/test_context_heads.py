"""Context-module heads: what they reject, and the pieces defined by formulas (MMSeg 1.2.2)."""

from __future__ import annotations

import pytest
import torch

from segwright.models.heads import ANNHead, DMHead, EncHead, FPNHead, PointHead, PSAHead
from segwright.models.layers.encoding import Encoding
from segwright.utils.errors import ConfigError

COMMON = dict(channels=4, num_classes=3)

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (FPNHead, dict(in_channels=[4, 4], in_index=[0, 1], feature_strides=[4]), "same length"),
        (FPNHead, dict(in_channels=[4, 4], in_index=[0, 1], feature_strides=[8, 4]), "smallest"),
        (FPNHead, dict(in_channels=[4], in_index=[0], feature_strides=[4],
                       input_transform="resize_concat"), "multiple_select"),
        (ANNHead, dict(in_channels=[4, 4, 4], in_index=[0, 1, 2], project_channels=2), "two"),
        (PSAHead, dict(in_channels=4, in_index=0, mask_size=(3, 3), psa_type="both"), "psa_type"),
        (DMHead, dict(in_channels=4, in_index=0, filter_sizes=3), "list or tuple"),
        (PointHead, dict(in_channels=[4], in_index=[0], input_transform=None), "multiple_select"),
    ],
)  # fmt: skip
def test_bad_settings_raise_config_errors(cls, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        cls(**COMMON, **kwargs)


def test_point_head_names_the_missing_train_setting():
    head = PointHead(in_channels=[4], in_index=[0], **COMMON)
    with pytest.raises(ConfigError, match="train_cfg.num_points"):
        head.get_points_train(torch.zeros(1, 3, 4, 4), lambda x: x[:, :1], dict())


def test_se_targets_are_class_presence_ignoring_other_values():
    labels = torch.tensor([[[0, 0, 255], [2, 2, -1]], [[1, 1, 1], [7, 1, 255]]])
    onehot = EncHead._convert_to_onehot_labels(labels, 3)
    assert onehot.dtype == labels.dtype
    assert onehot.tolist() == [[1, 0, 1], [0, 1, 0]]


def test_encoding_follows_its_formula():
    torch.manual_seed(0)
    layer = Encoding(channels=3, num_codes=2).double()
    x = torch.randn(2, 3, 2, 2, dtype=torch.float64)
    pixels = x.flatten(2).transpose(1, 2)  # (N, L, C)
    expected = torch.zeros(2, 2, 3, dtype=torch.float64)
    for n in range(2):
        for i in range(4):
            residuals = pixels[n, i] - layer.codewords  # (K, C)
            weights = torch.softmax(layer.scale * residuals.pow(2).sum(1), dim=0)
            expected[n] += weights[:, None] * residuals
    torch.testing.assert_close(layer(x), expected)
    with pytest.raises(ConfigError, match="expects"):
        layer(torch.zeros(1, 4, 2, 2, dtype=torch.float64))


def test_dm_head_even_filters_pad_one_more_on_top_and_left():
    head = DMHead(in_channels=1, in_index=0, filter_sizes=(2,), norm_cfg=None, **COMMON)
    dcm = head.dcm_modules[0]
    x = torch.zeros(1, 1, 3, 3)
    dcm.input_redu_conv.conv.weight.data.zero_()
    dcm.input_redu_conv.conv.weight.data[:, 0] = 1.0  # every channel copies input channel 0
    dcm.input_redu_conv.conv.bias.data.zero_()
    dcm.filter_gen_conv.weight.data.zero_()
    dcm.filter_gen_conv.bias.data.fill_(1.0)  # a 2x2 box filter of ones
    x[0, 0, 1, 1] = 1.0
    out = dcm(x)[0, 0]
    # padding (top/left 1, bottom/right 0): output (i, j) sums rows i-1..i and columns j-1..j
    assert out.tolist() == [[0, 0, 0], [0, 1, 1], [0, 1, 1]]
