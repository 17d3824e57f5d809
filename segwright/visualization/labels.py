"""Class names written on the picture, one tag per large region (``with_labels``)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from segwright.visualization.legend import class_name
from segwright.visualization.text import TEXT_BGR, Font, font_for, put_text, readable_on

#: Besides each class's largest region, regions covering this share of the picture get a tag.
OTHER_REGION_SHARE = 0.03
MAX_TAGS_PER_CLASS = 3
#: Regions smaller than this share of the picture are noise and get no tag.
MIN_REGION_SHARE = 0.0005


def region_anchors(mask: np.ndarray, ignore_index: int = 255) -> list[tuple[int, tuple[int, int]]]:
    """``(class id, (x, y))`` points at which to name the mask's regions, largest class first.

    Each class gets its largest connected region and, up to :data:`MAX_TAGS_PER_CLASS` in all,
    other regions covering :data:`OTHER_REGION_SHARE` of the mask. The point is, of the
    region's pixels farthest from its border, the one nearest its centroid: central, and
    inside the region even for a ring or a crescent (whose centroid falls outside).
    """
    mask = np.asarray(mask)
    area = mask.size
    ids, counts = np.unique(mask, return_counts=True)
    anchors: list[tuple[int, tuple[int, int]]] = []
    for class_id in ids[np.argsort(-counts, kind="stable")]:
        if class_id == ignore_index:
            continue
        binary = (mask == class_id).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        regions = sorted(range(1, count), key=lambda r: -stats[r, cv2.CC_STAT_AREA])
        for rank, region in enumerate(regions[:MAX_TAGS_PER_CLASS]):
            share = stats[region, cv2.CC_STAT_AREA] / area
            if share < MIN_REGION_SHARE or (rank > 0 and share < OTHER_REGION_SHARE):
                break
            anchors.append((int(class_id), _inner_point(binary, stats[region])))
    return anchors


def _inner_point(binary: np.ndarray, stat: np.ndarray) -> tuple[int, int]:
    x, y = int(stat[cv2.CC_STAT_LEFT]), int(stat[cv2.CC_STAT_TOP])
    w, h = int(stat[cv2.CC_STAT_WIDTH]), int(stat[cv2.CC_STAT_HEIGHT])
    # A zero border makes the picture's edge count as the region's edge too.
    crop = np.pad(binary[y : y + h, x : x + w], 1)
    distance = cv2.distanceTransform(crop, cv2.DIST_L2, 3)
    # Of the points deep inside (a rectangle has a whole ridge of them), the most central.
    rows, cols = np.nonzero(distance >= 0.8 * distance.max())
    inside_rows, inside_cols = np.nonzero(crop)
    nearest = np.argmin((rows - inside_rows.mean()) ** 2 + (cols - inside_cols.mean()) ** 2)
    return x + int(cols[nearest]) - 1, y + int(rows[nearest]) - 1


def draw_class_labels(
    canvas: np.ndarray,
    mask: np.ndarray,
    palette: np.ndarray,
    classes: Sequence[str] | None = None,
    ignore_index: int = 255,
    font: Font | None = None,
) -> np.ndarray:
    """Write class names (in place) on ``canvas`` at the regions of ``mask``.

    Each name sits on a tag of its class's colour, centred on the point from
    :func:`region_anchors` and kept inside the picture. A class's first tag is always drawn;
    further tags that would overlap a drawn one are left out.

    Args:
        canvas: BGR picture of the mask's size.
        palette: ``(N, 3)`` RGB colours.
        classes: Class names; None writes ``class <id>``.
        font: Text size; None scales it with the picture.

    Returns:
        ``canvas``.
    """
    height, width = canvas.shape[:2]
    font = font or font_for(min(height, width), 1 / 24, smallest=11, largest=32)
    pad = max(2, font.height // 3)
    drawn: list[tuple[int, int, int, int]] = []
    seen: set[int] = set()
    for class_id, (x, y) in region_anchors(mask, ignore_index):
        name = class_name(class_id, classes)
        text_w, text_h = font.size(name)
        box_w, box_h = text_w + 2 * pad, text_h + 2 * pad
        left = int(np.clip(x - box_w // 2, 0, max(0, width - box_w)))
        top = int(np.clip(y - box_h // 2, 0, max(0, height - box_h)))
        box = (left, top, left + box_w, top + box_h)
        if class_id in seen and any(_overlap(box, other) for other in drawn):
            continue
        seen.add(class_id)
        drawn.append(box)
        rgb = palette[class_id] if class_id < len(palette) else (255, 255, 255)
        bgr = tuple(int(v) for v in rgb[::-1])
        cv2.rectangle(canvas, box[:2], (box[2] - 1, box[3] - 1), bgr, thickness=-1)
        cv2.rectangle(canvas, box[:2], (box[2] - 1, box[3] - 1), TEXT_BGR, thickness=1)
        put_text(canvas, name, (left + pad, top + pad), font, readable_on(rgb))
    return canvas


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
