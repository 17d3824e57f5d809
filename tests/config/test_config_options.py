"""``--cfg-options`` value parsing (MMEngine's DictAction rules plus segwright's deliberate changes)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segwright.config import parse_options, parse_value
from segwright.config.options import expand_dotted
from segwright.utils.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # scalars: int -> float -> bool -> None -> str
        ("3", 3),
        ("-3", -3),
        ("0.01", 0.01),
        ("1e3", 1000.0),
        ("True", True),
        ("true", True),
        ("FALSE", False),
        ("None", None),
        ("none", "none"),
        ("abc", "abc"),
        ("work_dirs/exp", "work_dirs/exp"),
        ("", ""),
        ("a=b", "a=b"),
        # lists and tuples
        ("[1,2]", [1, 2]),
        ("[1, 2]", [1, 2]),
        ("1,2,3", [1, 2, 3]),
        ("[1]", [1]),
        ("1,", [1]),
        ("(512,512)", (512, 512)),
        ("( 512 , 512 )", (512, 512)),
        ("(1,)", (1,)),
        ("[]", []),
        ("()", ()),
        ("[[]]", [[]]),
        ("[(1,2),(3,4)]", [(1, 2), (3, 4)]),
        ("(1,2),(3,4)", [(1, 2), (3, 4)]),
        ("[1,2],[3,4]", [[1, 2], [3, 4]]),
        ("[(1,2),[a,b],c]", [(1, 2), ["a", "b"], "c"]),
        ("[0.5,True,None,x]", [0.5, True, None, "x"]),
        ("1.5,abc", [1.5, "abc"]),
        # deliberate differences from MMEngine
        ("my dir", "my dir"),  # spaces kept
        ("'my dir'", "my dir"),
        ("'1'", "1"),  # quoted values stay strings
        ('"True"', "True"),
        ("'a,b'", "a,b"),
        ("['a,b','c']", ["a,b", "c"]),
        (
            "{'type': 'OHEMPixelSampler', 'thresh': 0.7}",
            {"type": "OHEMPixelSampler", "thresh": 0.7},
        ),
        ("{}", {}),
        ("{'a': [1, 2], 'b': (3,)}", {"a": [1, 2], "b": (3,)}),
        ("[{'a': 1, 'b': 2}, {'c': 3}]", [{"a": 1, "b": 2}, {"c": 3}]),
        ("(1,2)x", "(1,2)x"),
    ],
)
def test_parse_value(text, expected):
    value = parse_value(text)
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(expected, (list, tuple)):
        assert [type(v) for v in value] == [type(v) for v in expected]


def test_parse_value_nan_and_inf():
    assert math.isnan(parse_value("nan"))
    assert parse_value("inf") == math.inf


@pytest.mark.parametrize("text", ["[1,2", "1,2)", "(1,2))", "[1,2)", "(1,2]", "]1,2["])
def test_unbalanced_brackets(text):
    with pytest.raises(ConfigError, match="Unbalanced brackets"):
        parse_value(text)


def test_bad_dict_literal():
    with pytest.raises(ConfigError, match="looks like a dict"):
        parse_value("{type: Foo}")


def test_parse_options():
    options = parse_options(["a.b=1", "c=x=y", " d = [1,2]", "a.b=2"])
    assert options == {"a.b": 2, "c": "x=y", "d": [1, 2]}


@pytest.mark.parametrize("item", ["novalue", "=3", " =3"])
def test_parse_options_needs_key_and_value(item):
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_options([item])


def test_expand_dotted():
    assert expand_dotted({"a.b.c": 1, "a.d": 2, "e": 3}) == {"a": {"b": {"c": 1}, "d": 2}, "e": 3}
    with pytest.raises(ConfigError, match="both"):
        expand_dotted({"a": 1, "a.b": 2})


@given(st.lists(st.integers(-(10**6), 10**6), max_size=6))
def test_int_lists_round_trip(values):
    assert parse_value("[" + ",".join(map(str, values)) + "]") == values
    assert parse_value(
        "(" + ",".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"
    ) == tuple(values)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip(value):
    assert parse_value(repr(value)) == value
