"""``datasets/checks.py`` sits below the transforms (LoadAnnotations calls its label check), so it
imports none of them, not even lazily; the pipeline answers how it reads label maps."""

from __future__ import annotations

import ast
from pathlib import Path

import segwright.datasets.checks as checks
from segwright.datasets.checks import _annotation_settings
from segwright.datasets.transforms import Compose


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_checks_imports_no_transform_module_anywhere():
    modules = imported_modules(Path(checks.__file__))
    assert not [m for m in modules if m.startswith("segwright.datasets.transforms")]


class _Dataset:
    def __init__(self, pipeline):
        self.pipeline = Compose(pipeline)


def test_annotation_settings_come_from_the_pipeline():
    load = dict(type="LoadImageFromFile")
    ann = dict(type="LoadAnnotations", imdecode_backend="cv2", reduce_zero_label=True)
    assert _annotation_settings(_Dataset([load, ann])) == ("cv2", True)
    assert _annotation_settings(_Dataset([load])) == ("pillow", None)
    assert _annotation_settings(object()) == ("pillow", None)
    tta = dict(
        type="TestTimeAug",
        transforms=[[dict(type="RandomFlip", prob=0.0)], [ann], [dict(type="PackSegInputs")]],
    )
    assert _annotation_settings(_Dataset([load, tta])) == ("cv2", True)
