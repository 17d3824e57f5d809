"""Loading config files: formats, ``_base_`` chains, merge rules and loading errors (SPEC §1.1-§1.4)."""

from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path

import pytest

from segwright.config import Config
from segwright.utils.errors import ConfigError


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- formats ---------------------------------------------------------------------------------


def test_load_python(tmp_path):
    path = write(
        tmp_path,
        "a.py",
        """
        model = dict(type='EncoderDecoder', backbone=dict(depth=50, strides=(1, 2, 1, 1)))
        lr = 0.01
        names = ['a', 'b']
        """,
    )
    cfg = Config.fromfile(path)
    assert cfg.model.backbone.depth == 50
    assert cfg.model.backbone.strides == (1, 2, 1, 1)
    assert cfg.lr == 0.01
    assert cfg.names == ["a", "b"]


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_load_yaml(tmp_path, suffix):
    path = write(
        tmp_path,
        f"a{suffix}",
        """
        model:
          type: EncoderDecoder
          backbone: {depth: 50}
        lr: 0.01
        names: [a, b]
        """,
    )
    cfg = Config.fromfile(path)
    assert cfg.to_dict() == {
        "model": {"type": "EncoderDecoder", "backbone": {"depth": 50}},
        "lr": 0.01,
        "names": ["a", "b"],
    }


def test_load_json(tmp_path):
    data = {"model": {"type": "EncoderDecoder", "backbone": {"depth": 50}}, "names": ["a"]}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert Config.fromfile(path).to_dict() == data


def test_empty_yaml_is_an_empty_config(tmp_path):
    assert Config.fromfile(write(tmp_path, "a.yaml", "")).to_dict() == {}


def test_yaml_does_not_run_code(tmp_path):
    # safe_load: a python tag is an error, never an object construction.
    path = write(tmp_path, "a.yaml", "x: !!python/object/apply:os.getcwd []\n")
    with pytest.raises(ConfigError, match="Invalid YAML"):
        Config.fromfile(path)


def test_yaml_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="mapping"):
        Config.fromfile(write(tmp_path, "a.yaml", "- 1\n- 2\n"))


