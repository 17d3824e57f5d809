"""``register_module(internal=True)`` and ``register_module(default_key=...)``.

Test helpers (``segwright.testing``) stay buildable by name but are not offered to users in
"did you mean" suggestions and "registered types" lists. A ``default_key`` lets a higher floor
add a part that every consumer builds by default (the pre-flight hook of every run).
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import segwright.testing
from segwright.registry import ALL_REGISTRIES, DATASETS, MODELS, Registry
from segwright.utils.errors import ConfigError, RegistryError


def _registry_with_a_helper():
    reg = Registry("part")

    @reg.register_module()
    class ToyThing:
        def __init__(self, size: int = 1) -> None:
            self.size = size

    @reg.register_module(internal=True)
    class ToyThingHelper:
        pass

    return reg, ToyThing, ToyThingHelper


def test_internal_names_are_registered_and_buildable():
    reg, _, helper = _registry_with_a_helper()
    assert reg.get("ToyThingHelper") is helper and "ToyThingHelper" in reg
    assert isinstance(reg.build(dict(type="ToyThingHelper")), helper)
    assert reg.names() == ["ToyThing", "ToyThingHelper"]
    assert reg.names(include_internal=False) == ["ToyThing"]


def test_unknown_type_neither_suggests_nor_lists_internal_names():
    reg, _, _ = _registry_with_a_helper()
    with pytest.raises(RegistryError) as info:
        reg.build(dict(type="ToyThingHelpr"))
    message = str(info.value)
    assert "ToyThingHelper" not in message
    assert "Did you mean 'ToyThing'?" in message  # the closest public name instead
    assert "Registered part types: ToyThing." in message


def test_missing_type_lists_only_public_names():
    reg, _, _ = _registry_with_a_helper()
    with pytest.raises(ConfigError) as info:
        reg.build(dict(size=2))
    assert "(one of: ToyThing...)" in str(info.value)


def test_forced_public_replacement_of_an_internal_name_is_listed_again():
    reg, _, _ = _registry_with_a_helper()

    @reg.register_module(name="ToyThingHelper", force=True)
    class Replacement:
        pass

    assert reg.names(include_internal=False) == ["ToyThing", "ToyThingHelper"]


@pytest.mark.parametrize(
    "registry, typo, helper",
    [(MODELS, "ToySegModl", "ToySegModel"), (DATASETS, "ToySegDatset", "ToySegDataset")],
)
def test_segwright_testing_helpers_stay_out_of_user_errors(registry, typo, helper):
    assert registry.get(helper) is not None  # tests name them in configs
    with pytest.raises(RegistryError) as info:
        registry.build(dict(type=typo))
    message = str(info.value)
    assert f"Unknown {registry.name} type {typo!r}" in message
    assert helper not in message
    assert "Registered" in message  # the product's own types are still listed


def test_everything_segwright_testing_registers_is_internal():
    for module in pkgutil.iter_modules(segwright.testing.__path__, "segwright.testing."):
        importlib.import_module(module.name)  # custom_optim registers only when imported
    found = 0
    for registry in ALL_REGISTRIES.values():
        public = set(registry.names(include_internal=False))
        for name in registry.names():
            obj = registry.get(name)
            if getattr(obj, "__module__", "").startswith("segwright.testing"):
                found += 1
                assert name not in public, (
                    f"{name} ({obj.__module__}) is offered to users in the {registry.name} "
                    "registry's errors: register it with register_module(internal=True)."
                )
    assert found >= 4  # ToySegModel, ToySegDataset and custom_optim's two


def test_default_key_gives_a_default_spec():
    reg = Registry("hook")
    assert reg.default_specs() == {}

    @reg.register_module(default_key="check")
    class Check:
        pass

    @reg.register_module(name="mmdet_check", scope="mmdet", default_key="det_check")
    class DetCheck:
        pass

    assert reg.default_specs() == {
        "check": dict(type="Check"),
        "det_check": dict(type="mmdet.mmdet_check"),
    }
    specs = reg.default_specs()
    specs["check"]["type"] = "Changed"  # a copy: the caller may edit it
    assert reg.default_specs()["check"] == dict(type="Check")
    assert isinstance(reg.build(reg.default_specs()["check"]), Check)


def test_a_taken_default_key_raises_unless_forced():
    reg = Registry("hook")

    @reg.register_module(default_key="check")
    class Check:
        pass

    reg.register_module(module=Check, name="Check", default_key="check")  # the same: harmless
    with pytest.raises(RegistryError, match=r"default_key='check' .* taken by 'Check'"):

        @reg.register_module(default_key="check")
        class Other:
            pass

    @reg.register_module(name="Other2", default_key="check", force=True)
    class Replacement:
        pass

    assert reg.default_specs() == {"check": dict(type="Other2")}


def test_default_specs_import_the_locations_first(tmp_path, monkeypatch):
    (tmp_path / "sw_default_hook_mod.py").write_text(
        "from segwright.registry import Registry\n"
        "import sw_default_hook_reg as r\n"
        "@r.REG.register_module(default_key='extra')\n"
        "class Extra:\n"
        "    pass\n"
    )
    (tmp_path / "sw_default_hook_reg.py").write_text(
        "from segwright.registry import Registry\n"
        "REG = Registry('hook', locations=['sw_default_hook_mod'])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = importlib.import_module("sw_default_hook_reg").REG
    assert reg.default_specs() == {"extra": dict(type="Extra")}


def test_the_hooks_registry_offers_the_preflight_by_default():
    from segwright.registry import HOOKS

    assert HOOKS.default_specs() == {"preflight": dict(type="SegPreflightHook")}
