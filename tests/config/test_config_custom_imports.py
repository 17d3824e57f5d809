"""``custom_imports``: a config imports the user's modules so their classes register (SPEC §1.6)."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from segwright.config import Config
from segwright.config.custom_imports import import_custom_modules
from segwright.registry import HOOKS
from segwright.utils.errors import ConfigError


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A module on sys.path that registers a hook class; names are unique per test."""
    suffix = uuid.uuid4().hex[:10]
    module, hook = f"segwright_test_hooks_{suffix}", f"MyHook{suffix}"
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / f"{module}.py").write_text(
        textwrap.dedent(
            f"""
            from segwright.registry import HOOKS

            @HOOKS.register_module()
            class {hook}:
                priority = 'NORMAL'

                def __init__(self, interval=1):
                    self.interval = interval
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(folder))
    yield module, hook
    sys.modules.pop(module, None)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_custom_imports_register_a_hook(tmp_path, user_module):
    module, hook = user_module
    path = write(
        tmp_path,
        "cfg.py",
        f"""
        custom_imports = dict(imports=['{module}'], allow_failed_imports=False)
        custom_hooks = [dict(type='{hook}', interval=3)]
        """,
    )
    assert HOOKS.get(hook) is None
    cfg = Config.fromfile(path)
    built = HOOKS.build(cfg.custom_hooks[0])
    assert type(built).__name__ == hook and built.interval == 3
    assert cfg.custom_imports.imports == [module]  # the key stays in the config


def test_custom_imports_inherited_from_a_base_and_given_as_a_string(tmp_path, user_module):
    module, hook = user_module
    write(tmp_path, "base.yaml", f"custom_imports:\n  imports: {module}\n")
    child = write(tmp_path, "child.py", "_base_ = 'base.yaml'\n")
    Config.fromfile(child)
    assert HOOKS.get(hook) is not None


def test_import_can_be_skipped(tmp_path, user_module):
    module, hook = user_module
    path = write(tmp_path, "cfg.py", f"custom_imports = dict(imports=['{module}'])\n")
    cfg = Config.fromfile(path, import_custom_modules=False)
    assert module not in sys.modules
    cfg.import_custom_modules()
    assert HOOKS.get(hook) is not None


def test_failing_import_names_the_module_and_the_config(tmp_path):
    path = write(
        tmp_path, "cfg.py", "custom_imports = dict(imports=['segwright_no_such_module_xyz'])\n"
    )
    with pytest.raises(ConfigError) as info:
        Config.fromfile(path)
    message = str(info.value)
    assert "'segwright_no_such_module_xyz'" in message
    assert "cfg.py" in message and "allow_failed_imports" in message


def test_allow_failed_imports_warns(tmp_path, user_module):
    module, hook = user_module
    path = write(
        tmp_path,
        "cfg.py",
        f"""
        custom_imports = dict(
            imports=['segwright_no_such_module_xyz', '{module}'], allow_failed_imports=True)
        """,
    )
    with pytest.warns(UserWarning, match="segwright_no_such_module_xyz"):
        Config.fromfile(path)
    assert HOOKS.get(hook) is not None  # the other modules are still imported


def test_import_custom_modules_returns_modules():
    assert import_custom_modules(None) == []
    assert import_custom_modules({"imports": []}) == []
    with pytest.warns(UserWarning):
        modules = import_custom_modules(
            {"imports": ["json", "segwright_no_such_module_xyz"], "allow_failed_imports": True}
        )
    assert modules[0].__name__ == "json" and modules[1] is None


@pytest.mark.parametrize(
    "value",
    [["not", "a", "dict"], {"imports": 3}, {"imports": ["ok", 3]}],
)
def test_bad_custom_imports_shape(value):
    with pytest.raises(ConfigError, match="custom_imports"):
        import_custom_modules(value, "cfg.py")
