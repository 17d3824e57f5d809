"""``CocoDataset``: COCO-format instance annotations with MMDetection 3.3's semantics.

The json is read with the standard library (no pycocotools needed to train) and checked by
:mod:`segwright.datasets.coco_json`. What MMDetection does, and so what we do:

* images in the json's order; an image's annotations in the json's order;
* an annotation is skipped when ``ignore`` is set, when its box does not overlap the image,
  when ``area <= 0`` or the box is narrower or lower than 1 pixel, when its category is not
  one of the selected classes (or not in ``categories`` at all), or when its ``image_id`` is
  not an image of the file; ``iscrowd`` becomes ``ignore_flag=1``; a box partly outside the
  image is kept as it is (masks are cut to the image when rasterised);
* ``filter_cfg=dict(filter_empty_gt=True)`` keeps the images with at least one annotation of
  a selected category *in the json* (a crowd or skipped one counts too), and ``min_size``
  drops images whose shorter side is smaller.

Where we differ, on purpose: ``metainfo=dict(classes=...)`` numbers the labels in the order of
the given names (MMDetection follows the json's category order, which mislabels classes given
in another order; the two agree for every shipped config), so labels always match
``metainfo['classes']`` and ``CocoMetric``; a missing ``area`` means the box area (MMDetection
fails). What MMDetection would crash on (a missing file or key, a malformed box, area or
segmentation, an RLE of another size than its image) raises :class:`DatasetError` naming the
file and the annotation id. The skips that look like annotation errors (unknown image or
category ids, empty, tiny or outside boxes, polygons of fewer than 3 points) are logged once
per kind with their count and first ids; ``filter_cfg`` logs how many images it dropped, and a
filter that drops every image is an error.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from segwright.datasets.coco_json import (
    CocoIndex,
    check_segmentation,
    has_short_polygon,
    is_number,
    read_coco_json,
)
from segwright.datasets.det_base import BaseDetDataset
from segwright.registry import DATASETS
from segwright.utils.errors import DatasetError
from segwright.utils.suggest import did_you_mean

logger = logging.getLogger(__name__)

COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

COCO_PALETTE = [
    (220, 20, 60), (119, 11, 32), (0, 0, 142), (0, 0, 230), (106, 0, 228), (0, 60, 100),
    (0, 80, 100), (0, 0, 70), (0, 0, 192), (250, 170, 30), (100, 170, 30), (220, 220, 0),
    (175, 116, 175), (250, 0, 30), (165, 42, 42), (255, 77, 255), (0, 226, 252),
    (182, 182, 255), (0, 82, 0), (120, 166, 157), (110, 76, 0), (174, 57, 255), (199, 100, 0),
    (72, 0, 118), (255, 179, 240), (0, 125, 92), (209, 0, 151), (188, 208, 182), (0, 220, 176),
    (255, 99, 164), (92, 0, 73), (133, 129, 255), (78, 180, 255), (0, 228, 0), (174, 255, 243),
    (45, 89, 255), (134, 134, 103), (145, 148, 174), (255, 208, 186), (197, 226, 255),
    (171, 134, 1), (109, 63, 54), (207, 138, 255), (151, 0, 95), (9, 80, 61), (84, 105, 51),
    (74, 65, 105), (166, 196, 102), (208, 195, 210), (255, 109, 65), (0, 143, 149),
    (179, 0, 194), (209, 99, 106), (5, 121, 0), (227, 255, 205), (147, 186, 208), (153, 69, 1),
    (3, 95, 161), (163, 255, 0), (119, 0, 170), (0, 182, 199), (0, 165, 120), (183, 130, 88),
    (95, 32, 0), (130, 114, 135), (110, 129, 133), (166, 74, 118), (219, 142, 185),
    (79, 210, 114), (178, 90, 62), (65, 70, 15), (127, 167, 115), (59, 105, 106),
    (142, 108, 45), (196, 172, 0), (95, 54, 80), (128, 76, 255), (201, 57, 1), (246, 0, 122),
    (191, 162, 208),
]  # fmt: skip

#: The annotations MMDetection skips that look like annotation errors, one log line per kind
#: (its skips of ``ignore`` and of unselected categories are normal and not reported).
_SKIPS = {
    "orphan": "whose image_id is not in 'images'",
    "unknown_category": "whose category_id is not in 'categories'",
    "empty": "with boxes of zero or negative width or height",
    "outside": "with boxes entirely outside the image",
    "tiny": "with boxes under 1 pixel wide or high, or of area <= 0",
}


@DATASETS.register_module()
class CocoDataset(BaseDetDataset):
    """The COCO instance dataset (MMDetection 3.3's ``CocoDataset``); see the module doc.

    After loading, ``cat_ids`` (the selected json category ids, in label order),
    ``cat2label`` and ``cat_img_map`` (category id -> image ids of its annotations) are set,
    as in MMDetection.

    Args:
        ann_file: The COCO json, relative to ``data_root``.
        **kwargs: :class:`~segwright.datasets.det_base.BaseDetDataset`'s arguments
            (``data_prefix=dict(img='train2017/')``, ``filter_cfg``, ``pipeline``, ...).
    """

    METAINFO = {"classes": COCO_CLASSES, "palette": COCO_PALETTE}
    #: Annotation ids must be unique across the file (MMDetection's check).
    ANN_ID_UNIQUE = True

    def load_data_list(self) -> list[dict[str, Any]]:
        """Read the json; one dict per image (see :meth:`parse_data_info`)."""
        name = type(self).__name__
        data = read_coco_json(self.ann_file, name, need_annotations=not self.test_mode)
        index = CocoIndex(data, self.ann_file, name)
        classes = tuple(self._metainfo.get("classes") or ())
        self.cat2label = index.cat_ids_by_name(classes)
        self.cat_ids = sorted(self.cat2label, key=lambda c: self.cat2label[c])
        self.cat_img_map = {c: list(index.cat_to_imgs.get(c, [])) for c in self.cat_ids}
        self._check_classes(index, classes)
        self._skipped: dict[str, list[Any]] = defaultdict(list)
        self._skipped["orphan"] = index.orphans
        self._skipped["unknown_category"] = index.unknown_category
        data_list = []
        ann_ids: list[Any] = []
        for img_id, img in index.images.items():
            raw_img_info = dict(img, img_id=img_id)
            raw_ann_info = index.img_to_anns.get(img_id, [])
            ann_ids.extend(ann["id"] for ann in raw_ann_info)
            data_list.append(
                self.parse_data_info(dict(raw_ann_info=raw_ann_info, raw_img_info=raw_img_info))
            )
        if self.ANN_ID_UNIQUE and len(set(ann_ids)) != len(ann_ids):
            seen: set[Any] = set()
            repeated = sorted({a for a in ann_ids if a in seen or seen.add(a)}, key=str)
            raise DatasetError(
                f"{name}: annotation ids in {self.ann_file} are not unique: {repeated[:10]} "
                "appear more than once. Give every annotation its own id."
            )
        self._log_skips()
        return data_list

    def _check_classes(self, index: CocoIndex, classes: Sequence[str]) -> None:
        names = [cat["name"] for cat in index.categories]
        missing = [c for c in classes if c not in names]
        if not missing or not index.categories:
            return
        hints = "".join(did_you_mean(str(c), names) for c in missing[:5])
        if len(missing) == len(classes) and index.img_to_anns:
            raise DatasetError(
                f"{type(self).__name__}: none of the classes {list(classes)[:10]} is a category "
                f"of {self.ann_file} (its categories: {names[:20]}).{hints} Set "
                "metainfo=dict(classes=(...)) to the json's category names."
            )
        logger.warning(
            "%s: %d of the %d classes are not categories of %s, so they have no instances: %s.%s",
            type(self).__name__,
            len(missing),
            len(classes),
            self.ann_file,
            missing[:10],
            hints,
        )

    def parse_data_info(self, raw_data_info: Mapping[str, Any]) -> dict[str, Any]:
        """One image's sample dict from its json entry and annotations (MMDetection's rules).

        Args:
            raw_data_info: ``dict(raw_img_info=<image entry + img_id>, raw_ann_info=[...])``.

        Returns:
            ``img_path``, ``img_id``, ``seg_map_path``, ``height``, ``width`` and
            ``instances`` (``ignore_flag``, ``bbox`` xyxy, ``bbox_label``, ``mask`` when the
            annotation has a non-empty ``segmentation``).
        """
        img = raw_data_info["raw_img_info"]
        file_name = img["file_name"]
        seg_prefix = self.data_prefix.get("seg")
        seg_map_path = None
        if seg_prefix:
            seg_map_path = os.path.join(
                seg_prefix, file_name.rsplit(".", 1)[0] + self.seg_map_suffix
            )
        info: dict[str, Any] = dict(
            img_path=os.path.join(self.img_prefix, file_name),
            img_id=img["img_id"],
            seg_map_path=seg_map_path,
            height=img["height"],
            width=img["width"],
        )
        if self.return_classes:
            info["text"] = self._metainfo["classes"]
            info["caption_prompt"] = self.caption_prompt
            info["custom_entities"] = True
        info["instances"] = [
            inst
            for ann in raw_data_info["raw_ann_info"]
            if (inst := self._parse_instance(ann, img)) is not None
        ]
        return info

    def _parse_instance(self, ann: Mapping[str, Any], img: Mapping[str, Any]) -> dict | None:
        if ann.get("ignore", False):
            return None
        bbox = ann.get("bbox")
        if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(map(is_number, bbox)):
            self._fail(ann, img, f"bbox is {bbox!r}; expected [x, y, width, height] numbers")
        x1, y1, w, h = bbox
        inter_w = max(0, min(x1 + w, img["width"]) - max(x1, 0))
        inter_h = max(0, min(y1 + h, img["height"]) - max(y1, 0))
        area = ann.get("area", w * h)
        if not is_number(area):
            self._fail(ann, img, f"area is {area!r}; expected a number (the mask's pixel count)")
        selected = ann["category_id"] in self.cat2label
        # MMDetection's order of checks; the kind only chooses the log line.
        kind = None
        if w <= 0 or h <= 0:
            kind = "empty"
        elif inter_w * inter_h == 0:
            kind = "outside"
        elif area <= 0 or w < 1 or h < 1:
            kind = "tiny"
        if kind is not None or not selected:
            if kind is not None and selected and hasattr(self, "_skipped"):
                self._skipped[kind].append(ann["id"])
            return None
        instance: dict[str, Any] = dict(
            ignore_flag=1 if ann.get("iscrowd", False) else 0,
            bbox=[x1, y1, x1 + w, y1 + h],
            bbox_label=self.cat2label[ann["category_id"]],
        )
        segmentation = ann.get("segmentation")
        if segmentation:
            problem = check_segmentation(segmentation, img)
            if problem:
                self._fail(ann, img, problem)
            instance["mask"] = segmentation
            if has_short_polygon(segmentation) and hasattr(self, "_skipped"):
                self._skipped["short_polygon"].append(ann["id"])
        return instance

    def _fail(self, ann: Mapping[str, Any], img: Mapping[str, Any], what: str) -> None:
        raise DatasetError(
            f"{type(self).__name__}: {self.ann_file}: annotation id {ann.get('id')!r} (image "
            f"{img['img_id']!r}, {img['file_name']}): {what}."
        )

    def _log_skips(self) -> None:
        name = type(self).__name__
        for kind, text in _SKIPS.items():
            ids = self._skipped.get(kind)
            if ids:
                logger.warning(
                    "%s: %s: skipped %d annotation%s %s (ids %s), as MMDetection does.",
                    name,
                    self.ann_file,
                    len(ids),
                    "" if len(ids) == 1 else "s",
                    text,
                    _first_ids(ids),
                )
        ids = self._skipped.get("short_polygon")
        if ids:
            logger.warning(
                "%s: %s: %d annotation%s polygons of fewer than 3 points or an odd number of "
                "coordinates (ids %s); LoadAnnotations drops those polygons and ignores an "
                "instance left with none, as MMDetection does.",
                name,
                self.ann_file,
                len(ids),
                " has" if len(ids) == 1 else "s have",
                _first_ids(ids),
            )
        del self._skipped

    def filter_data(self) -> list[dict[str, Any]]:
        """Apply ``filter_cfg`` (``filter_empty_gt``, ``min_size``) unless in test mode.

        Raises:
            DatasetError: the filter leaves no image.
        """
        if self.test_mode or self.filter_cfg is None:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get("filter_empty_gt", False)
        min_size = self.filter_cfg.get("min_size", 0)
        with_ann = self._ids_in_selected_categories()
        empty = [
            info for info in self.data_list if filter_empty_gt and self._is_empty(info, with_ann)
        ]
        small = [info for info in self.data_list if min(info["width"], info["height"]) < min_size]
        dropped = {id(info) for info in empty + small}
        kept = [info for info in self.data_list if id(info) not in dropped]
        if dropped:
            logger.info(
                "%s: filter_cfg kept %d of the %d images of %s (filter_empty_gt dropped %d "
                "without an annotation of the classes, min_size=%s dropped %d).",
                type(self).__name__,
                len(kept),
                len(self.data_list),
                self.ann_file,
                len(empty),
                min_size,
                len(small),
            )
        if self.data_list and not kept:
            raise DatasetError(
                f"{type(self).__name__}: filter_cfg={self.filter_cfg} leaves none of the "
                f"{len(self.data_list)} images of {self.ann_file} ({len(empty)} have no "
                f"annotation of the classes {list(self._metainfo.get('classes') or [])[:10]}, "
                f"{len(small)} are smaller than min_size). Check metainfo classes against the "
                "json's categories, or relax filter_cfg."
            )
        return kept

    def _ids_in_selected_categories(self) -> set[Any]:
        ids: set[Any] = set()
        for cat_id in self.cat_ids:
            ids.update(self.cat_img_map.get(cat_id, []))
        return ids & {info["img_id"] for info in self.data_list}

    def _is_empty(self, info: Mapping[str, Any], with_ann: set[Any]) -> bool:
        """Whether ``filter_empty_gt`` drops this image (COCO: no annotation of the classes)."""
        return info["img_id"] not in with_ann


def _first_ids(ids: Sequence[Any], limit: int = 10) -> str:
    return ", ".join(str(i) for i in ids[:limit]) + (", ..." if len(ids) > limit else "")
