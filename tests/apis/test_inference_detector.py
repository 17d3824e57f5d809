"""init_model / inference_model / show_result on an MMDetection config (a tiny Mask R-CNN)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from segwright.apis import inference_model, init_model, show_result
from segwright.apis.inference import instance_records
from segwright.config import Config
from segwright.structures import DetDataSample, InstanceData
from segwright.testing.detector_files import IMAGE_SIZE, write_tiny_detector
from segwright.testing.tiny_detector import TINY_COCO_CLASSES
from segwright.utils.errors import ConfigError


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_detector")
    config, checkpoint = write_tiny_detector(root)  # the test pipeline halves the images
    return config, checkpoint, root / "data" / "images"


@pytest.fixture(scope="module")
def model(files):
    config, checkpoint, _ = files
    return init_model(config, checkpoint)


def test_predictions_are_det_data_samples_at_the_original_size(model, files):
    images = files[2]
    assert list(model.dataset_meta["classes"]) == list(TINY_COCO_CLASSES)
    one = inference_model(model, str(images / "0.png"))
    assert isinstance(one, DetDataSample)
    assert one.metainfo["scale_factor"] == (0.5, 0.5)  # the network saw 32x48
    found = one.pred_instances
    assert {"bboxes", "scores", "labels", "masks"} <= set(found.keys())
    assert 0 < len(found) <= 20  # the config's max_per_img
    assert found.masks.shape == (len(found), *IMAGE_SIZE) and found.masks.dtype == torch.bool
    height, width = IMAGE_SIZE
    assert float(found.bboxes[:, 2].max()) <= width and float(found.bboxes[:, 3].max()) <= height
    assert float(found.bboxes[:, 2].max()) > width / 2  # boxes are not left at the input's size
    assert bool((found.scores[:-1] >= found.scores[1:]).all())

    array = cv2.imread(str(images / "0.png"))
    both = inference_model(model, [array, str(images / "1.png")])
    assert [type(r) for r in both] == [DetDataSample, DetDataSample]
    torch.testing.assert_close(both[0].pred_instances.bboxes, found.bboxes)
    assert torch.equal(both[0].pred_instances.masks, found.masks)


def test_a_test_pipeline_without_resize_predicts_at_scale_1(files, tmp_path):
    """No Resize: no scale_factor in the metainfo; the heads take it as 1.0 (MMDetection 2.x)."""
    config, checkpoint, images = files
    cfg = Config.fromfile(config)
    pipeline = cfg.test_dataloader.dataset.pipeline
    del pipeline[1]  # Resize
    model = init_model(cfg, checkpoint)
    result = inference_model(model, str(images / "1.png"))
    assert "scale_factor" not in result.metainfo
    assert result.pred_instances.masks.shape[1:] == IMAGE_SIZE

    pipeline.insert(1, dict(type="Resize", scale=IMAGE_SIZE[::-1], keep_ratio=True))
    same = inference_model(init_model(cfg, checkpoint), str(images / "1.png"))
    assert same.metainfo["scale_factor"] == (1.0, 1.0)
    torch.testing.assert_close(result.pred_instances.bboxes, same.pred_instances.bboxes)
    assert torch.equal(result.pred_instances.masks, same.pred_instances.masks)


def test_show_result_draws_boxes_masks_labels_and_scores(model, files, tmp_path):
    path = files[2] / "0.png"
    image = cv2.imread(str(path))
    result = inference_model(model, str(path))
    best = result.pred_instances[:1]
    result.pred_instances = best
    drawn = show_result(path, result, out_file=tmp_path / "out.png", model=model, score_thr=0.0)
    assert drawn.shape == image.shape  # the image's size: no title or legend
    assert np.array_equal(cv2.imread(str(tmp_path / "out.png")), drawn)
    inside = best.masks[0].numpy()
    assert (drawn[inside] != image[inside]).any(axis=-1).mean() > 0.9  # the mask is blended in
    del best.masks
    outline = show_result(path, result, model=model, score_thr=0.0)
    changed = (outline != image).any(axis=-1)
    x1, y1, x2, y2 = (int(round(float(v))) for v in best.bboxes[0])
    assert changed[(y1 + y2) // 2, min(x1, image.shape[1] - 1)]  # the box's left side
    assert changed.sum() > 2 * (x2 - x1 + y2 - y1)  # and the label "class score" on its tag

    nothing = show_result(path, result, model=model, score_thr=1.01)
    assert np.array_equal(nothing, image)  # below score_thr: the image as it is


def test_instance_records_and_id_map():
    masks = torch.zeros(3, 10, 12, dtype=torch.bool)
    masks[0, 2:6, 2:6] = True
    masks[1, 4:8, 4:8] = True  # overlaps the first; better score
    masks[2, 0:2, 0:2] = True  # below the threshold
    sample = DetDataSample()
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[2.0, 2, 6, 6], [4, 4, 8, 8], [0, 0, 2, 2]]),
        scores=torch.tensor([0.5, 0.9, 0.1]),
        labels=torch.tensor([1, 0, 2]),
        masks=masks,
    )
    records, id_map = instance_records(sample, ("cat", "dog"), score_thr=0.3)
    assert [(r["id"], r["label"], r["class"], r["score"]) for r in records] == [
        (1, 0, "cat", 0.9),
        (2, 1, "dog", 0.5),
    ]
    assert records[0]["bbox"] == [4.0, 4.0, 8.0, 8.0] and records[1]["area"] == 16
    assert id_map.dtype == np.uint16 and id_map.shape == (10, 12)
    assert id_map[5, 5] == 1 and id_map[3, 3] == 2 and id_map[0, 0] == 0
    assert (id_map == 2).sum() == 16 - 4  # the overlap went to the better score

    del sample.pred_instances.masks
    records, id_map = instance_records(sample, None, score_thr=0.0)
    assert id_map is None and len(records) == 3 and records[0]["class"] is None
    with pytest.raises(ConfigError, match="DetDataSample"):
        instance_records(object())
