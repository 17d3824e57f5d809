"""``merge_into``: the merge table of SPEC §1.3, checked without files."""

from __future__ import annotations

import pytest

from segwright.config.config_dict import ConfigDict
from segwright.config.merge import merge_into, strip_delete
from segwright.utils.errors import ConfigError


def test_inputs_are_not_modified():
    base = {"a": {"b": 1, "l": [1]}, "c": 2}
    child = {"a": {"b": 3, "_delete_": False}, "d": {"_delete_": True, "e": 1}}
    merged = merge_into(child, base)
    assert base == {"a": {"b": 1, "l": [1]}, "c": 2}
    assert child == {"a": {"b": 3, "_delete_": False}, "d": {"_delete_": True, "e": 1}}
    assert merged == {"a": {"b": 3, "l": [1]}, "c": 2, "d": {"e": 1}}
    assert isinstance(merged, ConfigDict) and isinstance(merged.a, ConfigDict)


@pytest.mark.parametrize(
    ("child", "base", "expected"),
    [
        ({"a": {"_delete_": True, "x": 1}}, {"a": {"y": 2}}, {"a": {"x": 1}}),
        ({"a": {"_delete_": True, "x": 1}}, {"a": [1, 2]}, {"a": {"x": 1}}),
        ({"a": {"_delete_": True, "x": 1}}, {}, {"a": {"x": 1}}),
        ({"a": {"x": 1}}, {"a": {"y": 2}}, {"a": {"y": 2, "x": 1}}),
        ({"a": {"x": {"_delete_": True}}}, {"a": {"x": {"y": 2}}}, {"a": {"x": {}}}),
        ({"a": [1]}, {"a": [1, 2, 3]}, {"a": [1]}),
        ({"a": (1,)}, {"a": {"y": 2}}, {"a": (1,)}),
        ({"a": None}, {"a": {"y": 2}}, {"a": None}),
        ({"a": 1}, {"a": [1, 2]}, {"a": 1}),
        ({"a": [{"_delete_": True, "x": 1}]}, {"a": [{"y": 2}]}, {"a": [{"x": 1}]}),
    ],
)
def test_merge_table(child, base, expected):
    assert merge_into(child, base) == expected


def test_dict_over_non_dict_error_names_path_and_sources():
    with pytest.raises(ConfigError) as info:
        merge_into(
            {"model": {"neck": {"type": "FPN"}}},
            {"model": {"neck": None}},
            child_source="child.py",
            base_source=lambda key: f"base-of-{key}.py",
        )
    message = str(info.value)
    assert "'model.neck'" in message
    assert "child.py" in message and "base-of-model.py" in message
    assert "NoneType" in message and "_delete_=True" in message


def test_digit_keys_index_lists_only_with_allow_list_keys():
    base = {"pipeline": [{"type": "A", "k": 1}, {"type": "B"}]}
    child = {"pipeline": {"0": {"k": 2}, "1": {"type": "C"}}}
    with pytest.raises(ConfigError):
        merge_into(child, base)
    merged = merge_into(child, base, allow_list_keys=True)
    assert merged == {"pipeline": [{"type": "A", "k": 2}, {"type": "C"}]}


def test_digit_key_on_a_dict_is_a_plain_key():
    merged = merge_into({"a": {"0": 5}}, {"a": {"0": 1, "x": 2}}, allow_list_keys=True)
    assert merged == {"a": {"0": 5, "x": 2}}


def test_digit_keys_on_tuples_and_nested_sequences():
    merged = merge_into(
        {"t": {"1": 9}, "grid": {"0": {"1": 7}}},
        {"t": (1, 2), "grid": [(1, 2), (3, 4)]},
        allow_list_keys=True,
    )
    assert merged == {"t": (1, 9), "grid": [(1, 7), (3, 4)]}
    assert type(merged["t"]) is tuple


def test_index_out_of_range():
    with pytest.raises(ConfigError, match=r"Index 2 in 'x.2'.*out of range.*0\.\.1"):
        merge_into({"x": {"2": 1}}, {"x": [1, 2]}, allow_list_keys=True)


def test_strip_delete_everywhere():
    value = {"_delete_": True, "a": [{"_delete_": True, "b": ({"_delete_": False, "c": 1},)}]}
    assert strip_delete(value) == {"a": [{"b": ({"c": 1},)}]}
