"""segwright infer on files and folders of a tiny trained model."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from segwright.cli.main import main
from segwright.engine.checkpoint import save_checkpoint
from segwright.testing import TOY_CONFIG_PATH, ToySegModel


def test_infer_writes_overlays_and_masks_for_a_folder(tmp_path, capsys):
    work = tmp_path / "w"
    opts = ["train_cfg.max_iters=2", "train_cfg.val_interval=2", "param_scheduler.0.end=2"]
    assert (
        main(
            [
                "train",
                str(TOY_CONFIG_PATH),
                "--work-dir",
                str(work),
                "--device",
                "cpu",
                "--cfg-options",
                *opts,
            ]
        )
        == 0
    )
    images = tmp_path / "imgs"
    (images / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.jpg"):
        image = np.full((24, 20, 3), 30, np.uint8)
        image[4:14, 5:15] = 220
        cv2.imwrite(str(images / name), image)
    out = tmp_path / "out"
    assert (
        main(
            [
                "infer",
                str(TOY_CONFIG_PATH),
                str(work / "iter_2.pth"),
                str(images),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    mask = cv2.imread(str(out / "masks" / "a.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (24, 20) and set(np.unique(mask)) <= {0, 1}
    overlay = cv2.imread(str(out / "overlays" / "b.png"))
    # enlarged 8x (to 192 rows) for the "prediction" title above and the legend below
    assert overlay.shape[1] == 20 * 8 and overlay.shape[0] > 24 * 8 + 40 and overlay.std() > 0


def test_infer_missing_input_is_a_user_error(tmp_path, capsys):
    assert (
        main(
            ["infer", str(TOY_CONFIG_PATH), "x.pth", str(tmp_path / "nope"), "--out", str(tmp_path)]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err


def test_infer_mixed_sizes_in_one_folder_with_any_batch_size(tmp_path, capsys):
    torch.manual_seed(0)
    checkpoint = tmp_path / "toy.pth"
    save_checkpoint({"state_dict": ToySegModel(channels=4).state_dict()}, checkpoint)
    images = tmp_path / "imgs"
    images.mkdir()
    sizes = {"a.png": (24, 20), "b.png": (16, 30), "c.png": (24, 20)}  # two sizes
    rng = np.random.default_rng(0)
    for name, (height, width) in sizes.items():
        cv2.imwrite(str(images / name), rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    masks = {}
    for batch_size in ("4", "1"):
        out = tmp_path / f"out{batch_size}"
        argv = ["infer", str(TOY_CONFIG_PATH), str(checkpoint), str(images), "--out", str(out)]
        assert main([*argv, "--batch-size", batch_size]) == 0
        assert "Wrote 3 overlays and masks" in capsys.readouterr().out
        for name, size in sizes.items():
            mask = cv2.imread(str(out / "masks" / name), cv2.IMREAD_UNCHANGED)
            assert mask.shape == size
            overlay = cv2.imread(str(out / "overlays" / name))
            assert overlay.shape[1] == size[1] * -(-192 // size[0])  # enlarged to 192 rows
            masks[batch_size, name] = mask
    # Labels, not logits: a batch of 2 and one of 1 may round differently in the last bit.
    for name in sizes:
        assert np.array_equal(masks["4", name], masks["1", name]), name


def test_infer_batch_size_below_one_is_a_user_error(tmp_path, capsys):
    argv = ["infer", str(TOY_CONFIG_PATH), "x.pth", str(tmp_path), "--out", str(tmp_path)]
    assert main([*argv, "--batch-size", "0"]) == 2
    assert "--batch-size must be at least 1, got 0" in capsys.readouterr().err


def test_infer_overlays_equal_show_result_with_the_models_palette(tmp_path, capsys):
    from segwright.apis import inference_model, init_model, show_result

    torch.manual_seed(0)
    checkpoint = tmp_path / "toy.pth"
    save_checkpoint({"state_dict": ToySegModel(channels=4).state_dict()}, checkpoint)
    image = np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    out = tmp_path / "out"
    argv = ["infer", str(TOY_CONFIG_PATH), str(checkpoint), str(tmp_path / "a.png")]
    assert main([*argv, "--out", str(out), "--with-labels"]) == 0
    written = cv2.imread(str(out / "overlays" / "a.png"))

    model = init_model(TOY_CONFIG_PATH, checkpoint)
    assert model.dataset_meta["palette"] == [[0, 0, 0], [255, 200, 0]]  # the toy dataset's
    result = inference_model(model, tmp_path / "a.png")
    drawn = show_result(tmp_path / "a.png", result, 0.5, with_labels=True, model=model)
    assert np.array_equal(drawn, written)
    # Without the model (or a palette) the automatic colours are used instead.
    assert not np.array_equal(show_result(tmp_path / "a.png", result, 0.5, with_labels=True), drawn)
