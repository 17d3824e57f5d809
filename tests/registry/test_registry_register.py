"""``Registry.register_module`` and lookup (SPEC §2.1, §2.3)."""

from __future__ import annotations

import pytest

from segwright.registry import KNOWN_SCOPES, Registry, split_scope
from segwright.utils.errors import ConfigError, RegistryError


def test_decorator_uses_the_class_name():
    reg = Registry("thing")

    @reg.register_module()
    class Foo:
        pass

    assert reg.get("Foo") is Foo
    assert "Foo" in reg and "Bar" not in reg
    assert reg.names() == ["Foo"]
    assert len(reg) == 1


def test_decorator_with_a_name_alias():
    reg = Registry("thing")

    @reg.register_module(name="Alias")
    class Foo:
        pass

    assert reg.get("Alias") is Foo
    assert reg.get("Foo") is None


def test_list_of_names():
    reg = Registry("thing")

    @reg.register_module(name=["A", "B"])
    def make():
        return 1

    assert reg.get("A") is make and reg.get("B") is make
    assert reg.names() == ["A", "B"]


def test_call_form_returns_the_module():
    reg = Registry("thing")

    class Foo:
        pass

    assert reg.register_module(module=Foo) is Foo
    assert reg.register_module(name="Foo2", module=Foo) is Foo
    assert reg.get("Foo") is Foo and reg.get("Foo2") is Foo


def test_legacy_form_class_as_name():
    reg = Registry("thing")

    class Foo:
        pass

    assert reg.register_module(Foo) is Foo
    assert reg.get("Foo") is Foo


def test_functions_are_accepted():
    reg = Registry("thing")

    @reg.register_module()
    def build_thing(x=1):
        return x * 2

    assert reg.build({"type": "build_thing", "x": 4}) == 8


def test_duplicate_raises_unless_forced():
    reg = Registry("thing")

    @reg.register_module(name="Foo")
    class First:
        pass

    class Second:
        pass

    with pytest.raises(RegistryError, match="'Foo' is already registered in the thing registry"):
        reg.register_module(name="Foo", module=Second)
    with pytest.raises(KeyError):  # RegistryError is also a KeyError, like MMCV's
        reg.register_module(name="Foo", module=Second)
    assert reg.get("Foo") is First
    reg.register_module(name="Foo", module=Second, force=True)
    assert reg.get("Foo") is Second


def test_duplicate_error_mentions_force():
    reg = Registry("thing")
    reg.register_module(name="X", module=int)
    with pytest.raises(RegistryError, match="force=True"):
        reg.register_module(name="X", module=float)


def test_registering_the_same_object_again_is_harmless():
    reg = Registry("thing")

    class Foo:
        pass

    reg.register_module(module=Foo)
    reg.register_module(module=Foo)
    assert reg.get("Foo") is Foo


@pytest.mark.parametrize("force", [1, "yes", None])
def test_force_must_be_a_bool(force):
    reg = Registry("thing")
    with pytest.raises(TypeError, match="force must be a bool"):
        reg.register_module(force=force)


def test_only_callables_and_string_names():
    reg = Registry("thing")
    with pytest.raises(TypeError, match="callables"):
        reg.register_module(name="x", module=3)
    with pytest.raises(TypeError, match="strings"):
        reg.register_module(name=["ok", 3], module=int)


@pytest.mark.parametrize("scope", ["mmseg", "mmengine", "mmcv", "mmdet", "mmpretrain", "segwright"])
def test_scoped_names_resolve_to_our_classes(scope):
    reg = Registry("thing")

    @reg.register_module()
    class Foo:
        pass

    assert reg.get(f"{scope}.Foo") is Foo
    assert scope in KNOWN_SCOPES


def test_unknown_names_and_scopes_give_none():
    reg = Registry("thing")
    reg.register_module(name="Foo", module=int)
    assert reg.get("Bar") is None
    assert reg.get("otherlib.Foo") is None
    assert reg.get("segwright_no_such_pkg.Foo") is None


def test_dotted_import_path_fallback():
    reg = Registry("thing")
    from collections import OrderedDict

    assert reg.get("collections.OrderedDict") is OrderedDict


def test_split_scope():
    assert split_scope("mmseg.EncoderDecoder") == ("mmseg", "EncoderDecoder")
    assert split_scope("mmdet.models.ResNet") == ("mmdet", "models.ResNet")
    assert split_scope("EncoderDecoder") == (None, "EncoderDecoder")
    assert split_scope("my_pkg.Hook") == (None, "my_pkg.Hook")


def test_locations_are_imported_on_first_lookup(tmp_path, monkeypatch):
    package = tmp_path / "segwright_test_location_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("IMPORTED = True\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry("thing", locations=["segwright_test_location_pkg"])
    import sys

    assert "segwright_test_location_pkg" not in sys.modules
    reg.get("Anything")
    assert "segwright_test_location_pkg" in sys.modules
    sys.modules.pop("segwright_test_location_pkg")


def test_failed_location_import_is_not_hidden_on_the_next_lookup():
    reg = Registry("thing", locations=["segwright_no_such_location_pkg"])
    for _ in range(2):
        with pytest.raises(ImportError):
            reg.get("Anything")


def test_registry_error_is_a_config_error():
    assert issubclass(RegistryError, ConfigError)
    assert issubclass(RegistryError, ValueError)
    assert str(RegistryError("plain message")) == "plain message"
