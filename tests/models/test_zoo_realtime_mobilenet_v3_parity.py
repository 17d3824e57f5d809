"""MobileNetV3 + LR-ASPP give MMSeg 1.2.2's numbers (weights, input and labels from formulas).

The comparisons and their tolerances are those of ``test_zoo_realtime_parity.py`` (read there);
these fixtures run at 392x392, so they have their own file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from zoo_parity_kit import one_thread  # noqa: F401 (autouse fixture)

_spec = importlib.util.spec_from_file_location(
    "_realtime_parity", Path(__file__).parent / "test_zoo_realtime_parity.py"
)
assert _spec is not None and _spec.loader is not None
PARITY = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(PARITY)

pytestmark = PARITY.pytestmark


@pytest.mark.parametrize("name", PARITY.SYNTHETIC_NAMES)
def test_eval_logits_match_mmseg(name: str):
    PARITY.test_eval_logits_match_mmseg(name)


def test_train_losses_match_mmseg():
    # the large arch's training pass costs 3 s more; its eval comparison covers its wiring
    PARITY.test_train_losses_match_mmseg("mobilenet_v3_small")
