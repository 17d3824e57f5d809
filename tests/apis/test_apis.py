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
    with pytest.raises(
        ConfigError,
        match=r"num_classes=5, but train_dataloader.dataset has 2 classes \(background, square\)",
    ):
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
    # A batch of 2 vs a batch of 1: the conv kernels may split and sum differently. The toy
    # model sums 27 + 4 terms per logit (conv3x3, BN, conv1x1); float32 rounding of that is a
    # few dozen eps32 of the magnitudes: allow 1e-5 (~84 eps32) of the largest logit.
    scale = float(one.seg_logits.data.abs().max())
    torch.testing.assert_close(
        batch[0].seg_logits.data, one.seg_logits.data, rtol=1e-5, atol=1e-5 * scale
    )
    drawn = segwright.show_result(path, one, out_file=tmp_path / "out.png")
    assert drawn.shape[1] == 24 * 10 and drawn.shape[0] > 20 * 10  # enlarged, title, legend
    assert np.array_equal(cv2.imread(str(tmp_path / "out.png")), drawn)
    plain = segwright.show_result(path, one, title=None, legend=False)
    assert plain.shape == (20, 24, 3)  # just the overlay


def _labelled_result(size: int = 96):
    from segwright.structures import PixelData, SegDataSample

    mask = np.zeros((size, size), np.int64)
    mask[size // 4 : 3 * size // 4, size // 8 : size // 2] = 1
    result = SegDataSample()
    result.pred_sem_seg = PixelData(data=torch.from_numpy(mask)[None])
    return mask, result


def test_show_result_uses_the_models_palette_and_class_names():
    mask, result = _labelled_result()
    image = np.full((96, 96, 3), 100, np.uint8)
    model = torch.nn.Identity()
    model.dataset_meta = dict(classes=("sky", "tree"), palette=[[0, 0, 255], [255, 0, 0]])
    drawn = segwright.show_result(image, result, 1.0, title=None, legend=False, model=model)
    assert drawn[mask == 0].tolist() == [[255, 0, 0]] * int((mask == 0).sum())  # BGR of blue
    assert drawn[mask == 1].tolist() == [[0, 0, 255]] * int((mask == 1).sum())  # BGR of red
    given = segwright.show_result(image, result, 1.0, palette=[[0, 255, 0]] * 2, model=model)
    assert (given[: 2 * 96] == (0, 255, 0)).all(axis=-1).any()  # an explicit palette wins


def test_show_result_stretches_a_16_bit_image_that_uses_little_of_its_range(tmp_path):
    import cv2

    # As the nuclei image: 16-bit values 0..235 of 65535. Read as 8 bits (high byte) it is black.
    mask, result = _labelled_result(32)
    image = (np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) % 236).astype(np.uint16)
    path = str(tmp_path / "deep.tif")
    cv2.imwrite(path, image)
    drawn = segwright.show_result(path, result, opacity=0.0, title=None, legend=False)
    assert drawn.shape == (32, 32, 3)
    # opacity 0 shows the image alone: its 0..235 range stretched to 0..255, grey in BGR
    expected = np.round(image.astype(np.float64) / 235.0 * 255.0).astype(np.uint8)
    assert np.array_equal(drawn[..., 0], expected) and np.array_equal(drawn[..., 2], expected)


def test_show_result_with_labels_writes_class_names_on_the_regions():
    from segwright.visualization.labels import region_anchors

    mask, result = _labelled_result(240)
    image = np.full((240, 240, 3), 100, np.uint8)
    model = torch.nn.Identity()
    model.dataset_meta = dict(classes=("sky", "tree"))
    kwargs = dict(title=None, legend=False, model=model)
    plain = segwright.show_result(image, result, **kwargs)
    labelled = segwright.show_result(image, result, with_labels=True, **kwargs)
    assert labelled.shape == plain.shape == (240, 240, 3)
    changed = np.any(labelled != plain, axis=-1)
    for _, (x, y) in region_anchors(mask):  # a tag over each region's inner point
        assert changed[y, x - 10 : x + 11].any()
    assert 0 < changed.mean() < 0.1


def test_public_api_is_lazy():
    import subprocess
    import sys

    code = "import sys, segwright; print('torch' in sys.modules); segwright.init_model; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]


