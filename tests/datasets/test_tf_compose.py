"""Compose: dicts and callables in order; None stops the pipeline."""

from __future__ import annotations

import pytest

from segwright.datasets.transforms import Compose, RandomFlip
from segwright.registry import TRANSFORMS
from segwright.utils.errors import ConfigError, RegistryError


def test_compose_builds_dicts_and_runs_callables_in_order():
    seen = []
    pipeline = Compose(
        [lambda r: seen.append(1) or r, dict(type="SegRescale"), lambda r: {**r, "x": 2}]
    )
    assert pipeline({"seg_fields": []}) == {"seg_fields": [], "x": 2} and seen == [1]
    assert len(pipeline) == 3 and "SegRescale" in repr(pipeline)


def test_none_stops_the_pipeline():
    after = []
    assert Compose([lambda r: None, lambda r: after.append(r)])({}) is None and after == []


def test_bad_steps_are_reported_with_their_position():
    with pytest.raises(ConfigError, match=r"pipeline\[1\]"):
        Compose([dict(type="SegRescale"), 42])
    with pytest.raises(RegistryError, match=r"'RandomFlipp'.*pipeline\[0\].*RandomFlip"):
        Compose([dict(type="RandomFlipp", prob=0.5)])


def test_mmcv_scoped_names_build():
    assert isinstance(TRANSFORMS.build(dict(type="mmcv.RandomFlip", prob=0.5)), RandomFlip)
