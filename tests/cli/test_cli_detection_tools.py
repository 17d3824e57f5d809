"""segwright infer, browse-dataset and test --show-dir/--out on an MMDetection config.

A tiny untrained Mask R-CNN (``segwright.testing.detector_files``) on two 64x96 COCO images;
its scores stay low, so pictures are drawn with ``--score-thr 0``.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from segwright.apis import inference_model, init_model
from segwright.apis.inference import instance_records
from segwright.cli.main import build_parser, main
from segwright.testing.detector_files import IMAGE_SIZE, write_tiny_detector
from segwright.testing.tiny_detector import TINY_COCO_CLASSES


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_detector_cli")
    config, checkpoint = write_tiny_detector(root)
    return config, checkpoint, root / "data" / "images"


def test_infer_help_says_what_it_writes_for_detectors():
    parser = build_parser()
    infer = parser._subparsers._group_actions[0].choices["infer"]
    text = infer.format_help()
    assert "--score-thr" in text and "instances/<name>.json" in text and "uint16" in text


def test_infer_writes_pictures_json_and_instance_ids(files, tmp_path, capsys):
    config, checkpoint, images = files
    out = tmp_path / "out"
    argv = ["infer", str(config), str(checkpoint), str(images), "--out", str(out)]
    assert main([*argv, "--score-thr", "0"]) == 0
    assert "Wrote 2 overlays and instance files" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "overlays").iterdir()) == ["0.png", "1.png"]
    assert sorted(p.name for p in (out / "instances").iterdir()) == [
        "0.json", "0.png", "1.json", "1.png",
    ]  # fmt: skip
    assert not (out / "masks").exists()

    found = json.loads((out / "instances" / "0.json").read_text())
    assert found["image"] == str(images / "0.png")
    records = found["instances"]
    assert [r["id"] for r in records] == list(range(1, len(records) + 1)) and records
    assert {r["class"] for r in records} <= set(TINY_COCO_CLASSES)
    assert set(records[0]) == {"id", "label", "class", "score", "bbox", "area"}
    id_map = cv2.imread(str(out / "instances" / "0.png"), cv2.IMREAD_UNCHANGED)
    assert id_map.dtype == np.uint16 and id_map.shape == IMAGE_SIZE
    assert set(np.unique(id_map)) <= {0, *(r["id"] for r in records)}

    # The same as the Python API gives, and the overlay is show_result's picture.
    model = init_model(config, checkpoint)
    result = inference_model(model, str(images / "0.png"))
    expected, expected_map = instance_records(result, TINY_COCO_CLASSES, 0.0)
    assert records == expected and np.array_equal(id_map, expected_map)
    overlay = cv2.imread(str(out / "overlays" / "0.png"))
    assert overlay.shape == (*IMAGE_SIZE, 3)
    assert not np.array_equal(overlay, cv2.imread(str(images / "0.png")))

    strict = tmp_path / "strict"
    argv[-1] = str(strict)
    assert main([*argv, "--score-thr", "1.01"]) == 0
    assert json.loads((strict / "instances" / "1.json").read_text())["instances"] == []
    assert not cv2.imread(str(strict / "instances" / "1.png"), cv2.IMREAD_UNCHANGED).any()


def test_browse_dataset_draws_ground_truth_instances(files, tmp_path, capsys):
    config = files[0]
    out = tmp_path / "browse"
    assert main(["browse-dataset", str(config), "-n", "2", "-o", str(out)]) == 0
    assert "Wrote 2 of 2 train samples" in capsys.readouterr().out
    pictures = sorted(out.glob("*.png"))
    assert [p.name for p in pictures] == ["00000_0.png", "00001_1.png"]
    drawn = cv2.imread(str(pictures[0]))
    # The pipeline resizes to 128x192, enlarged twice for readable labels: image | ground
    # truth, under a white title band.
    assert drawn.shape[1] == 2 * 384 + 4 and drawn.shape[0] > 256
    body = drawn[-256:]
    image, truth = body[:, :384], body[:, 388:]
    assert (drawn[: drawn.shape[0] - 256, 0] == 255).all() and (body[:, 384:388] == 255).all()
    changed = (image != truth).any(axis=-1)
    assert 0.3 < changed.mean() < 0.5  # the two masks (35 % of the image) and their labels

    test_out = tmp_path / "browse_test"  # test split: annotations at the original size
    assert main(["browse-dataset", str(config), "--split", "test", "-o", str(test_out)]) == 0
    assert len(list(test_out.glob("*.png"))) == 2


def test_test_show_dir_and_out_on_a_detector(files, tmp_path, capsys):
    pytest.importorskip("pycocotools")
    config, checkpoint, _ = files
    show, out = tmp_path / "show", tmp_path / "out"
    argv = ["test", str(config), str(checkpoint), "--work-dir", str(tmp_path / "work")]
    assert main([*argv, "--show-dir", str(show), "--out", str(out)]) == 0
    assert "coco/segm_mAP:" in capsys.readouterr().out
    assert sorted(p.name for p in show.iterdir()) == ["0.png", "1.png"]
    picture = cv2.imread(str(show / "0.png"))
    assert picture.shape[1] >= 2 * IMAGE_SIZE[1]  # ground truth | prediction, enlarged
    assert sorted(p.name for p in out.iterdir()) == ["results.bbox.json", "results.segm.json"]
    segms = json.loads((out / "results.segm.json").read_text())
    assert segms and {"image_id", "category_id", "segmentation", "score"} <= set(segms[0])
