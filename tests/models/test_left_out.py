"""VPD and SAN configs stop with the reason they are left out, not "Unknown model type"."""

from __future__ import annotations

import pytest

from segwright.models.left_out import LEFT_OUT
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


@pytest.mark.parametrize("name", sorted(LEFT_OUT))
def test_a_left_out_type_says_which_family_and_why(name):
    family, needs = LEFT_OUT[name]
    with pytest.raises(ConfigError) as info:
        MODELS.build(dict(type=name, backbone=dict(type="ResNet", depth=18)))
    message = str(info.value)
    assert name in message and family in message and needs.split(" ")[0] in message
    assert "docs/model-zoo.md" in message
