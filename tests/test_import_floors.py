"""Imports point down, never up, never sideways into a sibling (ARCHITECTURE.md's floors).

Every ``import segwright...`` in the package is read, also those inside functions (a lazy import
up a floor is still a dependency up a floor), and checked against the floor table below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import segwright

PACKAGE = Path(segwright.__file__).parent

#: Room -> floor. Rooms on one floor do not import each other, except the pairs in SIDEWAYS.
FLOORS = {
    "utils": 1,
    "version": 1,
    "ops": 1,  # pure-PyTorch operators: depend on torch only
    "config": 2,
    "registry": 2,
    "engine": 3,
    "structures": 3.5,  # floor 4's lowest level: data samples shared by the floor-4 rooms
    "models": 4,
    "datasets": 4,
    "evaluation": 4,
    "visualization": 4,
    "task_hooks": 5,
    "apis": 5,
    "compat": 5,  # OpenMMLab import paths over the whole package
    "testing": 5,  # toy models and data for tests and recipes
    "cli": 6,
    "configs": 6,  # shipped config files: data, not code
    "__init__": 7,  # the package face
}
SIDEWAYS = {("config", "registry")}  # the config floor names registry scopes


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "segwright":
                found += [(f"segwright.{alias.name}", node.lineno) for alias in node.names]
            elif node.module.startswith("segwright."):
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("segwright.")]
    return found


def _violations() -> list[str]:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent)
        source = _room(".".join(relative.with_suffix("").parts))
        if source == "configs":
            continue
        for target_module, line in _imports(path):
            target = _room(target_module)
            if target == source:
                continue
            up = FLOORS[target] > FLOORS[source]
            sideways = FLOORS[target] == FLOORS[source] and (source, target) not in SIDEWAYS
            if up or sideways:
                wrong.append(f"{relative}:{line} ({source}, floor {FLOORS[source]}) imports "
                             f"{target_module} (floor {FLOORS[target]})")  # fmt: skip
    return wrong


def test_every_room_has_a_floor():
    rooms = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    rooms = {r for r in rooms if not r.startswith((".", "_")) or r == "__init__"} - {"py"}
    rooms.discard("__pycache__")
    assert rooms <= set(FLOORS), sorted(rooms - set(FLOORS))


def test_imports_point_down():
    assert _violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    bad = tmp_path / "segwright" / "engine"
    bad.mkdir(parents=True)
    (bad / "x.py").write_text("def f():\n    from segwright.models import MODELS\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path / "segwright")
    assert _violations() == [
        "segwright/engine/x.py:2 (engine, floor 3) imports segwright.models (floor 4)"
    ]
