"""The colour legend under a picture: one swatch and class name per class shown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from segwright.visualization.text import TEXT_BGR, Font, put_text

#: Up to this many classes, the legend lists all of them; beyond, only those in the picture.
ALL_CLASSES_UP_TO = 12
IGNORED_NAME = "ignored"
IGNORED_RGB = (255, 255, 255)


@dataclass(frozen=True)
class LegendEntry:
    """One legend item: class id (None for ignored pixels), name and RGB colour."""

    index: int | None
    name: str
    rgb: tuple[int, int, int]


def class_name(index: int, classes: Sequence[str] | None) -> str:
    """The class's name, or ``class <index>`` when the names are unknown."""
    if classes is not None and 0 <= index < len(classes):
        return str(classes[index])
    return f"class {index}"


def legend_entries(
    masks: Iterable[np.ndarray],
    palette: np.ndarray,
    classes: Sequence[str] | None = None,
    num_classes: int | None = None,
    ignore_index: int = 255,
    all_up_to: int = ALL_CLASSES_UP_TO,
) -> list[LegendEntry]:
    """The entries for pictures of ``masks``, in class order.

    Every class when there are at most ``all_up_to`` of them, else the classes present in
    the masks; an ``ignored`` entry (white) when some pixels equal ``ignore_index``.

    Args:
        masks: Class-id maps painted in the pictures (truths and predictions).
        palette: ``(N, 3)`` RGB colours, as :func:`~segwright.visualization.get_palette` gives.
        classes: Class names; None names them ``class <id>``.
        num_classes: Number of classes when ``classes`` is None.
    """
    present: set[int] = set()
    ignored = False
    for mask in masks:
        values = np.unique(np.asarray(mask))
        ignored = ignored or bool((values == ignore_index).any())
        present.update(int(v) for v in values if v != ignore_index)
    total = len(classes) if classes is not None else num_classes
    if total is not None and total <= all_up_to:
        shown = sorted(set(range(total)) | present)
    else:
        shown = sorted(present)
    entries = [
        LegendEntry(i, class_name(i, classes), tuple(int(v) for v in palette[i]))
        for i in shown
        if i < len(palette)
    ]
    if ignored:
        entries.append(LegendEntry(None, IGNORED_NAME, IGNORED_RGB))
    return entries


def draw_legend(entries: Sequence[LegendEntry], width: int, font: Font) -> np.ndarray:
    """A white ``(H, width, 3)`` BGR strip of swatches and names.

    Entries that fit go on one line; otherwise they fill aligned columns, row by row.

    Shapes:
        The height grows with the number of lines; no entries give a ``(0, width, 3)`` strip.
    """
    if not entries:
        return np.full((0, width, 3), 255, dtype=np.uint8)
    swatch = round(font.height * 1.3)
    margin = max(4, font.height // 2)
    spacing = font.height * 2  # between one entry's name and the next swatch
    line_gap = max(4, font.height // 2)
    line_height = swatch + line_gap
    usable = max(1, width - 2 * margin)
    names = [font.fit(e.name, max(1, usable - swatch - font.height // 2)) for e in entries]
    items = [swatch + font.height // 2 + font.size(name)[0] for name in names]
    if sum(items) + spacing * (len(items) - 1) <= usable:
        lefts = np.cumsum([0, *(item + spacing for item in items[:-1])]).tolist()
        slots = [(int(left), 0) for left in lefts]
    else:
        column = max(items) + spacing
        columns = max(1, (usable + spacing) // column)
        slots = [((i % columns) * column, i // columns) for i in range(len(entries))]
    line = slots[-1][1]
    placed = [(x, row, entry, name) for (x, row), entry, name in zip(slots, entries, names)]
    strip = np.full(
        (2 * margin + (line + 1) * line_height - line_gap, width, 3), 255, dtype=np.uint8
    )
    for x, line, entry, name in placed:
        left, top = margin + x, margin + line * line_height
        bgr = entry.rgb[::-1]
        strip[top : top + swatch, left : left + swatch] = TEXT_BGR
        strip[top + 1 : top + swatch - 1, left + 1 : left + swatch - 1] = bgr
        text_top = top + (swatch - font.height) // 2
        put_text(strip, name, (left + swatch + font.height // 2, text_top), font)
    return strip
