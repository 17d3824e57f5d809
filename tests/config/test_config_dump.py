"""Dumping a config as Python, JSON or YAML and loading it back (SPEC §1.8)."""

from __future__ import annotations

import ast
import json
import keyword
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segwright.config import Config
from segwright.utils.errors import ConfigError

TREE = Path(__file__).parent / "fixtures" / "mmseg_tree" / "configs" / "pspnet"
CHILDREN = [
    "pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py",
    "pspnet_r50-d8_adamw-40k_cityscapes-512x1024.py",
    "pspnet_r50-d8_ohem-40k_cityscapes-512x1024.py",
]


def tuples_to_lists(value):
    if isinstance(value, dict):
        return {k: tuples_to_lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [tuples_to_lists(v) for v in value]
    return value


@pytest.mark.parametrize("name", CHILDREN)
def test_python_dump_round_trips_exactly(tmp_path, name):
    cfg = Config.fromfile(TREE / name)
    out = tmp_path / "dumped.py"
    text = cfg.dump(out)
    assert out.read_text(encoding="utf-8") == text
    again = Config.fromfile(out)
    assert again.to_dict() == cfg.to_dict()  # tuples stay tuples
    assert list(again) == list(cfg)  # key order kept


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
@pytest.mark.parametrize("name", CHILDREN)
def test_data_dumps_round_trip_with_tuples_as_lists(tmp_path, name, suffix):
    cfg = Config.fromfile(TREE / name)
    out = tmp_path / f"dumped{suffix}"
    cfg.dump(out)
    again = Config.fromfile(out)
    assert again.to_dict() == tuples_to_lists(cfg.to_dict())
    assert list(again) == list(cfg)


def test_dump_without_file_uses_the_source_format(tmp_path):
    data = {"a": {"b": [1, 2]}, "c": "x"}
    json_path = tmp_path / "a.json"
    json_path.write_text(json.dumps(data), encoding="utf-8")
    assert json.loads(Config.fromfile(json_path).dump()) == data
    yaml_path = tmp_path / "a.yaml"
    yaml_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert yaml.safe_load(Config.fromfile(yaml_path).dump()) == data
    py_path = tmp_path / "a.py"
    py_path.write_text("a = dict(b=[1, 2])\nc = 'x'\n", encoding="utf-8")
    assert Config.fromfile(py_path).dump() == Config.fromfile(py_path).pretty_text
    assert Config(data).dump() == Config(data).pretty_text


def test_dump_explicit_format():
    cfg = Config({"a": (1, 2)})
    assert json.loads(cfg.dump(format="json")) == {"a": [1, 2]}
    assert yaml.safe_load(cfg.dump(format="yaml")) == {"a": [1, 2]}
    with pytest.raises(ConfigError, match="py, json or yaml"):
        cfg.dump(format="toml")


def test_pretty_text_parses_and_reads_like_a_config():
    cfg = Config.fromfile(TREE / CHILDREN[1])
    text = cfg.pretty_text
    ast.parse(text)
    assert "optim_wrapper = dict(" in text
    assert "betas=(0.9, 0.999)" in text
    assert "custom_keys=dict(head=dict(lr_mult=10.0))" in text


def test_pretty_text_special_values(tmp_path):
    cfg = Config(
        {
            "quote": 'it\'s "quoted"',
            "keys": {"not an identifier": 1, 2: "int key", "class": "keyword"},
            "single": (1,),
            "floats": [float("inf"), float("-inf"), 1e-5],
            "nested": {"a": [{"b": ({"c": None},)}]},
            "long": ["x" * 30] * 5,
            "flag": True,
        }
    )
    text = cfg.pretty_text
    ast.parse(text)
    out = tmp_path / "special.py"
    cfg.dump(out)
    assert Config.fromfile(out).to_dict() == cfg.to_dict()


def test_nan_round_trips(tmp_path):
    out = tmp_path / "nan.py"
    Config({"x": float("nan")}).dump(out)
    value = Config.fromfile(out).x
    assert value != value


def test_classes_are_written_as_import_paths():
    cfg = Config({"type": Path})
    assert "type = 'pathlib.Path'" in cfg.pretty_text
    assert json.loads(cfg.dump(format="json")) == {"type": "pathlib.Path"}


def test_unwritable_values_raise():
    with pytest.raises(ConfigError, match="Cannot write"):
        _ = Config({"x": object()}).pretty_text


def test_top_level_key_must_be_a_name_for_python():
    cfg = Config({"not a name": 1})
    with pytest.raises(ConfigError, match="json or .yaml"):
        _ = cfg.pretty_text
    assert json.loads(cfg.dump(format="json")) == {"not a name": 1}
    with pytest.raises(ConfigError, match="'in' is not a Python name"):
        _ = Config({"in": 1}).pretty_text


KEYS = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda k: (
        k not in {"filename", "text", "pretty_text", "env_variables", "_base_", "_delete_"}
        and not k.startswith("__")
    )
)
#: A .py config's top-level keys are variable names: Python keywords ('in', 'if') cannot be
#: (dump refuses them, tested above); nested keys can be anything.
TOP_LEVEL_KEYS = KEYS.filter(lambda k: not keyword.iskeyword(k))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(KEYS, inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(TOP_LEVEL_KEYS, VALUES, max_size=5))
def test_python_dump_round_trip_property(tmp_path, data):
    cfg = Config(data)
    out = tmp_path / "prop.py"
    cfg.dump(out)
    assert Config.fromfile(out).to_dict() == cfg.to_dict()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(KEYS, VALUES, max_size=5))
def test_yaml_dump_round_trip_property(tmp_path, data):
    cfg = Config(data)
    out = tmp_path / "prop.yaml"
    cfg.dump(out)
    assert Config.fromfile(out).to_dict() == tuples_to_lists(cfg.to_dict())


def test_dumped_python_has_no_base_or_delete(tmp_path):
    base = tmp_path / "base.py"
    base.write_text("opt = dict(type='SGD', momentum=0.9)\n", encoding="utf-8")
    child = tmp_path / "child.py"
    child.write_text(
        textwrap.dedent(
            """
            _base_ = 'base.py'
            opt = dict(_delete_=True, type='AdamW')
            """
        ),
        encoding="utf-8",
    )
    text = Config.fromfile(child).pretty_text
    assert "_base_" not in text and "_delete_" not in text
    assert text == "opt = dict(type='AdamW')\n"
