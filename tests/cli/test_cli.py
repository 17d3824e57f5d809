"""The segwright command: fast help, print-config (with --explain, --format json), user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from segwright.cli.main import main

TREE = Path(__file__).parents[1] / "config" / "fixtures" / "mmseg_tree" / "configs"
PSPNET = TREE / "pspnet" / "pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"


def test_help_does_not_import_torch():
    code = "import sys; from segwright.cli.main import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_print_config_json_is_the_merged_config(capsys, tmp_path):
    cfg = tmp_path / "c.py"
    cfg.write_text("a = dict(b=1, c=(1, 2))\n")
    assert main(["print-config", str(cfg), "--format", "json", "--cfg-options", "a.b=3"]) == 0
    assert json.loads(capsys.readouterr().out) == {"a": {"b": 3, "c": [1, 2]}}


def test_print_config_explain_names_files_lines_and_options(capsys, tmp_path):
    (tmp_path / "base.py").write_text("model = dict(\n    depth=50,\n    num_classes=19,\n)\n")
    (tmp_path / "child.py").write_text("_base_ = './base.py'\nmodel = dict(num_classes=3)\n")
    assert (
        main(
            [
                "print-config",
                str(tmp_path / "child.py"),
                "--explain",
                "--cfg-options",
                "model.depth=101",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    depth = next(line for line in lines if line.startswith("model.depth"))
    classes = next(line for line in lines if line.startswith("model.num_classes"))
    assert "101" in depth and "--cfg-options model.depth=101" in depth
    assert "3" in classes and "child.py:2" in classes


@pytest.mark.skipif(not PSPNET.exists(), reason="fixture tree not present")
def test_print_config_explain_on_the_mmseg_like_tree(capsys):
    assert main(["print-config", str(PSPNET), "--explain"]) == 0
    out = capsys.readouterr().out
    assert "_base_/models/pspnet_r50-d8.py:" in out
    assert "model.decode_head.num_classes" in out


def test_user_error_is_one_paragraph_and_exit_2(capsys, tmp_path):
    (tmp_path / "c.py").write_text("_base_ = './missing.py'\n")
    assert main(["print-config", str(tmp_path / "c.py")]) == 2
    err = capsys.readouterr().err
    assert "missing.py" in err and "Traceback" not in err
    with pytest.raises(Exception, match="missing.py"):
        main(["--debug", "print-config", str(tmp_path / "c.py")])


def test_cfg_options_error_names_the_missing_part(capsys, tmp_path):
    (tmp_path / "c.py").write_text("model = dict(decode_head=dict(num_classes=19))\n")
    code = main(
        ["print-config", str(tmp_path / "c.py"), "--cfg-options", "model.decod_head.num_classes=3"]
    )
    assert code == 2
    assert "'decod_head' does not exist" in capsys.readouterr().err


def test_an_error_from_a_data_worker_prints_without_the_worker_traceback():
    import torch

    from segwright.cli.main import user_message
    from segwright.utils.errors import DatasetError

    class BrokenDataset(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, index: int):
            raise DatasetError(f"image 'x{index}.png' is missing.\nFix the path.")

    loader = torch.utils.data.DataLoader(BrokenDataset(), num_workers=1)
    with pytest.raises(DatasetError) as info:
        next(iter(loader))
    assert "Original Traceback" in str(info.value)  # what torch re-raises
    assert user_message(info.value) == "image 'x0.png' is missing.\nFix the path."
