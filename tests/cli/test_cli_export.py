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
    assert out.exists()  # kept for inspection
    assert main([*argv, "--atol", "-1"]) == 2
    assert "--atol must be" in capsys.readouterr().err
