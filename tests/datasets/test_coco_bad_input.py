"""A corpus of bad COCO input: each case ends in a DatasetError that names the file and the
annotation (or image) id and says how to fix it, or in MMDetection's skip with one log line.

A case changes a valid two-image json (or its files) and expects one of:

* ``Error(stage, *parts)``: building the dataset (``init``) or loading sample 0 through
  ``LoadImageFromFile`` + ``LoadAnnotations(with_mask=True)`` (``load``) raises
  :class:`DatasetError`, whose message holds every part (file, id, fix);
* ``Skip(text, kept)``: building logs exactly one warning, holding ``text`` (count and ids),
  and image 1 keeps ``kept`` instances;
* ``Fine(check)``: no warning, and ``check(dataset)`` holds (documented MMDetection behaviour).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from segwright.datasets import CocoDataset
from segwright.datasets.coco_json import rle_string_counts
from segwright.datasets.transforms import LoadImageFromFile
from segwright.datasets.transforms.det_loading import LoadDetAnnotations
from segwright.utils.errors import DatasetError, SegwrightError

H, W = 30, 40
EMPTY_RLE = "`U1"  # pycocotools' compressed RLE of an all-zero 30x40 mask: one run of 1200


def square(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def ann(id: int = 7, **changes: Any) -> dict[str, Any]:
    good = dict(
        id=id, image_id=1, category_id=1, bbox=[2, 3, 10, 8], area=80.0, iscrowd=0,
        segmentation=square(2, 3, 10, 8),
    )  # fmt: skip
    good.update(changes)
    return {k: v for k, v in good.items() if v is not DROP}


DROP = object()


def base() -> dict[str, Any]:
    return dict(
        images=[
            dict(id=1, file_name="a.png", height=H, width=W),
            dict(id=2, file_name="b.png", height=H, width=W),
        ],
        annotations=[ann(1), ann(2, image_id=2)],
        categories=[dict(id=1, name="coin")],
    )


@dataclass
class Error:
    stage: str
    parts: tuple[str, ...]

    def __init__(self, stage: str, *parts: str) -> None:
        self.stage, self.parts = stage, ("ann.json", *parts)


@dataclass
class Skip:
    text: str
    kept: int


@dataclass
class Fine:
    check: Callable[[CocoDataset], bool]


@dataclass
class Case:
    name: str
    change: Callable[[dict[str, Any], Path], str | None]
    expect: Error | Skip | Fine
    kwargs: dict[str, Any] = field(default_factory=dict)


def anns(*items: dict[str, Any]) -> Callable[[dict[str, Any], Path], None]:
    """A change that replaces image 1's annotations (image 2 keeps its one)."""

    def change(data: dict[str, Any], root: Path) -> None:
        data["annotations"] = [*items, ann(2, image_id=2)]

    return change


def edit(fn: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any], Path], None]:
    """A change of the json data (``fn``'s result is ignored)."""

    def change(data: dict[str, Any], root: Path) -> None:
        fn(data)

    return change


def raw(text: str) -> Callable[[dict[str, Any], Path], str]:
    return lambda data, root: text


def remove_json(data: dict[str, Any], root: Path) -> str:
    return "<no file>"


def image_file(write: Callable[[Path], Any]) -> Callable[[dict[str, Any], Path], None]:
    """A change of image 1's file."""

    def change(data: dict[str, Any], root: Path) -> None:
        write(root / "images" / "a.png")

    return change


def smaller_file_with_rle(data: dict[str, Any], root: Path) -> None:
    data["annotations"][0] = ann(1, segmentation=RLE_30x40)
    cv2.imwrite(
        str(root / "images" / "a.png"),
        np.full((20, W), 9, np.uint8) + np.eye(20, W, dtype=np.uint8),
    )


def load(ds: CocoDataset, idx: int = 0) -> dict[str, Any]:
    return ds[idx]


RLE_30x40 = dict(size=[H, W], counts=EMPTY_RLE)
FILTER = dict(filter_empty_gt=True)

