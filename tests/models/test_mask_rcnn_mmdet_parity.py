"""An MMDetection 3.3 Mask R-CNN checkpoint gives MMDetection's detections on a real photo.

``fixtures/mmdet_mask_rcnn`` holds what MMDetection itself produced (see its
``generate_with_mmdet.py``): the checkpoint of its ``mask-rcnn_r50_fpn`` model at narrow widths
with confident weights, the model config, and its 100 detections (boxes, scores, labels, masks)
on matplotlib's ``grace_hopper.jpg`` through the ``coco_instance`` test pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import torch

from segwright.engine.checkpoint import load_checkpoint
from segwright.registry import MODELS, TRANSFORMS, default_scope

FIXTURES = Path(__file__).parent / "fixtures" / "mmdet_mask_rcnn"
PHOTO = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
TEST_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="Resize", scale=(1333, 800), keep_ratio=True),
    dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")),
]  # fmt: skip


def _predict() -> object:
    with default_scope("mmdet"):
        model = MODELS.build(json.loads((FIXTURES / "model.json").read_text()))
        pipeline = [TRANSFORMS.build(step) for step in TEST_PIPELINE]
    _, report = load_checkpoint(model, FIXTURES / "checkpoint.pth")
    assert report.exact, "MMDetection's state-dict keys must load strictly"
    model.eval()
    sample = dict(img_path=str(PHOTO), img_id=0)
    for step in pipeline:
        sample = step(sample)
    with torch.no_grad():
        batch = dict(inputs=[sample["inputs"]], data_samples=[sample["data_samples"]])
        return model.test_step(batch)[0]


@torch.no_grad()
def test_mmdet_checkpoint_gives_mmdets_detections_on_a_real_photo():
    result = _predict()
    assert result.metainfo["img_shape"] == (938, 800)  # MMDet's keep-ratio resize of 600x512
    pred = result.pred_instances
    ref = np.load(FIXTURES / "expected.npz")
    # Both sides compute in float32 with different summation orders (conv kernels, separable
    # RoIAlign): scores differ by rounding, here 7e-7. A reference detection must be found
    # unless its score is within 1e-4 of the 100th (max_per_img) one, where rounding can
    # reorder the cut. Tolerances: scores 1e-5 (13x the measured difference); boxes 1e-3 px
    # on a 600x512 photo (130x); masks: at most 1 % of an instance's pixels, those whose pasted
    # probability sits at the 0.5 threshold (0 differ on the machine that made the fixture).
    boxes, scores, labels = pred.bboxes.numpy(), pred.scores.numpy(), pred.labels.numpy()
    masks = pred.masks.numpy()
    assert masks.shape[1:] == ref["masks"].shape[1:] == (600, 512)
    cut = ref["scores"].min() + 1e-4
    used: set[int] = set()
    for i in range(len(ref["scores"])):
        close = np.abs(boxes - ref["bboxes"][i]).max(axis=1) <= 1e-3
        same = np.flatnonzero(close & (labels == ref["labels"][i]))
        same = [j for j in same if j not in used]
        if not same:
            assert ref["scores"][i] <= cut, f"MMDet's detection {i} is missing"
            continue
        j = same[0]
        used.add(j)
        assert abs(scores[j] - ref["scores"][i]) <= 1e-5
        differing = int((masks[j] != ref["masks"][i]).sum())
        assert differing <= 0.01 * max(int(ref["masks"][i].sum()), 1)
    assert len(used) >= len(ref["scores"]) - int((ref["scores"] <= cut).sum())
