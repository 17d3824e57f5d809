"""The Python API: init_model / inference_model / show_result, train() with its pre-flight checks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import segwright
from segwright.config import Config
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError, DatasetError


def _trained(tmp_path):
    cfg = toy_config(tmp_path, max_iters=2, val_interval=2)
    runner = segwright.train(Config(cfg))
    return cfg, runner


def test_train_runs_the_preflight_and_logs_label_shares(tmp_path, caplog):
    _, runner = _trained(tmp_path)
    assert any(type(h).__name__ == "SegPreflightHook" for h in runner.hooks)
    assert (
        "Pre-flight: 8 label maps checked"
        in (runner.log_dir / f"{runner.timestamp}.log").read_text()
    )


def test_preflight_rejects_num_classes_mismatch(tmp_path):
    cfg = toy_config(tmp_path, max_iters=1, val_interval=1)
    cfg["model"]["num_classes"] = 5
    with pytest.raises(ConfigError, match=r"predicts 5 classes.*has 2 \(background, square\)"):
        segwright.train(Config(cfg))


def test_preflight_rejects_labels_out_of_range(tmp_path):
    from segwright.registry import DATASETS
    from segwright.testing import ToySegDataset

    @DATASETS.register_module(name="ToyWith255Foreground", force=True)
    class Bad(ToySegDataset):  # masks saved as 0/255 instead of 0/1: the classic mistake
        def sample_arrays(self, index):
            image, mask = super().sample_arrays(index)
            mask[mask == 1] = 7
            return image, mask

    cfg = toy_config(tmp_path, max_iters=1, val_interval=1)
    cfg["train_dataloader"]["dataset"]["type"] = "ToyWith255Foreground"
    with pytest.raises(DatasetError, match="7"):
        segwright.train(Config(cfg))


def test_init_model_and_inference_on_paths_arrays_and_batches(tmp_path):
    cfg, _ = _trained(tmp_path)
    cfg["test_dataloader"] = dict(
        dataset=dict(
            type="ToySegDataset",
            pipeline=[dict(type="LoadImageFromFile"), dict(type="PackSegInputs")],
        )
    )
    model = segwright.init_model(Config(cfg), tmp_path / "iter_2.pth")
    assert model.dataset_meta["classes"] == ["background", "square"] or model.dataset_meta[
        "classes"
    ] == (
        "background",
        "square",
    )
    image = np.zeros((20, 24, 3), np.uint8)
    image[5:15, 6:18] = 200
    path = tmp_path / "img.png"
    cv2.imwrite(str(path), image)
    one = segwright.inference_model(model, path)
    assert one.pred_sem_seg.data.shape == (1, 20, 24)
    batch = segwright.inference_model(model, [image, str(path), image], batch_size=2)
    assert len(batch) == 3
    torch.testing.assert_close(batch[0].seg_logits.data, one.seg_logits.data)
    drawn = segwright.show_result(path, one, out_file=tmp_path / "out.png")
    assert drawn.shape == (20, 24, 3) and cv2.imread(str(tmp_path / "out.png")) is not None


def test_public_api_is_lazy():
    import subprocess
    import sys

    code = "import sys, segwright; print('torch' in sys.modules); segwright.init_model; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]