CASES = [
    # -- the file ------------------------------------------------------------------------------
    Case("missing json", remove_json, Error("init", "does not exist", "relative to data_root")),
    Case("json syntax error", raw('{"images": [\n  {"id": 1,}\n]}'),
         Error("init", "is not valid JSON", "line 2, column", "Fix the file")),
    Case("top level is a list", raw("[1, 2]"), Error("init", "holds a JSON list", "'images'")),
    Case("no images", edit(lambda d: d.pop("images")), Error("init", "no 'images' list")),
    Case("no annotations", edit(lambda d: d.pop("annotations")),
         Error("init", "no 'annotations' list", "captions, keypoints or panoptic")),
    Case("no categories", edit(lambda d: d.pop("categories")), Error("init", "no 'categories'")),
    Case("annotations not a list", edit(lambda d: d.update(annotations={})),
         Error("init", "'annotations' must be a list, got a JSON dict")),
    # -- images ---------------------------------------------------------------------------------
    Case("image without height", edit(lambda d: d["images"][0].pop("height")),
         Error("init", "images[0] (id 1, file_name 'a.png') has no height")),
    Case("image of width 0", edit(lambda d: d["images"][0].update(width=0)),
         Error("init", "image id 1 (a.png) has width 0", "positive integer")),
    Case("image id twice", edit(lambda d: d["images"].append(dict(d["images"][0]))),
         Error("init", "image id 1 appears twice")),
    Case("image entry not an object", edit(lambda d: d["images"].append("c.png")),
         Error("init", "images[2] is a JSON str")),
    # -- annotations: structure -----------------------------------------------------------------
    Case("annotation not an object", edit(lambda d: d["annotations"].append([1, 2])),
         Error("init", "annotations[2] is a JSON list")),
    Case("annotation without image_id", anns(ann(image_id=DROP)),
         Error("init", "annotation id 7 has no image_id")),
    Case("annotation id twice", anns(ann(7), ann(7)),
         Error("init", "not unique: [7]", "its own id")),
    Case("bbox missing", anns(ann(bbox=DROP)),
         Error("init", "annotation id 7 (image 1, a.png): bbox is None", "[x, y, width, height]")),
    Case("bbox of 3 numbers", anns(ann(bbox=[1, 2, 3])), Error("init", "annotation id 7", "[1, 2, 3]")),
    Case("bbox with NaN", anns(ann(bbox=[1, 2, math.nan, 3])), Error("init", "annotation id 7", "nan")),
    Case("area not a number", anns(ann(area="80")),
         Error("init", "annotation id 7", "area is '80'", "the mask's pixel count")),
    # -- annotations: masks --------------------------------------------------------------------
    Case("polygon as a flat list", anns(ann(segmentation=[2, 3, 12, 3, 12, 11])),
         Error("init", "annotation id 7", "one flat list", "wrap it as [[x1, y1")),
    Case("polygon with a string", anns(ann(segmentation=[[2, 3, "x", 3, 12, 11]])),
         Error("init", "annotation id 7", "list of finite numbers")),
    Case("segmentation a string", anns(ann(segmentation="mask.png")),
         Error("init", "annotation id 7", "a JSON str", "RLE {'size'")),
    Case("RLE without counts", anns(ann(segmentation=dict(size=[H, W]))),
         Error("init", "annotation id 7", "is not a COCO RLE")),
    Case("RLE larger than the image", anns(ann(segmentation=dict(size=[60, W], counts="`U1"))),
         Error("init", "annotation id 7", "60x40", "30x40 in 'images'", "encode the mask")),
    Case("RLE run lengths of the wrong total", anns(ann(segmentation=dict(size=[H, W], counts=[5, 5]))),
         Error("init", "annotation id 7", "cover 10 pixels, not the 30x40 = 1200", "re-encode")),
    Case("RLE string of the wrong total", anns(ann(segmentation=dict(size=[H, W], counts="`U2"))),
         Error("init", "annotation id 7", "cover 2224 pixels")),
    Case("RLE string cut short", anns(ann(segmentation=dict(size=[H, W], counts="`U"))),
         Error("init", "annotation id 7", "counts string is corrupt", "re-encode")),
    # -- files at load time ---------------------------------------------------------------------
    Case("image file missing", image_file(lambda p: p.unlink()),
         Error("load", "a.png", "does not exist", "image id 1", "data_prefix")),
    Case("image file unreadable", image_file(lambda p: p.write_bytes(b"not a png")),
         Error("load", "a.png", "cannot be decoded", "image id 1", "Replace it")),
    Case("image file smaller than its json size, RLE mask", smaller_file_with_rle,
         Error("load", "a.png", "file of 20x40 pixels", "image id 1", "Fix the json entry")),
    Case("filter drops every image", edit(lambda d: d.update(annotations=[])),
         Error("init", "leaves none of the 2 images", "relax filter_cfg"), dict(filter_cfg=FILTER)),
    # -- MMDetection's skips: one line per kind -------------------------------------------------
    Case("unknown category id", anns(ann(7, category_id=5), ann(8, category_id=5)),
         Skip("skipped 2 annotations whose category_id is not in 'categories' (ids 7, 8)", 0)),
    Case("unknown image id", anns(ann(7, image_id=99), ann(1)),
         Skip("skipped 1 annotation whose image_id is not in 'images' (ids 7)", 1)),
    Case("zero-width boxes", anns(*(ann(i, bbox=[2, 3, 0, 8]) for i in (7, 8, 9))),
         Skip("skipped 3 annotations with boxes of zero or negative width or height (ids 7, 8, 9)", 0)),
    Case("negative-height box", anns(ann(bbox=[2, 3, 10, -8]), ann(1)),
         Skip("skipped 1 annotation with boxes of zero or negative width or height (ids 7)", 1)),
    Case("box outside the image", anns(ann(bbox=[50, 3, 10, 8])),
         Skip("skipped 1 annotation with boxes entirely outside the image (ids 7)", 0)),
    Case("box under 1 pixel", anns(ann(bbox=[2, 3, 0.5, 8])),
         Skip("skipped 1 annotation with boxes under 1 pixel wide or high, or of area <= 0 (ids 7)", 0)),
    Case("area 0", anns(ann(area=0)), Skip("boxes under 1 pixel wide or high, or of area <= 0 (ids 7)", 0)),
    Case("polygon of 2 points", anns(ann(segmentation=[[2, 3, 12, 3]])),
         Skip("1 annotation has polygons of fewer than 3 points or an odd number of coordinates (ids 7)", 1)),
    Case("polygon of odd length", anns(ann(segmentation=[[2, 3, 12, 3, 12, 11, 2]])),
         Skip("1 annotation has polygons of fewer than 3 points", 1)),
    # -- documented MMDetection behaviour, no warning -------------------------------------------
    Case("image without annotations, filter_empty_gt", edit(lambda d: d["annotations"].pop()),
         Fine(lambda ds: [ds.get_data_info(i)["img_id"] for i in range(len(ds))] == [1]),
         dict(filter_cfg=FILTER)),
    Case("image without annotations, no filter", edit(lambda d: d["annotations"].pop()),
         Fine(lambda ds: len(ds) == 2 and ds.get_data_info(1)["instances"] == [])),
    Case("crowd annotation", anns(ann(iscrowd=1, segmentation=RLE_30x40)),
         Fine(lambda ds: list(load(ds)["gt_ignore_flags"]) == [True])),
    Case("ignore flag", anns(ann(ignore=1)), Fine(lambda ds: ds.get_data_info(0)["instances"] == [])),
    Case("short polygon ignored at load", anns(ann(segmentation=[[2, 3, 12, 3]])),
         Fine(lambda ds: list(load(ds)["gt_ignore_flags"]) == [True]), dict(quiet=False)),
    Case("no segmentation", anns(ann(segmentation=[])),
         Fine(lambda ds: list(load(ds)["gt_ignore_flags"]) == [True])),
    Case("polygon and box reaching past the image", anns(ann(bbox=[30, 20, 30, 30], segmentation=square(30, 20, 30, 30))),
         Fine(lambda ds: ds.get_data_info(0)["instances"][0]["bbox"] == [30, 20, 60, 50]
              and load(ds)["gt_masks"].masks.shape == (1, H, W)
              and int(load(ds)["gt_masks"].masks.sum()) == 10 * 10)),
    Case("no annotations in a test_mode file", edit(lambda d: d.pop("annotations")),
         Fine(lambda ds: len(ds) == 2 and ds.get_data_info(0)["instances"] == [])),
]  # fmt: skip


