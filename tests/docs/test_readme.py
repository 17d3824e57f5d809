"""README claims that are easy to let drift: the demo's measured time comes with its conditions."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _paragraph_with(text: str) -> str:
    for paragraph in README.split("\n\n"):
        if text in paragraph:
            return " ".join(paragraph.split())
    raise AssertionError(f"README has no paragraph with {text!r}")


def test_demo_time_states_what_it_was_measured_on_and_depends_on():
    measured = _paragraph_with("Measured once")
    assert re.search(r"\*\*\d+ min \d+ s\*\*", measured)  # the figure itself
    for condition in ("2-core CPU machine", "torch 2.13.0 CPU", "cold cache"):
        assert condition in measured
    depends = _paragraph_with("The time is not a promise")
    for factor in ("CPU cores", "whatever else is running", "cold disk cache", "6 min 40 s"):
        assert factor in depends


def test_set_up_block_keeps_its_two_commands():
    block = README.split("## Set up and run", 1)[1].split("```")[1]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
