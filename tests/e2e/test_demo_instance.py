"""``segwright demo --task instance`` end to end at a few iterations: data, run, metrics, pictures.

The full demo (README) trains for minutes; here four iterations check that the generated COCO
data loads, the Mask R-CNN trains and validates, the two mAP lines close the output, and the
pictures are drawn. The generator itself is checked for determinism and for COCO RLE that
pycocotools decodes to the same masks.
"""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import pytest

from segwright.cli.main import main
from segwright.datasets.demo_instance import (
    INSTANCE_DEMO_CLASSES,
    mask_to_rle,
    render_instance_scene,
    write_instance_demo_dataset,
)

pytest.importorskip("pycocotools")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_instance")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGWRIGHT_CACHE", str(root / "cache"))
        patch.setenv("MPLBACKEND", "Agg")
        options = [
            "train_cfg.max_iters=4",
            "train_cfg.val_interval=4",
            "train_dataloader.batch_size=2",
        ]
        code = main(
            ["demo", "--task", "instance", "--work-dir", str(root / "work"), "--cfg-options"]
            + options
        )
    return code, root


def test_the_demo_trains_validates_and_prints_both_maps_last(demo_run, capsys):
    code, root = demo_run
    assert code == 0
    log = sorted((root / "work").glob("*/*.log"))[-1].read_text()
    assert "Iter(train) [4/4]" in log and "loss_mask" in log
    assert "coco/bbox_mAP" in log and "coco/segm_mAP" in log
    assert (root / "cache" / "demo_instance_v1" / "annotations" / "val.json").is_file()


def test_the_last_two_lines_are_bbox_and_segm_map(tmp_path, monkeypatch, capsys):
    from segwright.apis import demo_instance
    from segwright.apis.demo import DemoResult

    metrics = {"coco/bbox_mAP": 0.5, "coco/bbox_mAP_50": 0.75, "coco/segm_mAP": 0.25}
    monkeypatch.setattr(
        demo_instance, "run_instance_demo", lambda *a, **k: DemoResult(metrics, tmp_path, {})
    )
    assert main(["demo", "--task", "instance", "--work-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2:] == ["bbox mAP: 0.500", "segm mAP: 0.250"]


@pytest.mark.parametrize(
    "name, min_size", [("curves.png", (300, 900)), ("predictions.png", (700, 1000))]
)
def test_the_pictures_exist_and_are_not_blank(demo_run, name, min_size):
    _, root = demo_run
    image = cv2.imread(str(root / "work" / name))
    assert image is not None, name
    assert image.shape[0] >= min_size[0] and image.shape[1] >= min_size[1], image.shape
    assert image.std() > 10 and len(np.unique(image.reshape(-1, 3), axis=0)) > 20


def test_the_generated_coco_json_is_complete_and_decodes_with_pycocotools(demo_run):
    import pycocotools.mask as mask_utils

    _, root = demo_run
    data = json.loads(
        (root / "cache" / "demo_instance_v1" / "annotations" / "val.json").read_text()
    )
    assert [c["name"] for c in data["categories"]] == list(INSTANCE_DEMO_CLASSES)
    assert len(data["images"]) == 40 and len(data["annotations"]) > 3 * 40
    per_image = np.bincount([a["image_id"] for a in data["annotations"]])
    assert per_image[1:].min() >= 2  # several instances in every scene
    for ann in data["annotations"][:20]:
        mask = mask_utils.decode(mask_utils.frPyObjects(ann["segmentation"], 128, 128))
        assert mask.sum() == ann["area"]
        ys, xs = np.nonzero(mask)
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]


def test_scenes_are_deterministic_and_hold_overlapping_instances():
    first = render_instance_scene(np.random.default_rng(3))
    again = render_instance_scene(np.random.default_rng(3))
    assert np.array_equal(first[0], again[0])
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first[1], again[1]))
    overlapping = 0
    for seed in range(30):
        _, instances = render_instance_scene(np.random.default_rng(seed))
        masks = [mask for _, mask in instances]
        grown = [cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0 for m in masks]
        overlapping += any((grown[i] & masks[j]).any() for i in range(len(masks)) for j in range(i))
    assert overlapping >= 10  # touching or overlapping pairs are common


def test_rle_round_trips_through_pycocotools():
    import pycocotools.mask as mask_utils

    mask = np.zeros((5, 7), bool)
    mask[0, 0] = mask[1:4, 2:5] = mask[4, 6] = True
    rle = mask_to_rle(mask)
    assert (
        mask_utils.decode(mask_utils.frPyObjects(rle, 5, 7)).astype(bool).tolist() == mask.tolist()
    )


def test_the_dataset_is_reused_when_identical(tmp_path):
    root = write_instance_demo_dataset(tmp_path / "d", num_train=2, num_val=1, size=64)
    stamp = (root / "annotations" / "train.json").stat().st_mtime_ns
    assert write_instance_demo_dataset(root, num_train=2, num_val=1, size=64) == root
    assert (root / "annotations" / "train.json").stat().st_mtime_ns == stamp


def test_without_pycocotools_the_demo_names_the_extra_in_one_line(tmp_path, monkeypatch, capsys):
    for name in [m for m in sys.modules if m.startswith("pycocotools")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pycocotools", None)
    code = main(["demo", "--task", "instance", "--work-dir", str(tmp_path / "w")])
    assert code != 0
    err = capsys.readouterr().err
    assert "segwright[det]" in err and "Traceback" not in err
    assert not (tmp_path / "w").exists()