def write_case(root: Path, case: Case) -> None:
    data = base()
    (root / "images").mkdir(parents=True)
    for img in data["images"]:
        pixels = np.random.default_rng(0).integers(0, 255, (H, W), dtype=np.uint8)
        cv2.imwrite(str(root / "images" / img["file_name"]), pixels)
    text = case.change(data, root)
    if text != "<no file>":
        (root / "ann.json").write_text(json.dumps(data) if text is None else text)


def build(root: Path, case: Case) -> CocoDataset:
    kwargs = {k: v for k, v in case.kwargs.items() if k != "quiet"}
    kwargs.setdefault("test_mode", case.name.endswith("test_mode file"))
    pipeline = [LoadImageFromFile(color_type="unchanged"), LoadDetAnnotations(with_mask=True)]
    return CocoDataset(
        ann_file="ann.json",
        data_root=str(root),
        data_prefix=dict(img="images/"),
        metainfo=dict(classes=("coin",)),
        pipeline=pipeline,
        **kwargs,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_coco_input(tmp_path, caplog, case):
    write_case(tmp_path, case)
    expect = case.expect
    with caplog.at_level(logging.WARNING, logger="segwright.datasets.coco"):
        if isinstance(expect, Error) and expect.stage == "init":
            with pytest.raises(DatasetError) as info:
                build(tmp_path, case)
        else:
            ds = build(tmp_path, case)
            if isinstance(expect, Error):
                with pytest.raises(DatasetError) as info:
                    load(ds)
    if isinstance(expect, Error):
        assert isinstance(info.value, SegwrightError) and isinstance(info.value, ValueError)
        message = str(info.value)
        missing = [part for part in expect.parts if part not in message]
        assert not missing, f"{missing} not in: {message}"
        return
    lines = [r.getMessage() for r in caplog.records]
    if isinstance(expect, Skip):
        assert len(lines) == 1, lines
        assert "ann.json: " in lines[0] and expect.text in lines[0], lines[0]
        assert len(ds.get_data_info(0)["instances"]) == expect.kept
    else:
        if case.kwargs.get("quiet", True):
            assert lines == []
        assert expect.check(ds)


def test_the_filter_logs_what_it_dropped(tmp_path, caplog):
    case = next(c for c in CASES if c.name == "image without annotations, filter_empty_gt")
    write_case(tmp_path, case)
    with caplog.at_level(logging.INFO, logger="segwright.datasets.coco"):
        build(tmp_path, case)
    assert "filter_cfg kept 1 of the 2 images of" in caplog.text
    assert "filter_empty_gt dropped 1 without an annotation" in caplog.text


def test_rle_strings_decode_as_pycocotools_does():
    assert rle_string_counts(EMPTY_RLE).tolist() == [H * W]
    assert rle_string_counts("").tolist() == []
    for corrupt in ("`U", "\u00e9", " 0"):
        with pytest.raises(ValueError):
            rle_string_counts(corrupt)
    mask_utils = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(0)
    for _ in range(50):
        mask = (rng.random(tuple(rng.integers(1, 40, 2))) > rng.random()).astype(np.uint8)
        rle = mask_utils.encode(np.asfortranarray(mask))
        runs = rle_string_counts(rle["counts"].decode("ascii"))
        # Run lengths from 0s: the column-major pixels split where they change.
        pixels = np.concatenate(([0], mask.reshape(-1, order="F")))
        edges = np.flatnonzero(np.diff(pixels)).tolist()
        expected = np.diff([0, *edges, mask.size]).tolist()
        assert runs.tolist() == expected
