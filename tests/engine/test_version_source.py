"""The version has one home (``segwright/version.py``) and the engine reads it from there."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

import segwright
from segwright import version
from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.testing import toy_config

_ROOT = Path(segwright.__file__).resolve().parent


def test_the_package_face_and_pyproject_carry_the_same_version():
    assert segwright.__version__ == version.__version__
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = _ROOT.parent / "pyproject.toml"
    if pyproject.is_file():  # a source checkout
        project = tomllib.loads(pyproject.read_text())["project"]
        assert project.get("version", version.__version__) == version.__version__


def test_no_engine_module_imports_the_package_face():
    """The engine is a lower floor: ``from segwright import X`` reaches up through __init__."""
    offenders = []
    for path in sorted((_ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == "segwright" and node.level == 0:
                offenders.append(f"{path.relative_to(_ROOT)}:{node.lineno}")
    assert offenders == []


def test_checkpoints_record_the_version(tmp_path):
    torch.set_num_threads(1)
    runner = Runner.from_cfg(Config(toy_config(tmp_path, max_iters=1, val_interval=1)))
    path = runner.save_checkpoint(tmp_path / "x.pth")
    runner.close()
    meta = torch.load(path, weights_only=False)["meta"]
    assert meta["segwright_version"] == version.__version__
    assert (meta["iter"], meta["epoch"]) == (1, 0)  # before training: the step counts as done
