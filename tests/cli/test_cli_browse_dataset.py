"""segwright browse-dataset: packed samples (after the pipeline) drawn as image | overlay."""

from __future__ import annotations

import cv2
import numpy as np

from segwright.cli.main import COMMANDS, main
from segwright.testing import TOY_CONFIG_PATH, ToySegDataset


def pngs(folder):
    return sorted(folder.glob("*.png"))


def test_browse_dataset_is_a_registered_command():
    assert COMMANDS["browse-dataset"] == "browse_dataset"


def test_toy_train_split_image_and_overlay(tmp_path, capsys):
    out = tmp_path / "browse"
    assert main(["browse-dataset", str(TOY_CONFIG_PATH), "-n", "3", "-o", str(out)]) == 0
    files = pngs(out)
    assert [f.name for f in files] == ["00000_toy_0.png", "00001_toy_1.png", "00002_toy_2.png"]
    assert "Wrote 3 of 16 train samples" in capsys.readouterr().out
    drawn = cv2.imread(str(files[0]))
    assert drawn.shape == (32, 32 + 4 + 32, 3)  # image | 4-pixel white gap | overlay
    image, mask = ToySegDataset(num_samples=16, size=(32, 32)).sample_arrays(0)
    assert np.array_equal(drawn[:, :32], image)
    assert (drawn[:, 32:36] == 255).all()
    # The toy palette (RGB) is [0, 0, 0] and [255, 200, 0]: BGR (0, 200, 255) on the square,
    # blended half and half with the image.
    painted = np.zeros_like(image)
    painted[mask == 1] = (0, 200, 255)
    assert np.array_equal(drawn[:, 36:], cv2.addWeighted(image, 0.5, painted, 0.5, 0.0))


def test_folder_dataset_with_augmenting_pipeline(tmp_path, capsys):
    root = tmp_path / "data"
    (root / "img").mkdir(parents=True)
    (root / "ann").mkdir()
    rng = np.random.default_rng(0)
    for index in range(3):
        image = rng.integers(0, 255, size=(40, 30, 3), dtype=np.uint8)
        label = np.zeros((40, 30), np.uint8)
        label[10:30, 5:20] = 2
        label[0] = 255
        cv2.imwrite(str(root / "img" / f"s{index}.png"), image)
        cv2.imwrite(str(root / "ann" / f"s{index}.png"), label)
    config = tmp_path / "cfg.py"
    config.write_text(
        "pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),\n"
        "    dict(type='RandomCrop', crop_size=(16, 12)), dict(type='RandomFlip', prob=0.5),\n"
        "    dict(type='PackSegInputs')]\n"
        "val_dataloader = dict(batch_size=1, dataset=dict(type='BaseSegDataset',\n"
        f"    data_root={str(root)!r}, data_prefix=dict(img_path='img', seg_map_path='ann'),\n"
        "    img_suffix='.png', metainfo=dict(classes=('a', 'b', 'c'),\n"
        "    palette=[[0, 0, 0], [0, 255, 0], [255, 0, 0]]), pipeline=pipeline))\n"
    )
    out = tmp_path / "out"
    argv = ["browse-dataset", str(config), "--split", "val", "-n", "8", "-o", str(out)]
    assert main(argv) == 0
    assert "Wrote 3 of 3 val samples" in capsys.readouterr().out
    files = pngs(out)
    assert [f.name for f in files] == ["00000_s0.png", "00001_s1.png", "00002_s2.png"]
    for file in files:
        drawn = cv2.imread(str(file))
        assert drawn.shape == (16, 12 + 4 + 12, 3)  # the crop, not the 40 x 30 file
        assert drawn.std() > 10
        image, overlay = drawn[:, :12].astype(int), drawn[:, 16:].astype(int)
        # overlay = (image + colour) / 2, so 2 * overlay - image gives back each pixel's colour:
        # one of the palette's (BGR) or white for ignored pixels, up to rounding.
        colours = np.array([(0, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)])
        recovered = (2 * overlay - image).reshape(-1, 1, 3)
        assert np.abs(recovered - colours[None]).max(axis=2).min(axis=1).max() <= 1
    # The same seed gives the same pictures (augmentations are seeded).
    again = tmp_path / "again"
    assert main([*argv[:-1], str(again)]) == 0
    for first, second in zip(files, pngs(again)):
        assert np.array_equal(cv2.imread(str(first)), cv2.imread(str(second)))


def test_missing_split_is_a_user_error(tmp_path, capsys):
    config = tmp_path / "cfg.py"
    config.write_text("model = dict(type='ToySegModel')\n")
    assert main(["browse-dataset", str(config), "-o", str(tmp_path / "o")]) == 2
    assert "no train_dataloader.dataset" in capsys.readouterr().err
