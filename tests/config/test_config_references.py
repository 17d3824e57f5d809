"""Base-variable references: ``{{_base_.a.b}}`` placeholders and the ``_base_.a.b`` attribute form (SPEC §1.5)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from segwright.config import Config
from segwright.utils.errors import ConfigError

BASE = """
model = dict(decode_head=dict(num_classes=19, channels=512), pool_scales=(1, 2, 3, 6))
crop_size = (512, 1024)
pipeline = [dict(type='Load'), dict(type='Crop', size=(512, 1024))]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path, "base.py", BASE)


@pytest.mark.parametrize(
    "line",
    [
        "nc = {{_base_.model.decode_head.num_classes}}",
        "nc = '{{_base_.model.decode_head.num_classes}}'",
        'nc = "{{ _base_.model.decode_head.num_classes }}"',
    ],
)
def test_reference_in_python_quoted_or_not(tmp_path, base, line):
    child = write(tmp_path, "child.py", f"_base_ = 'base.py'\n{line}\n")
    cfg = Config.fromfile(child)
    assert cfg.nc == 19
    assert isinstance(cfg.nc, int)


@pytest.mark.parametrize(
    "line",
    [
        "nc: {{_base_.model.decode_head.num_classes}}",
        "nc: '{{_base_.model.decode_head.num_classes}}'",
        'nc: "{{_base_.model.decode_head.num_classes}}"',
    ],
)
def test_reference_in_yaml(tmp_path, base, line):
    child = write(tmp_path, "child.yaml", f"_base_: base.py\n{line}\n")
    assert Config.fromfile(child).nc == 19


def test_reference_in_json(tmp_path, base):
    child = tmp_path / "child.json"
    child.write_text(
        json.dumps({"_base_": "base.py", "crop": "{{_base_.crop_size}}"}), encoding="utf-8"
    )
    assert Config.fromfile(child).crop == (512, 1024)


def test_reference_to_a_container_and_inside_containers(tmp_path, base):
    child = write(
        tmp_path,
        "child.py",
        """
        _base_ = 'base.py'
        head = {{_base_.model.decode_head}}
        nested = dict(sizes=[{{_base_.crop_size}}, ('{{_base_.model.pool_scales}}',)])
        """,
    )
    cfg = Config.fromfile(child)
    assert cfg.head == {"num_classes": 19, "channels": 512}
    assert cfg.nested == {"sizes": [(512, 1024), ((1, 2, 3, 6),)]}


def test_reference_through_a_list_index(tmp_path, base):
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\nsize = {{_base_.pipeline.1.size}}\n")
    assert Config.fromfile(child).size == (512, 1024)


def test_reference_reads_the_value_before_the_child_override(tmp_path, base):
    child = write(
        tmp_path,
        "child.py",
        """
        _base_ = 'base.py'
        model = dict(decode_head=dict(num_classes=150))
        aux_classes = {{_base_.model.decode_head.num_classes}}
        """,
    )
    cfg = Config.fromfile(child)
    assert cfg.model.decode_head.num_classes == 150
    assert cfg.aux_classes == 19


def test_reference_is_a_copy(tmp_path, base):
    child = write(
        tmp_path,
        "child.py",
        "_base_ = 'base.py'\nhead = {{_base_.model.decode_head}}\nhead2 = {{_base_.model.decode_head}}\n",
    )
    cfg = Config.fromfile(child)
    cfg.head.num_classes = 3
    assert cfg.head2.num_classes == 19
    assert cfg.model.decode_head.num_classes == 19


def test_reference_through_a_chain_of_bases(tmp_path, base):
    write(
        tmp_path, "mid.py", "_base_ = 'base.py'\nmodel = dict(decode_head=dict(num_classes=21))\n"
    )
    child = write(
        tmp_path, "child.yaml", "_base_: mid.py\nnc: '{{_base_.model.decode_head.num_classes}}'\n"
    )
    assert Config.fromfile(child).nc == 21


def test_unresolved_reference_names_file_key_and_missing_part(tmp_path, base):
    child = write(
        tmp_path,
        "child.py",
        "_base_ = 'base.py'\nx = dict(nc={{_base_.model.decode_hed.num_classes}})\n",
    )
    with pytest.raises(ConfigError) as info:
        Config.fromfile(child)
    message = str(info.value)
    assert "child.py" in message
    assert "_base_.model.decode_hed.num_classes" in message
    assert "'x.nc'" in message
    assert "'decode_hed'" in message and "decode_head" in message


def test_reference_cannot_see_the_same_file(tmp_path):
    child = write(tmp_path, "child.py", "a = 1\nb = {{_base_.a}}\n")
    with pytest.raises(ConfigError, match="only see values from the _base_ files"):
        Config.fromfile(child)


def test_reference_inside_a_longer_string_is_an_error(tmp_path, base):
    # MMCV/MMEngine leave the internal token in the string; segwright says what went wrong.
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\nname = 'psp_{{_base_.crop_size}}'\n")
    with pytest.raises(ConfigError, match=r"whole value") as info:
        Config.fromfile(child)
    assert "'name'" in str(info.value) and "_base_.crop_size" in str(info.value)


def test_reference_in_a_comment_is_ignored(tmp_path, base):
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\n# see {{_base_.nothing}}\nx = 1\n")
    assert Config.fromfile(child).x == 1


# -- the _base_ attribute form (.py only) ----------------------------------------------------


def test_base_attribute_access(tmp_path, base):
    child = write(
        tmp_path,
        "child.py",
        """
        _base_ = 'base.py'
        nc = _base_.model.decode_head.num_classes
        crop = _base_['crop_size']
        size = _base_.pipeline[1].size
        doubled = _base_.model.decode_head.channels * 2
        """,
    )
    cfg = Config.fromfile(child)
    assert (cfg.nc, cfg.crop, cfg.size, cfg.doubled) == (19, (512, 1024), (512, 1024), 1024)


def test_base_attribute_reuse_then_edit(tmp_path, base):
    child = write(
        tmp_path,
        "child.py",
        """
        _base_ = 'base.py'
        model = _base_.model
        model.decode_head.num_classes = 150
        """,
    )
    assert Config.fromfile(child).model.decode_head.num_classes == 150


def test_in_place_edits_through_base_take_effect(tmp_path, base):
    child = write(
        tmp_path,
        "child.py",
        """
        _base_ = 'base.py'
        _base_.model.decode_head.num_classes = 150
        _base_.pipeline[1].size = (256, 256)
        _base_['crop_size'] = (256, 256)
        """,
    )
    cfg = Config.fromfile(child)
    assert cfg.model.decode_head.num_classes == 150
    assert cfg.pipeline[1].size == (256, 256)
    assert cfg.crop_size == (256, 256)


def test_in_place_edit_does_not_change_the_base_file_itself(tmp_path, base):
    write(tmp_path, "child.py", "_base_ = 'base.py'\n_base_.model.decode_head.num_classes = 2\n")
    Config.fromfile(tmp_path / "child.py")
    assert Config.fromfile(base).model.decode_head.num_classes == 19


def test_base_attribute_of_a_missing_key_names_file_and_line(tmp_path, base):
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\n\nx = _base_.modle.decode_head\n")
    with pytest.raises(ConfigError) as info:
        Config.fromfile(child)
    message = str(info.value)
    assert "child.py:3" in message and "_base_.modle" in message
    assert "Did you mean 'model'" in message


def test_base_attribute_without_bases_is_empty(tmp_path):
    child = write(tmp_path, "child.py", "n = len(_base_)\n")
    assert Config.fromfile(child).n == 0