def _toy_model_and_checkpoint(tmp_path, **model_args):
    from segwright.engine.checkpoint import save_checkpoint
    from segwright.testing import ToySegModel

    torch.manual_seed(0)
    path = tmp_path / "toy.pth"
    save_checkpoint({"state_dict": ToySegModel(channels=4, **model_args).state_dict()}, path)
    cfg = toy_config(tmp_path)
    cfg["test_dataloader"] = dict(
        dataset=dict(
            type="ToySegDataset",
            pipeline=[dict(type="LoadImageFromFile"), dict(type="PackSegInputs")],
        )
    )
    return Config(cfg), path


def test_inference_model_batches_images_of_one_size_and_keeps_the_input_order(tmp_path):
    cfg, checkpoint = _toy_model_and_checkpoint(tmp_path)
    model = segwright.init_model(cfg, checkpoint)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, size, dtype=np.uint8) for size in [(20, 24, 3), (16, 30, 3)]]
    path = tmp_path / "c.png"
    cv2.imwrite(str(path), images[0][::-1].copy())
    inputs = [images[0], images[1], str(path)]  # sizes A, B, A; the A pair shares a batch
    batched = segwright.inference_model(model, inputs, batch_size=4)
    alone = [segwright.inference_model(model, item, batch_size=1) for item in inputs]
    assert [r.pred_sem_seg.data.shape for r in batched] == [(1, 20, 24), (1, 16, 30), (1, 20, 24)]
    for got, expected in zip(batched, alone):
        assert torch.equal(got.pred_sem_seg.data, expected.pred_sem_seg.data)
        # Batches of 2 and of 1 may take other kernels: equal up to float32 rounding.
        torch.testing.assert_close(got.seg_logits.data, expected.seg_logits.data)


def test_iter_inference_keeps_at_most_four_batches_waiting(tmp_path):
    from segwright.apis.inference import iter_inference

    cfg, checkpoint = _toy_model_and_checkpoint(tmp_path)
    model = segwright.init_model(cfg, checkpoint)
    consumed = []

    def stream():  # twelve images, all of different sizes: no batch ever fills up
        for index in range(12):
            consumed.append(index)
            yield np.zeros((8 + index, 8, 3), np.uint8)

    results = iter_inference(model, stream(), batch_size=2)
    first_index, first = next(results)
    assert len(consumed) == 8  # 4 * batch_size prepared images, then the oldest one ran
    assert first_index == 0 and first.pred_sem_seg.data.shape == (1, 8, 8)
    rest = dict(results)
    assert sorted(rest) == list(range(1, 12))
    assert all(rest[i].pred_sem_seg.data.shape == (1, 8 + i, 8) for i in rest)


def test_inference_model_rejects_a_batch_size_below_one(tmp_path):
    cfg, checkpoint = _toy_model_and_checkpoint(tmp_path)
    model = segwright.init_model(cfg, checkpoint)
    with pytest.raises(ConfigError, match="batch_size must be a whole number of at least 1"):
        segwright.inference_model(model, [np.zeros((8, 8, 3), np.uint8)], batch_size=0)


def test_init_model_refuses_a_checkpoint_that_does_not_fit(tmp_path, caplog):
    from segwright.utils.errors import CheckpointError, CheckpointMismatchError

    cfg, checkpoint = _toy_model_and_checkpoint(tmp_path, num_classes=3)  # the config has 2
    with pytest.raises(CheckpointMismatchError) as caught:
        segwright.init_model(cfg, checkpoint)
    message = str(caught.value)
    assert isinstance(caught.value, CheckpointError)
    assert "5 of 7 keys of the model were loaded" in message
    assert "decode_head.weight: checkpoint (3, 4, 1, 1), model (2, 4, 1, 1)" in message
    assert "pass allow_partial=True to init_model" in message
    with caplog.at_level("WARNING", logger="segwright"):
        model = segwright.init_model(cfg, checkpoint, allow_partial=True)
    assert "shape differs: kept initial value" in caplog.text
    assert model.decode_head.weight.shape == (2, 4, 1, 1)


def test_init_model_ignores_extra_checkpoint_keys(tmp_path):
    from segwright.engine.checkpoint import save_checkpoint

    cfg, checkpoint = _toy_model_and_checkpoint(tmp_path)
    state = torch.load(checkpoint, weights_only=True)["state_dict"]
    expected = state["decode_head.weight"]
    state = {f"module.{k}": v for k, v in state.items() if "num_batches_tracked" not in k}
    state["auxiliary_head.conv_seg.weight"] = torch.zeros(2, 4, 1, 1)
    save_checkpoint({"state_dict": state}, checkpoint)
    model = segwright.init_model(cfg, checkpoint)
    torch.testing.assert_close(model.decode_head.weight, expected, rtol=0, atol=0)
