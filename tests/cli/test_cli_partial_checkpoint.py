"""Commands that predict refuse a checkpoint that leaves model weights at their initial values.

``--allow-partial`` loads what fits instead; extra checkpoint keys never count as a misfit.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from segwright.cli.main import main
from segwright.engine.checkpoint import save_checkpoint
from segwright.testing import TOY_CONFIG_PATH, ToySegModel


def _checkpoint(path, **model_args):
    torch.manual_seed(0)
    state = ToySegModel(channels=4, **model_args).state_dict()
    save_checkpoint({"state_dict": state, "meta": {}}, path)
    return path


@pytest.fixture
def wrong_classes(tmp_path):
    """Trained for 5 classes; the toy config predicts 2."""
    return _checkpoint(tmp_path / "five_classes.pth", num_classes=5)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    image = np.full((12, 10, 3), 90, np.uint8)
    image[3:8, 2:6] = 200
    cv2.imwrite(str(folder / "a.png"), image)
    return folder


def _assert_names_the_misfit(err, fix):
    assert "does not fit the model: 5 of 7 keys of the model were loaded" in err
    assert "decode_head.weight: checkpoint (5, 4, 1, 1), model (2, 4, 1, 1)" in err
    assert "decode_head.bias" in err
    assert fix in err


def test_test_refuses_a_checkpoint_with_other_shapes(tmp_path, wrong_classes, capsys):
    argv = ["test", str(TOY_CONFIG_PATH), str(wrong_classes), "--device", "cpu"]
    assert main([*argv, "--work-dir", str(tmp_path / "t")]) == 2
    _assert_names_the_misfit(capsys.readouterr().err, "pass --allow-partial to segwright test")
    assert main([*argv, "--work-dir", str(tmp_path / "t"), "--allow-partial"]) == 0
    assert "mIoU" in capsys.readouterr().out.splitlines()[-1]


def test_infer_refuses_a_checkpoint_with_other_shapes(tmp_path, wrong_classes, images, capsys):
    argv = ["infer", str(TOY_CONFIG_PATH), str(wrong_classes), str(images)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    _assert_names_the_misfit(capsys.readouterr().err, "add --allow-partial")
    assert not (tmp_path / "out" / "masks" / "a.png").exists()
    assert main([*argv, "--out", str(tmp_path / "out"), "--allow-partial"]) == 0
    assert (tmp_path / "out" / "masks" / "a.png").is_file()


def test_missing_keys_are_counted_and_listed(tmp_path, images, capsys):
    # A checkpoint whose keys carry another prefix: nothing of the model loads.
    torch.manual_seed(0)
    state = {f"model.{k}": v for k, v in ToySegModel(channels=4).state_dict().items()}
    path = tmp_path / "prefixed.pth"
    save_checkpoint({"state_dict": state}, path)
    argv = ["infer", str(TOY_CONFIG_PATH), str(path), str(images), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "0 of 7 keys of the model were loaded" in err
    assert "Missing from the checkpoint: 7 model keys (backbone.0.weight," in err
    assert "Not in the model (ignored): 8 checkpoint keys (model.backbone.0.weight" in err


@pytest.mark.parametrize("command", ["benchmark", "export"])
def test_benchmark_and_export_refuse_too(tmp_path, wrong_classes, command, capsys):
    argv = [command, str(TOY_CONFIG_PATH), str(wrong_classes), "--shape", "8"]
    if command == "export":
        argv += ["-o", str(tmp_path / "m.onnx")]
    else:
        argv += ["--iters", "1", "--warmup", "0"]
    assert main(argv) == 2
    _assert_names_the_misfit(capsys.readouterr().err, "add --allow-partial")
    if command == "benchmark":
        assert main([*argv, "--allow-partial"]) == 0


def test_extra_keys_prefixes_and_missing_bn_counters_are_accepted(tmp_path, images, capsys):
    torch.manual_seed(0)
    state = ToySegModel(channels=4).state_dict()
    state = {f"module.{k}": v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    state["auxiliary_head.conv_seg.weight"] = torch.zeros(2, 4, 1, 1)  # a head the model lacks
    state["ema_backbone.0.weight"] = torch.zeros(1)
    path = tmp_path / "extra.pth"
    save_checkpoint({"state_dict": state}, path)
    out = tmp_path / "out"
    assert main(["infer", str(TOY_CONFIG_PATH), str(path), str(images), "--out", str(out)]) == 0
    assert (out / "masks" / "a.png").is_file()
    argv = ["test", str(TOY_CONFIG_PATH), str(path), "--device", "cpu"]
    assert main([*argv, "--work-dir", str(tmp_path / "t")]) == 0
