"""``DetVisualizationHook``: a no-op by default (MMDetection's runtime), pictures with draw=True."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from segwright.registry import HOOKS, default_scope
from segwright.structures import DetDataSample, InstanceData
from segwright.utils.errors import ConfigError


def _runner(tmp_path):
    dataset = SimpleNamespace(
        metainfo=dict(classes=("cat", "dog"), palette=[(255, 0, 0), (0, 255, 0)])
    )
    loop = SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset))
    return SimpleNamespace(
        log_dir=tmp_path / "run", iter=0, val_loop=loop, test_loop=loop,
        logger=logging.getLogger("test_det_vis"),
    )  # fmt: skip


def _prediction(tmp_path, name="img.png"):
    image = np.full((40, 60, 3), 30, dtype=np.uint8)
    path = tmp_path / name
    cv2.imwrite(str(path), image)
    sample = DetDataSample(metainfo=dict(img_path=str(path), ori_shape=(40, 60)))
    masks = torch.zeros(2, 40, 60, dtype=torch.bool)
    masks[0, 5:20, 5:25] = True
    masks[1, 10:30, 30:55] = True
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[5.0, 5.0, 25.0, 20.0], [30.0, 10.0, 55.0, 30.0]]),
        scores=torch.tensor([0.9, 0.1]),
        labels=torch.tensor([0, 1]),
        masks=masks,
    )
    return sample, image


def test_builds_from_mmdetections_runtime_and_does_nothing_by_default(tmp_path):
    with default_scope("mmdet"):
        hook = HOOKS.build(dict(type="DetVisualizationHook"))
    runner = _runner(tmp_path)
    sample, _ = _prediction(tmp_path)
    hook.after_val_iter(runner, 0, None, [sample])
    hook.after_test_iter(runner, 0, None, [sample])
    assert not (tmp_path / "run").exists()


def test_draw_paints_instances_above_score_thr(tmp_path):
    hook = HOOKS.build(dict(type="DetVisualizationHook", draw=True, test_out_dir="shown"))
    runner = _runner(tmp_path)
    sample, image = _prediction(tmp_path)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, None, [sample])
    picture = cv2.imread(str(tmp_path / "run" / "shown" / "img.png"))
    assert picture.shape == image.shape
    assert (picture[10, 10] != image[10, 10]).any()  # the first (score 0.9) mask is drawn
    assert (picture[20, 45] == image[20, 45]).all()  # the second (0.1 < 0.3) is not

    hook.after_val_iter(runner, 0, None, [sample])
    assert (tmp_path / "run" / "vis_data" / "vis_image" / "val_img.png_0.png").is_file()


def test_bad_interval_is_a_config_error():
    with pytest.raises(ConfigError, match="interval"):
        HOOKS.build(dict(type="DetVisualizationHook", interval=0))
