"""Scopes: ``default_scope`` and ``mmdet.``/``mmseg.`` prefixes pick a shared name's meaning."""

from __future__ import annotations

import pytest

from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.registry import (
    Registry,
    build_from_cfg,
    current_scope,
    default_scope,
    normalize_scope,
)
from segwright.utils.errors import ConfigError, RegistryError


class SegResize:
    def __init__(self, scale: int = 1) -> None:
        self.scale = scale


class DetResize:
    def __init__(self, scale: int = 1, keep_ratio: bool = False) -> None:
        self.scale, self.keep_ratio = scale, keep_ratio


class OnlyShared:
    pass


@pytest.fixture
def registry() -> Registry:
    reg = Registry("transform")
    reg.register_module(name="Resize", module=SegResize)
    reg.register_module(name="Resize", module=DetResize, scope="mmdet")
    reg.register_module(module=OnlyShared)
    return reg


def test_unprefixed_name_reads_the_shared_table_outside_a_scope(registry):
    assert current_scope() is None
    assert registry.get("Resize") is SegResize
    assert registry.get("mmseg.Resize") is SegResize
    assert registry.get("mmengine.Resize") is SegResize


def test_prefix_picks_the_scoped_meaning(registry):
    assert registry.get("mmdet.Resize") is DetResize
    # A name the scope has no meaning of its own for falls back to the shared table.
    assert registry.get("mmdet.OnlyShared") is OnlyShared


def test_default_scope_picks_the_meaning_of_unprefixed_names(registry):
    with default_scope("mmdet"):
        assert registry.get("Resize") is DetResize
        assert registry.get("mmseg.Resize") is SegResize  # an explicit prefix wins
        assert registry.get("OnlyShared") is OnlyShared
    assert registry.get("Resize") is SegResize  # nothing leaks out of the block
    with default_scope("mmseg"):
        assert registry.get("Resize") is SegResize


def test_scope_key_in_a_dict_builds_it_in_that_scope(registry):
    built = build_from_cfg(dict(type="Resize", _scope_="mmdet", keep_ratio=True), registry)
    assert isinstance(built, DetResize) and built.keep_ratio
    assert isinstance(build_from_cfg(dict(type="Resize", _scope_="mmseg"), registry), SegResize)


def test_unknown_scope_is_a_config_error_that_lists_the_known_ones(registry):
    with pytest.raises(ConfigError, match="'mmfoo' is not a scope segwright knows.*'mmdet'"):
        normalize_scope("mmfoo")
    with pytest.raises(ConfigError, match=r"transforms\[0\]\._scope_='mmfoo'"):
        with default_scope(None, key="x"):
            from segwright.registry import build_path

            with build_path("transforms[0]"):
                build_from_cfg(dict(type="Resize", _scope_="mmfoo"), registry)


def test_duplicates_are_per_table(registry):
    with pytest.raises(RegistryError, match="scope 'mmdet'"):
        registry.register_module(name="Resize", module=SegResize, scope="mmdet")
    with pytest.raises(ValueError, match="only mmdet has a table"):
        registry.register_module(name="X", module=SegResize, scope="mmseg")
    assert "mmdet.Resize" in registry.names() and "Resize" in registry.names()


def test_runner_builds_in_its_config_default_scope(tmp_path, monkeypatch):
    from segwright.registry import MODELS

    seen: list[str | None] = []

    class ScopeProbe(Runner):
        pass

    original_build = MODELS.build

    def recording_build(cfg, default_args=None, key=""):
        seen.append(current_scope())
        return original_build(cfg, default_args, key)

    monkeypatch.setattr(MODELS, "build", recording_build)
    from segwright.testing.toy_config import toy_config

    cfg = Config(toy_config(work_dir=str(tmp_path)))
    cfg["default_scope"] = "mmdet"
    runner = ScopeProbe.from_cfg(cfg)
    assert seen and seen[-1] == "mmdet"
    assert runner.default_scope == "mmdet" and current_scope() is None
    runner.close()
    cfg["default_scope"] = "mmsegx"
    with pytest.raises(ConfigError, match="default_scope='mmsegx'"):
        Runner.from_cfg(cfg)
