"""Per-class metric tables rendered as plain text with ``rich`` (for logs and terminals)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text


def _cell(value: Any) -> Text:
    if isinstance(value, float):
        return Text("nan" if math.isnan(value) else f"{value:.2f}")
    return Text(str(value))  # Text, not markup: class names may contain brackets


def format_class_table(columns: Mapping[str, Sequence[Any]]) -> str:
    """Render ``{'Class': [...], 'IoU': [...], ...}`` as an ASCII table (floats with 2 decimals).

    ASCII borders keep log files readable everywhere; no colour codes are emitted.
    """
    table = Table(box=box.ASCII2, highlight=False)
    for name in columns:
        table.add_column(Text(name), justify="left" if name == "Class" else "right")
    for row in zip(*columns.values()):
        table.add_row(*(_cell(value) for value in row))
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=10_000, color_system=None, force_terminal=False, emoji=False
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())
