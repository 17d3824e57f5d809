"""Text on BGR pictures with OpenCV's built-in font, sized in pixels rather than font scales."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT_BGR = (40, 40, 40)


@lru_cache(maxsize=1)
def _cap_height_at_scale_1() -> int:
    return cv2.getTextSize("H", FONT, 1.0, 1)[0][1]


@dataclass(frozen=True)
class Font:
    """OpenCV font settings whose capital letters are ``height`` pixels tall."""

    height: int

    @property
    def scale(self) -> float:
        return self.height / _cap_height_at_scale_1()

    @property
    def thickness(self) -> int:
        return max(1, round(self.height / 12))

    def size(self, text: str) -> tuple[int, int]:
        """``(width, height)`` of ``text``: capitals' height plus the descent below the line."""
        (width, height), baseline = cv2.getTextSize(text, FONT, self.scale, self.thickness)
        return width, height + baseline

    def fit(self, text: str, width: int) -> str:
        """``text``, cut short with ``..`` when it is wider than ``width`` pixels."""
        if self.size(text)[0] <= width:
            return text
        while len(text) > 1 and self.size(text + "..")[0] > width:
            text = text[:-1]
        return text + ".."


def font_for(extent: int, fraction: float, smallest: int = 11, largest: int = 40) -> Font:
    """A font ``fraction`` of ``extent`` pixels tall, kept between ``smallest`` and ``largest``."""
    return Font(int(np.clip(round(extent * fraction), smallest, largest)))


def put_text(
    canvas: np.ndarray,
    text: str,
    top_left: tuple[int, int],
    font: Font,
    colour: tuple[int, int, int] = TEXT_BGR,
) -> None:
    """Draw ``text`` (in place) with the top of its capitals at ``top_left`` = ``(x, y)``."""
    x, y = top_left
    cv2.putText(
        canvas,
        text,
        (int(x), int(y + font.height)),
        FONT,
        font.scale,
        colour,
        font.thickness,
        cv2.LINE_AA,
    )


def readable_on(rgb: tuple[int, int, int] | np.ndarray) -> tuple[int, int, int]:
    """Black or white (BGR), whichever reads better on a background of colour ``rgb``."""
    r, g, b = (float(v) for v in rgb)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    return (0, 0, 0) if luma > 140 else (255, 255, 255)