def test_invalid_json_names_file_and_line(tmp_path):
    path = write(tmp_path, "a.json", '{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(ConfigError, match=r"a\.json:\d"):
        Config.fromfile(path)


@pytest.mark.parametrize("name", ["a.toml", "a.txt", "a"])
def test_unsupported_extension(tmp_path, name):
    path = write(tmp_path, name, "a = 1\n")
    with pytest.raises(ConfigError, match="unsupported extension") as info:
        Config.fromfile(path)
    assert ".py" in str(info.value) and ".yaml" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        Config.fromfile(tmp_path / "nope.py")


def test_python_collects_only_config_variables(tmp_path):
    path = write(
        tmp_path,
        "a.py",
        """
        import os
        from math import sqrt
        def helper(x):
            return x * 2
        __hidden = 1
        _tmp = helper(2)
        side = int(sqrt(16))
        here = os.path.basename('/x/y.py')
        """,
    )
    cfg = Config.fromfile(path)
    # Modules and functions are dropped; single-underscore names are kept (as in MMCV/MMEngine).
    assert cfg.to_dict() == {"_tmp": 4, "side": 4, "here": "y.py"}


# -- _base_ ----------------------------------------------------------------------------------


def test_base_as_string(tmp_path):
    write(tmp_path, "base.py", "a = 1\nb = dict(c=2)\n")
    child = write(tmp_path, "child.py", "_base_ = './base.py'\nb = dict(d=3)\n")
    assert Config.fromfile(child).to_dict() == {"a": 1, "b": {"c": 2, "d": 3}}


def test_base_as_list_keeps_base_order(tmp_path):
    write(tmp_path, "b1.py", "x = 1\n")
    write(tmp_path, "b2.py", "y = 2\n")
    child = write(tmp_path, "child.py", "_base_ = ['b1.py', 'b2.py']\nz = 3\n")
    cfg = Config.fromfile(child)
    assert list(cfg) == ["x", "y", "z"]


def test_base_is_relative_to_the_including_file(tmp_path, monkeypatch):
    write(tmp_path, "configs/_base_/models/m.py", "model = dict(depth=50)\n")
    # The middle file names its base relative to itself, not to the child or the cwd.
    write(tmp_path, "configs/_base_/mid.py", "_base_ = './models/m.py'\nmid = True\n")
    child = write(tmp_path, "configs/exp/child.py", "_base_ = '../_base_/mid.py'\n")
    monkeypatch.chdir(tmp_path)
    assert Config.fromfile(child).to_dict() == {"model": {"depth": 50}, "mid": True}


def test_absolute_base_path(tmp_path):
    base = write(tmp_path, "elsewhere/base.py", "a = 1\n")
    child = write(tmp_path, "child.py", f"_base_ = [{str(base)!r}]\n")
    assert Config.fromfile(child).a == 1


def test_bases_nested_to_any_depth(tmp_path):
    write(tmp_path, "l0.py", "level = 0\nd = dict(l0=0)\n")
    for i in range(1, 6):
        write(tmp_path, f"l{i}.py", f"_base_ = 'l{i - 1}.py'\nlevel = {i}\nd = dict(l{i}={i})\n")
    cfg = Config.fromfile(tmp_path / "l5.py")
    assert cfg.level == 5
    assert cfg.d == {f"l{i}": i for i in range(6)}


def test_mixed_formats_in_one_chain(tmp_path):
    write(tmp_path, "base.py", "model = dict(depth=50, strides=(1, 2))\nlr = 0.1\n")
    write(tmp_path, "mid.yaml", "_base_: base.py\nmodel:\n  depth: 101\n")
    child = tmp_path / "child.json"
    child.write_text(json.dumps({"_base_": ["mid.yaml"], "lr": 0.5}), encoding="utf-8")
    cfg = Config.fromfile(child)
    assert cfg.to_dict() == {"model": {"depth": 101, "strides": (1, 2)}, "lr": 0.5}


def test_base_must_be_string_or_list(tmp_path):
    path = write(tmp_path, "a.yaml", "_base_: 3\n")
    with pytest.raises(ConfigError, match="_base_ must be"):
        Config.fromfile(path)


def test_python_base_must_be_a_literal(tmp_path):
    path = write(tmp_path, "a.py", "name = 'b.py'\n_base_ = [name]\n")
    with pytest.raises(ConfigError, match=r"a\.py:2.*literal"):
        Config.fromfile(path)


def test_missing_base_names_including_file_and_tried_path(tmp_path):
    write(tmp_path, "ok.py", "a = 1\n")
    child = write(tmp_path, "cfgs/child.py", "_base_ = ['../ok.py', '../_base_/nothere.py']\n")
    with pytest.raises(ConfigError) as info:
        Config.fromfile(child)
    message = str(info.value)
    assert "child.py" in message
    assert str((tmp_path / "_base_" / "nothere.py").resolve()) in message
    assert "relative to the file" in message


def test_duplicate_top_level_key_across_bases_names_both_files(tmp_path):
    write(tmp_path, "m1.py", "model = dict(a=1)\nonly1 = 1\n")
    write(tmp_path, "m2.py", "model = dict(b=2)\n")
    child = write(tmp_path, "child.py", "_base_ = ['m1.py', 'm2.py']\n")
    with pytest.raises(ConfigError) as info:
        Config.fromfile(child)
    message = str(info.value)
    assert "'model'" in message and "m1.py" in message and "m2.py" in message
    assert "only1" not in message


def test_duplicate_key_found_through_a_base_of_a_base(tmp_path):
    write(tmp_path, "deep.py", "model = dict(a=1)\n")
    write(tmp_path, "m1.py", "_base_ = 'deep.py'\n")
    write(tmp_path, "m2.py", "model = dict(b=2)\n")
    child = write(tmp_path, "child.py", "_base_ = ['m1.py', 'm2.py']\n")
    with pytest.raises(ConfigError, match="model.*m1.py.*m2.py"):
        Config.fromfile(child)


def test_cycle_of_bases_names_the_cycle(tmp_path):
    write(tmp_path, "a.py", "_base_ = 'b.py'\n")
    write(tmp_path, "b.py", "_base_ = ['c.yaml']\n")
    write(tmp_path, "c.yaml", "_base_: a.py\n")
    with pytest.raises(ConfigError, match="cycle") as info:
        Config.fromfile(tmp_path / "a.py")
    message = str(info.value)
    assert message.index("a.py") < message.index("b.py") < message.index("c.yaml")
    assert message.count("a.py") == 2  # the cycle closes on the file it started from


def test_self_include_is_a_cycle(tmp_path):
    path = write(tmp_path, "a.py", "_base_ = 'a.py'\n")
    with pytest.raises(ConfigError, match="cycle"):
        Config.fromfile(path)


def test_shared_base_loaded_twice_in_a_chain_is_not_a_cycle(tmp_path):
    write(tmp_path, "common.py", "c = 1\n")
    write(tmp_path, "mid.py", "_base_ = 'common.py'\nm = 2\n")
    child = write(tmp_path, "child.py", "_base_ = 'mid.py'\n")
    assert Config.fromfile(child).to_dict() == {"c": 1, "m": 2}


# -- merge rules -----------------------------------------------------------------------------


def test_dicts_merge_recursively_and_child_wins(tmp_path):
    write(tmp_path, "base.py", "m = dict(a=1, b=dict(c=2, d=3), e='x')\n")
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\nm = dict(b=dict(d=30, f=4), g=5)\n")
    assert Config.fromfile(child).m == {"a": 1, "b": {"c": 2, "d": 30, "f": 4}, "e": "x", "g": 5}


def test_lists_and_tuples_replace(tmp_path):
    write(
        tmp_path,
        "base.py",
        "pipeline = [dict(type='A'), dict(type='B'), dict(type='C')]\nscales = (1, 2, 3, 6)\n",
    )
    child = write(
        tmp_path, "child.py", "_base_ = 'base.py'\npipeline = [dict(x=1)]\nscales = (2,)\n"
    )
    cfg = Config.fromfile(child)
    assert cfg.pipeline == [{"x": 1}]
    assert cfg.scales == (2,)


def test_scalar_and_none_replace_a_dict(tmp_path):
    write(tmp_path, "base.py", "aux = dict(type='FCNHead')\nneck = dict(type='FPN')\n")
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\naux = None\nneck = 'off'\n")
    assert Config.fromfile(child).to_dict() == {"aux": None, "neck": "off"}


def test_dict_over_non_dict_names_key_and_both_files(tmp_path):
    write(tmp_path, "base.py", "model = dict(neck=None)\n")
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\nmodel = dict(neck=dict(type='FPN'))\n")
    with pytest.raises(ConfigError) as info:
        Config.fromfile(child)
    message = str(info.value)
    assert "model.neck" in message
    assert "child.py" in message and "base.py" in message
    assert "_delete_=True" in message


def test_delete_replaces_instead_of_merging(tmp_path):
    write(tmp_path, "base.py", "opt = dict(type='SGD', lr=0.01, momentum=0.9)\n")
    child = write(
        tmp_path,
        "child.py",
        "_base_ = 'base.py'\nopt = dict(_delete_=True, type='AdamW', lr=1e-3)\n",
    )
    assert Config.fromfile(child).opt == {"type": "AdamW", "lr": 1e-3}


def test_delete_makes_dict_over_none_possible(tmp_path):
    write(tmp_path, "base.py", "model = dict(neck=None)\n")
    child = write(
        tmp_path, "child.py", "_base_ = 'base.py'\nmodel = dict(neck=dict(_delete_=True, n=1))\n"
    )
    assert Config.fromfile(child).model == {"neck": {"n": 1}}


def test_delete_never_leaks_when_base_lacks_the_key(tmp_path):
    write(tmp_path, "base.py", "a = 1\n")
    child = write(
        tmp_path,
        "child.py",
        "_base_ = 'base.py'\nnew = dict(_delete_=True, x=1, inner=dict(_delete_=True, y=2))\n",
    )
    # MMCV/MMEngine keep _delete_ here (SPEC §1.3); segwright never lets it reach a constructor.
    assert Config.fromfile(child).new == {"x": 1, "inner": {"y": 2}}


def test_delete_never_leaks_nested_or_inside_lists(tmp_path):
    write(tmp_path, "base.py", "m = dict(head=dict(loss=dict(type='CE', w=1.0)))\n")
    child = write(
        tmp_path,
        "child.py",
        """
        _base_ = 'base.py'
        m = dict(head=dict(loss=dict(_delete_=True, type='Dice', extra=dict(_delete_=True, k=1))))
        losses = [dict(_delete_=True, type='CE'), (dict(_delete_=False, type='X'),)]
        """,
    )
    cfg = Config.fromfile(child)
    assert cfg.m == {"head": {"loss": {"type": "Dice", "extra": {"k": 1}}}}
    assert cfg.losses == [{"type": "CE"}, ({"type": "X"},)]
    assert "_delete_" not in cfg.pretty_text


def test_delete_false_merges(tmp_path):
    write(tmp_path, "base.py", "opt = dict(type='SGD', lr=0.01)\n")
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\nopt = dict(_delete_=False, lr=0.1)\n")
    assert Config.fromfile(child).opt == {"type": "SGD", "lr": 0.1}


def test_delete_in_yaml(tmp_path):
    write(tmp_path, "base.yaml", "opt: {type: SGD, lr: 0.01, momentum: 0.9}\n")
    child = write(tmp_path, "child.yaml", "_base_: base.yaml\nopt: {_delete_: true, type: AdamW}\n")
    assert Config.fromfile(child).opt == {"type": "AdamW"}


def test_trailing_comma_makes_a_tuple_and_warns(tmp_path):
    write(tmp_path, "base.py", "losses = dict(a=1, b=2)\n")
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\nx = 1\nlosses = dict(a=3),\n")
    with pytest.warns(
        UserWarning, match=r"child\.py:3: 'losses = dict\(\.\.\.\),' ends with a comma"
    ):
        cfg = Config.fromfile(child)
    # As in MMCV/MMEngine the tuple replaces the base dict.
    assert cfg.losses == ({"a": 3},)


def test_trailing_comma_on_a_dict_key_reads_the_dict_and_merges(tmp_path):
    # MMDetection's fine-tuning guide writes "default_hooks = dict(logger=...)," (MMEngine
    # then fails); a key that must hold one dict is read as that dict, with a warning.
    write(tmp_path, "base.py", "model = dict(a=1, b=2)\ndefault_hooks = dict(logger=dict(i=50))\n")
    child = write(
        tmp_path,
        "child.py",
        "_base_ = 'base.py'\nx = 1\nmodel = dict(a=3),\ndefault_hooks = dict(logger=dict(i=1)),\n",
    )
    with pytest.warns(UserWarning) as record:
        cfg = Config.fromfile(child)
    messages = [str(w.message) for w in record]
    assert any(
        "child.py:3: 'model = dict(...),' ends with a comma" in m and "read as that dict" in m
        for m in messages
    )
    assert any("child.py:4: 'default_hooks = dict(...),'" in m for m in messages)
    assert not any("replaces the base value" in m for m in messages)
    assert cfg.model == {"a": 3, "b": 2}
    assert cfg.default_hooks == {"logger": {"i": 1}}


def test_mmdet_2x_base_name_resolves_to_the_3x_file(tmp_path):
    write(tmp_path, "_base_/models/mask-rcnn_r50_fpn.py", "model = dict(type='MaskRCNN')\n")
    child = write(
        tmp_path, "cityscapes/guide.py", "_base_ = ['../_base_/models/mask_rcnn_r50_fpn.py']\n"
    )
    with pytest.warns(UserWarning, match=r"guide\.py:1: the _base_ '\.\./_base_/models/mask_rcnn"):
        cfg = Config.fromfile(child)
    assert cfg.model == {"type": "MaskRCNN"}
    missing = write(tmp_path, "other.py", "_base_ = ['_base_/models/cascade_rcnn.py']\n")
    with pytest.raises(ConfigError, match="Base config not found"):
        Config.fromfile(missing)


def test_parenthesised_one_element_tuple_does_not_warn(tmp_path):
    path = write(tmp_path, "a.py", "pipeline = (dict(type='A'),)\nother = [dict(type='B')]\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = Config.fromfile(path)
    assert cfg.pipeline == ({"type": "A"},)


# -- text-level substitutions ----------------------------------------------------------------


def test_predefined_variables(tmp_path):
    path = write(
        tmp_path,
        "sub/my.cfg.py",
        """
        work_dir = './work_dirs/{{ fileBasenameNoExtension }}'
        here = '{{fileDirname}}'
        name = "{{ fileBasename }}"
        ext = '{{  fileExtname  }}'
        """,
    )
    cfg = Config.fromfile(path)
    assert cfg.work_dir == "./work_dirs/my.cfg"
    assert cfg.here == str(path.parent.resolve()).replace("\\", "/")
    assert cfg.name == "my.cfg.py"
    assert cfg.ext == ".py"


def test_predefined_variables_in_yaml(tmp_path):
    path = write(tmp_path, "exp.yaml", "work_dir: work_dirs/{{ fileBasenameNoExtension }}\n")
    assert Config.fromfile(path).work_dir == "work_dirs/exp"


def test_environment_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGWRIGHT_TEST_ROOT", "/datasets/ade")
    monkeypatch.delenv("SEGWRIGHT_TEST_UNSET", raising=False)
    path = write(
        tmp_path,
        "a.py",
        """
        data_root = '{{$SEGWRIGHT_TEST_ROOT:/data}}'
        fallback = '{{$SEGWRIGHT_TEST_UNSET:/data/default}}'
        num_classes = {{'$SEGWRIGHT_TEST_UNSET:150'}}
        """,
    )
    cfg = Config.fromfile(path)
    assert cfg.data_root == "/datasets/ade"
    assert cfg.fallback == "/data/default"
    assert cfg.num_classes == 150


def test_environment_variable_in_yaml(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGWRIGHT_TEST_NC", "21")
    path = write(tmp_path, "a.yaml", "num_classes: {{$SEGWRIGHT_TEST_NC:19}}\n")
    assert Config.fromfile(path).num_classes == 21


def test_environment_variable_without_value_or_default(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGWRIGHT_TEST_UNSET", raising=False)
    path = write(tmp_path, "a.py", "x = '{{$SEGWRIGHT_TEST_UNSET}}'\n")
    with pytest.raises(ConfigError, match="SEGWRIGHT_TEST_UNSET"):
        Config.fromfile(path)


# -- loading errors --------------------------------------------------------------------------


def test_syntax_error_names_file_line_and_source(tmp_path):
    path = write(tmp_path, "bad.py", "a = 1\nmodel = dict(type='X'\nb = 2\n")
    with pytest.raises(ConfigError) as info:
        Config.fromfile(path)
    message = str(info.value)
    assert f"{path}:2" in message
    assert "model = dict(type='X'" in message


def test_syntax_error_in_a_base_names_the_base(tmp_path):
    write(tmp_path, "base.py", "x = [1, 2\n")
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\n")
    with pytest.raises(ConfigError, match=r"base\.py:1"):
        Config.fromfile(child)


def test_runtime_error_names_file_line_and_source(tmp_path):
    path = write(tmp_path, "bad.py", "a = 1\nb = undefined_name + 1\n")
    with pytest.raises(ConfigError) as info:
        Config.fromfile(path)
    message = str(info.value)
    assert f"{path}:2" in message and "NameError" in message and "undefined_name + 1" in message


@pytest.mark.parametrize("key", ["filename", "text", "pretty_text", "env_variables"])
def test_reserved_key_names(tmp_path, key):
    path = write(tmp_path, "a.py", f"{key} = 1\n")
    with pytest.raises(ConfigError, match=f"'{key}'.*reserve"):
        Config.fromfile(path)


def test_reserved_key_in_a_base(tmp_path):
    write(tmp_path, "base.yaml", "text: hello\n")
    child = write(tmp_path, "child.py", "_base_ = 'base.yaml'\n")
    with pytest.raises(ConfigError, match=r"base\.yaml.*'text'"):
        Config.fromfile(child)


def test_lazy_import_configs_are_rejected(tmp_path):
    path = write(
        tmp_path,
        "a.py",
        """
        from mmengine.config import read_base
        with read_base():
            from .base import *
        """,
    )
    with pytest.raises(ConfigError, match="read_base"):
        Config.fromfile(path)


def test_deprecation_key_warns_and_is_dropped(tmp_path):
    write(tmp_path, "new.py", "a = 1\n")
    old = write(
        tmp_path,
        "old.py",
        "_base_ = 'new.py'\n_deprecation_ = dict(expected='new.py', reference='https://example.org')\n",
    )
    with pytest.warns(DeprecationWarning, match=r"old\.py is deprecated. Use new\.py instead"):
        cfg = Config.fromfile(old)
    assert cfg.to_dict() == {"a": 1}
