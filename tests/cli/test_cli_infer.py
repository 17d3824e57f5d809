"""segwright infer on files and folders of a tiny trained model."""

from __future__ import annotations

import cv2
import numpy as np

from segwright.cli.main import main
from segwright.testing import TOY_CONFIG_PATH


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
    assert overlay.shape == (24, 20, 3) and overlay.std() > 0


def test_infer_missing_input_is_a_user_error(tmp_path, capsys):
    assert (
        main(
            ["infer", str(TOY_CONFIG_PATH), "x.pth", str(tmp_path / "nope"), "--out", str(tmp_path)]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
