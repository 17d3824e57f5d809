"""``segwright flops``: exact parameter and FLOP counts of tiny convolution models."""

from __future__ import annotations

import copy
import re

import pytest
import torch

from segwright.cli import flops
from segwright.cli.main import COMMANDS, main

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

#: A user module (named in custom_imports) with one-conv models.
ONE_CONV_MODULE = """
from torch import nn

from segwright.registry import MODELS


@MODELS.register_module(force=True)
class FlopsTestOneConv(nn.Module):
    def __init__(self, in_channels=3, out_channels=5, kernel_size=3):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        return self.conv(x)


@MODELS.register_module(force=True)
class FlopsTestConvBackbone(nn.Module):
    def __init__(self, in_channels=3, out_channels=4, frozen=False):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv.requires_grad_(not frozen)

    def forward(self, x):
        return (self.conv(x),)


@MODELS.register_module(force=True)
class FlopsTestDataDependent(FlopsTestOneConv):
    def forward(self, x):
        out = self.conv(x)
        return out if float(out.abs().sum()) >= 0 else -out  # needs real values, not meta
"""

HEAD = (
    "dict(type='FCNHead', in_channels=4, in_index=0, channels=4, num_convs=0, "
    "concat_input=False, num_classes=3, dropout_ratio=0.0)"
)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "flops_test_models.py").write_text(ONE_CONV_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "custom_imports = dict(imports=['flops_test_models'], allow_failed_imports=False)\n"


def write_config(tmp_path, text):
    path = tmp_path / "cfg.py"
    path.write_text(text)
    return str(path)


def number(pattern, text):
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"{pattern!r} not in:\n{text}"
    return int(match.group(1).replace(",", ""))


def test_flops_is_a_registered_command():
    assert COMMANDS["flops"] == "flops"


def test_one_conv_model_exact_counts(tmp_path, user_module, capsys):
    config = write_config(
        tmp_path, user_module + "model = dict(type='FlopsTestOneConv', out_channels=5)\n"
    )
    assert main(["flops", config, "--shape", "8", "6"]) == 0
    out = capsys.readouterr().out
    # 3x3 conv, 3 -> 5 channels, with bias: 5 * 3 * 3 * 3 + 5 parameters.
    assert number(r"^Parameters: ([\d,]+)", out) == 140
    assert number(r"trainable ([\d,]+)", out) == 140
    # One multiply-add per weight per output pixel, 2 FLOPs each (the bias is not counted):
    # 2 * (8 * 6 pixels) * 5 * (3 * 3 * 3) = 12,960 FLOPs = 6,480 MACs.
    assert number(r"^FLOPs: ([\d,]+)", out) == 12960
    assert "= 1.296e-05 GFLOPs = 6.48e-06 GMACs" in out
    assert "a multiply-add as 2 FLOPs" in out
    assert "input 1x3x8x6" in out
    assert re.search(r"^conv\s+140\s+140\s+1\.296e-05\s+6\.48e-06\s+100\.0$", out, re.M)


def test_encoder_decoder_rows_per_module(tmp_path, user_module, capsys):
    config = write_config(
        tmp_path,
        user_module
        + "model = dict(type='EncoderDecoder', backbone=dict(type='FlopsTestConvBackbone'),\n"
        + f"    decode_head={HEAD}, auxiliary_head={HEAD})\n",
    )
    argv = ["flops", config, "--shape", "8", "--cfg-options", "model.backbone.frozen=True"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    # backbone: 3x3 conv 3 -> 4 with bias = 112 parameters (frozen), 2 * 64 * 4 * 27 FLOPs;
    # each head: 1x1 conv_seg 4 -> 3 with bias = 15 parameters, 2 * 64 * 3 * 4 FLOPs.
    assert re.search(r"^backbone\s+112\s+0\s+1\.382e-05\s+6\.912e-06\s+90\.0$", out, re.M)
    assert re.search(r"^decode_head\s+15\s+15\s+1\.536e-06\s+7\.68e-07\s+10\.0$", out, re.M)
    assert re.search(r"^auxiliary_head\s+15\s+15\s+-\s+-\s+-$", out, re.M)
    assert number(r"^Parameters: ([\d,]+)", out) == 142
    assert number(r"trainable ([\d,]+)", out) == 30
    assert number(r"^FLOPs: ([\d,]+)", out) == 13824 + 1536
    assert "Not run by mode='tensor' (parameters only): auxiliary_head" in out
    assert "data_preprocessor" not in out  # no parameters, no FLOPs: no row


def test_meta_and_cpu_counts_agree_and_fallback(tmp_path, user_module):
    from segwright.registry import MODELS

    model = MODELS.build(
        dict(
            type="EncoderDecoder",
            backbone=dict(type="MixVisionTransformer", embed_dims=8, num_layers=(1, 1, 1, 1)),
            decode_head=dict(
                type="SegformerHead",
                in_channels=[8, 16, 32, 64],
                in_index=[0, 1, 2, 3],
                channels=8,
                num_classes=3,
            ),
        )
    ).eval()
    on_meta = flops.count_flops(copy.deepcopy(model).to("meta"), (1, 3, 32, 32), "meta")
    on_cpu = flops.count_flops(model, (1, 3, 32, 32), "cpu")
    assert on_meta == on_cpu
    assert set(on_cpu[1]) == {"backbone", "decode_head"}
    assert sum(on_cpu[1].values()) == on_cpu[0]

    # A forward that needs real values cannot run on meta: it is counted on the CPU.
    costs = flops.measure_costs(MODELS.build(dict(type="FlopsTestDataDependent")), (1, 3, 4, 4))
    assert costs[-1].flops == 2 * 16 * 5 * 27
    assert costs[-1].params == 140


def test_bad_shape_and_unsuitable_input_are_user_errors(tmp_path, user_module, capsys):
    config = write_config(tmp_path, user_module + "model = dict(type='FlopsTestOneConv')\n")
    assert main(["flops", config, "--shape", "8", "6", "4"]) == 2
    assert "--shape takes the input height and width" in capsys.readouterr().err
    unet = write_config(
        tmp_path,
        "model = dict(type='EncoderDecoder', backbone=dict(type='UNet', base_channels=4,\n"
        "    num_stages=2, strides=(1, 1), enc_num_convs=(1, 1), dec_num_convs=(1,),\n"
        "    downsamples=(True,), enc_dilations=(1, 1), dec_dilations=(1,)),\n"
        "    decode_head=dict(type='FCNHead', in_channels=4, in_index=1, channels=4,\n"
        "    num_convs=0, concat_input=False, num_classes=3))\n",
    )
    assert main(["flops", unet, "--shape", "7"]) == 2
    assert "multiples of 2" in capsys.readouterr().err


def test_legacy_config_is_translated(tmp_path, capsys):
    config = write_config(
        tmp_path,
        "model = dict(type='ToySegModel', channels=4, num_classes=2, norm=False)\n"
        "optimizer = dict(type='SGD', lr=0.01)\n"
        "runner = dict(type='IterBasedRunner', max_iters=10)\n",
    )
    assert main(["flops", config, "--shape", "4"]) == 0
    out = capsys.readouterr().out
    assert "MMSeg 0.x config, translated" in out
    # conv3x3 3 -> 4 without bias (108) + conv1x1 4 -> 2 with bias (10)
    assert number(r"^Parameters: ([\d,]+)", out) == 118
    assert number(r"^FLOPs: ([\d,]+)", out) == 2 * 16 * (4 * 27) + 2 * 16 * (2 * 4)


def test_flops_counter_on_plain_module_matches_formula():
    module = torch.nn.Conv2d(2, 3, 1)  # 3 * 2 weights + 3 biases; 2 FLOPs per weight per pixel
    costs = flops.measure_costs(torch.nn.Sequential(module), (1, 2, 5, 5))
    expected = 2 * 25 * 3 * 2
    assert [(c.name, c.params, c.flops) for c in costs] == [
        ("0", 9, expected),
        ("total", 9, expected),
    ]
