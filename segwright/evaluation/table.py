"""Per-class metric tables rendered as plain ASCII text (for logs and terminals).

Written by hand rather than with ``rich``: a 150-class table took rich about 0.2 s, paid at
every validation (measured by benchmarks/eval.py), while this takes well under a millisecond.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.2f}"
    return str(value)


def format_class_table(columns: Mapping[str, Sequence[Any]]) -> str:
    """Render ``{'Class': [...], 'IoU': [...], ...}`` as an ASCII table (floats with 2 decimals).

    The class column is left-aligned, numbers right-aligned; no colour codes are emitted.
    """
    names = list(columns)
    rows = [[_cell(value) for value in row] for row in zip(*columns.values())]
    widths = [max([len(name)] + [len(row[i]) for row in rows]) for i, name in enumerate(names)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.ljust(width) if name == "Class" else cell.rjust(width)
            for cell, width, name in zip(cells, widths, names)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"
    return "\n".join([rule, line(names), rule, *(line(row) for row in rows), rule])
