"""segwright export: ONNX files whose onnxruntime output matches PyTorch within 1e-4."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
import torch

from segwright.cli.main import COMMANDS, main
from segwright.testing import TOY_CONFIG_PATH

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'segwright[onnx]')")
ort = pytest.importorskip(
    "onnxruntime", reason="onnxruntime is not installed (pip install 'segwright[onnx]')"
)

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

#: A tiny EncoderDecoder: ResNetV1c-18 at 4 base channels (outputs 4, 8, 16, 32) + FCNHead.
TINY_ENCODER_DECODER = dict(
    type="EncoderDecoder",
    backbone=dict(type="ResNetV1c", depth=18, base_channels=4, stem_channels=8),
    decode_head=dict(
        type="FCNHead", in_channels=32, in_index=3, channels=8, num_convs=1, num_classes=3
    ),
)


def max_diff(text):
    match = re.search(r"max abs diff onnxruntime vs PyTorch: (\S+) ", text)
    assert match, text
    return float(match.group(1))


def onnxruntime_logits(path, inputs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": inputs.numpy()})[0]


@pytest.fixture(scope="module")
def toy_checkpoint(tmp_path_factory):
    work = tmp_path_factory.mktemp("toy_work")
    opts = ["train_cfg.max_iters=2", "train_cfg.val_interval=2", "param_scheduler.0.end=2"]
    argv = ["train", str(TOY_CONFIG_PATH), "--work-dir", str(work), "--device", "cpu"]
    assert main([*argv, "--cfg-options", *opts]) == 0
    return work / "iter_2.pth"


def test_export_is_a_registered_command():
    assert COMMANDS["export"] == "export"


def test_toy_model_export_matches_pytorch(tmp_path, toy_checkpoint, capsys):
    out = tmp_path / "toy.onnx"
    argv = ["export", str(TOY_CONFIG_PATH), str(toy_checkpoint), "-o", str(out)]
    assert main([*argv, "--shape", "32", "24"]) == 0
    text = capsys.readouterr().out
    assert "Exported with the torchscript exporter, opset 17" in text  # no onnxscript here
    assert "output: 'logits' 1x2x32x24" in text
    assert max_diff(text) <= 1e-4
    onnx.checker.check_model(str(out))
    assert onnx.load(str(out)).opset_import[0].version == 17
    # Independently of the command's own check: the trained weights are in the file.
    from segwright.apis import init_model

    model = init_model(str(TOY_CONFIG_PATH), str(toy_checkpoint))
    inputs = torch.rand(1, 3, 32, 24) * 255
    with torch.no_grad():
        expected = model(inputs, mode="tensor").numpy()
    assert np.abs(onnxruntime_logits(out, inputs) - expected).max() <= 1e-4


def test_tiny_encoder_decoder_dynamic_export(tmp_path, capsys):
    from segwright.config import Config
    from segwright.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(TINY_ENCODER_DECODER).eval()
    checkpoint = tmp_path / "tiny.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, checkpoint)
    config = tmp_path / "tiny.py"
    Config(dict(model=TINY_ENCODER_DECODER)).dump(config)
    out = tmp_path / "tiny.onnx"
    argv = ["export", str(config), str(checkpoint), "-o", str(out), "--shape", "64", "48"]
    assert main([*argv, "--dynamic", "--opset", "18"]) == 0
    text = capsys.readouterr().out
    assert "(batch, height, width dynamic)" in text
    assert "inputs 1x3x64x48 and 2x3x96x80" in text
    assert max_diff(text) <= 1e-4
    # Another batch and size than the export's, straight through onnxruntime.
    inputs = torch.randn(3, 3, 32, 64)
    with torch.no_grad():
        expected = model(inputs, mode="tensor").numpy()
    got = onnxruntime_logits(out, inputs)
    assert got.shape == expected.shape == (3, 3, 1, 2)  # stride 32
    assert np.abs(got - expected).max() <= 1e-4


def test_missing_onnxruntime_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    argv = ["export", str(TOY_CONFIG_PATH), "x.pth", "-o", str(tmp_path / "m.onnx")]
    assert main(argv) == 2
    assert "pip install 'segwright[onnx]'" in capsys.readouterr().err


def test_mismatch_above_atol_is_an_error(tmp_path, toy_checkpoint, monkeypatch, capsys):
    from segwright.cli import export

    monkeypatch.setattr(export, "compare_with_onnxruntime", lambda *args: 0.5)
    out = tmp_path / "toy.onnx"
    argv = ["export", str(TOY_CONFIG_PATH), str(toy_checkpoint), "-o", str(out), "--shape", "16"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "onnxruntime and PyTorch disagree" in err
    assert "max abs diff 5.000e-01 > --atol 0.0001" in err
    assert f"Nothing was written to {out}" in err
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary
    assert main([*argv, "--atol", "-1"]) == 2
    assert "--atol must be" in capsys.readouterr().err


#: Tiny members of the shipped model families (ResNetV1c-18 at 4 base channels where MMSeg's
#: configs use ResNetV1c-50).
_RESNET = TINY_ENCODER_DECODER["backbone"]
_UNET = dict(
    type="UNet", base_channels=4, num_stages=3, strides=(1, 1, 1), enc_num_convs=(1, 1, 1),
    dec_num_convs=(1, 1), downsamples=(True, True), enc_dilations=(1, 1, 1), dec_dilations=(1, 1),
)  # fmt: skip
FAMILIES = {
    "unet": dict(
        type="EncoderDecoder",
        backbone=_UNET,
        decode_head=dict(
            type="FCNHead", in_channels=4, in_index=2, channels=4, num_convs=1, num_classes=3
        ),
    ),
    "deeplabv3": dict(
        type="EncoderDecoder",
        backbone=_RESNET,
        decode_head=dict(
            type="ASPPHead",
            in_channels=32,
            in_index=3,
            channels=8,
            dilations=(1, 2, 3, 4),
            num_classes=3,
        ),  # fmt: skip
    ),
    "deeplabv3plus": dict(
        type="EncoderDecoder",
        backbone=_RESNET,
        decode_head=dict(
            type="DepthwiseSeparableASPPHead",
            in_channels=32,
            in_index=3,
            channels=8,
            dilations=(1, 2, 3, 4),
            c1_in_channels=4,
            c1_channels=4,
            num_classes=3,
        ),  # fmt: skip
    ),
    "segformer": dict(
        type="EncoderDecoder",
        backbone=dict(
            type="MixVisionTransformer",
            embed_dims=8,
            num_layers=[1, 1, 1, 1],
            num_heads=[1, 2, 5, 8],
        ),  # fmt: skip
        decode_head=dict(
            type="SegformerHead",
            in_channels=[8, 16, 40, 64],
            in_index=[0, 1, 2, 3],
            channels=8,
            num_classes=3,
        ),  # fmt: skip
    ),
    "pspnet": dict(
        type="EncoderDecoder",
        backbone=_RESNET,
        decode_head=dict(
            type="PSPHead",
            in_channels=32,
            in_index=3,
            channels=8,
            pool_scales=(1, 2, 3, 6),
            num_classes=3,
        ),  # fmt: skip
    ),
    "upernet": dict(
        type="EncoderDecoder",
        backbone=_RESNET,
        decode_head=dict(
            type="UPerHead",
            in_channels=[4, 8, 16, 32],
            in_index=[0, 1, 2, 3],
            pool_scales=(1, 2, 3, 6),
            channels=8,
            num_classes=3,
        ),  # fmt: skip
    ),
}


def _family_files(tmp_path, family):
    from segwright.config import Config
    from segwright.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(FAMILIES[family]).eval()
    checkpoint = tmp_path / f"{family}.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, checkpoint)
    config = tmp_path / f"{family}.py"
    Config(dict(model=FAMILIES[family])).dump(config)
    return model, config, checkpoint


@pytest.mark.parametrize("family", ["unet", "deeplabv3", "deeplabv3plus", "segformer"])
def test_dynamic_export_follows_the_input_size(tmp_path, family, capsys):
    # Their resizes (UNet's x2 upsampling, ASPP's image pool, the heads' fusion) and MiT's
    # token reshapes used to be traced as constants: the file then only ran at the export size.
    model, config, checkpoint = _family_files(tmp_path, family)
    out = tmp_path / f"{family}.onnx"
    argv = ["export", str(config), str(checkpoint), "-o", str(out), "--shape", "64", "64"]
    assert main([*argv, "--dynamic"]) == 0
    assert max_diff(capsys.readouterr().out) <= 1e-4
    inputs = torch.randn(3, 3, 96, 128)
    with torch.no_grad():
        expected = model(inputs, mode="tensor").numpy()
    got = onnxruntime_logits(out, inputs)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-4


@pytest.mark.parametrize("family, head", [("pspnet", "PSPHead"), ("upernet", "UPerHead")])
def test_dynamic_export_of_adaptive_pooling_is_refused_up_front(tmp_path, family, head, capsys):
    _, config, checkpoint = _family_files(tmp_path, family)
    out = tmp_path / "out" / "m.onnx"
    # 192 = 32 x 6: the stride-32 map is 6x6, which bins 1, 2, 3 and 6 divide (the exporter
    # needs that for a fixed size).
    argv = ["export", str(config), str(checkpoint), "-o", str(out), "--shape", "192"]
    assert main([*argv, "--dynamic"]) == 2
    err = capsys.readouterr().err
    assert f"--dynamic cannot export the model of {config}" in err
    assert f"decode_head {head} (decode_head.psp_modules.1.0 is AdaptiveAvgPool2d" in err
    assert "Export without --dynamic" in err
    assert "Traceback" not in err
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    assert main(argv) == 0  # a fixed-size export of the same model works
    assert out.exists()


def test_failed_onnxruntime_check_is_a_clear_error_and_leaves_no_file(
    tmp_path, toy_checkpoint, monkeypatch, capsys
):
    from segwright.cli import export

    def fail(*args):
        raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : Concat node\nmore detail")

    monkeypatch.setattr(export, "compare_with_onnxruntime", fail)
    out = tmp_path / "toy.onnx"
    out.write_bytes(b"an earlier, good export")
    argv = ["export", str(TOY_CONFIG_PATH), str(toy_checkpoint), "-o", str(out), "--shape", "16"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "onnxruntime could not run the exported model" in err
    assert "RuntimeError: [ONNXRuntimeError] : 1 : FAIL : Concat node" in err
    assert "more detail" not in err and "Traceback" not in err
    assert out.read_bytes() == b"an earlier, good export"  # not replaced by the failed one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.onnx"]


def test_failed_export_is_a_clear_error_and_leaves_no_file(
    tmp_path, toy_checkpoint, monkeypatch, capsys
):
    def fail(*args, **kwargs):
        raise RuntimeError("Unsupported: ONNX export of operator foo")

    monkeypatch.setattr(torch.onnx, "export", fail)
    out = tmp_path / "toy.onnx"
    argv = ["export", str(TOY_CONFIG_PATH), str(toy_checkpoint), "-o", str(out), "--shape", "16"]
    assert main([*argv, "--dynamic"]) == 2
    err = capsys.readouterr().err
    assert "torch.onnx could not export the model" in err
    assert "Unsupported: ONNX export of operator foo" in err
    assert "or drop --dynamic" in err
    assert list(tmp_path.iterdir()) == []
