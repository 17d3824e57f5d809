"""segwright test --show-dir / --out / --tta: pictures, raw label PNGs, confusion matrix, TTA."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
import torch

from segwright.cli.main import main
from segwright.evaluation.confusion import confusion_matrix
from segwright.registry import MODELS
from segwright.testing import TOY_CONFIG_PATH
from segwright.testing.toy_dataset import ToySegDataset

pytestmark = [
    pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore"),
    pytest.mark.filterwarnings("ignore:For binary segmentation"),
]


def toy_checkpoint(path):
    torch.manual_seed(0)
    model = MODELS.build(dict(type="ToySegModel", channels=4, num_classes=2))
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


def test_show_dir_and_out_write_every_image_and_the_confusion_matrix(tmp_path, capsys):
    ckpt = toy_checkpoint(tmp_path / "toy.pth")
    show, out = tmp_path / "show", tmp_path / "out"
    args = ["test", str(TOY_CONFIG_PATH), ckpt, "--work-dir", str(tmp_path / "w")]
    args += ["--device", "cpu", "--show-dir", str(show), "--out", str(out)]
    assert main(args) == 0
    assert "mIoU" in capsys.readouterr().out

    dataset = ToySegDataset(num_samples=8, size=(32, 32), seed=1)  # the toy test set
    stems = [f"toy_{i}" for i in range(8)]
    assert sorted(p.stem for p in show.glob("*.png")) == stems
    panel = cv2.imread(str(show / "toy_0.png"), cv2.IMREAD_UNCHANGED)
    # image | truth | prediction with 4-pixel gaps, enlarged 6x (to 192 rows) so that the
    # column titles above and the legend below stay legible
    assert panel.shape[1] == 3 * 192 + 2 * 4 and panel.shape[0] > 192 + 40

    raw = {p.stem: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in out.glob("toy_*.png")}
    assert sorted(raw) == stems
    total = torch.zeros(2, 2, dtype=torch.long)
    labelled = 0
    for index, stem in enumerate(stems):
        pred = raw[stem]
        assert pred.shape == (32, 32) and pred.dtype == np.uint8 and set(np.unique(pred)) <= {0, 1}
        label = torch.from_numpy(dataset.sample_arrays(index)[1].astype(np.int64))
        labelled += int((label != 255).sum())
        total += confusion_matrix(torch.from_numpy(pred.astype(np.int64)), label, 2)
    matrix = np.load(out / "confusion.npy")
    assert matrix.shape == (2, 2) and int(matrix.sum()) == labelled == 8 * 32 * 32
    assert np.array_equal(matrix, total.numpy())  # the same predictions the PNGs hold
    assert (out / "confusion.png").stat().st_size > 0


def test_tta_without_a_tta_pipeline_says_what_to_add(tmp_path, capsys):
    ckpt = toy_checkpoint(tmp_path / "toy.pth")
    args = ["test", str(TOY_CONFIG_PATH), ckpt, "--work-dir", str(tmp_path), "--tta"]
    assert main(args + ["--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "--tta needs tta_pipeline and tta_model" in err and "SegTTAModel" in err


FOLDER_CONFIG = """
norm = dict(type="BN", requires_grad=True)
model = dict(
    type="EncoderDecoder",
    data_preprocessor=dict(type="SegDataPreProcessor", mean=[0, 0, 0], std=[255, 255, 255]),
    backbone=dict(type="UNet", in_channels=3, base_channels=4, num_stages=2, strides=(1, 1),
                  enc_num_convs=(1, 1), dec_num_convs=(1,), downsamples=(True,),
                  enc_dilations=(1, 1), dec_dilations=(1,), norm_cfg=norm),
    decode_head=dict(type="FCNHead", in_channels=4, channels=4, num_convs=1, in_index=-1,
                     num_classes=2, norm_cfg=norm),
)
test_pipeline = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations"),
                 dict(type="PackSegInputs")]
test_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="FolderSegDataset", data_root=DATA_ROOT, classes=("bg", "fg"),
                 pipeline=test_pipeline),
)
test_evaluator = dict(type="IoUMetric", iou_metrics=["mIoU"])
test_cfg = dict(type="TestLoop")
tta_model = dict(type="SegTTAModel")
tta_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="TestTimeAug", transforms=[
        [dict(type="Resize", scale_factor=r, keep_ratio=True) for r in (0.5, 1.0)],
        [dict(type="RandomFlip", prob=0.0, direction="horizontal"),
         dict(type="RandomFlip", prob=1.0, direction="horizontal")],
        [dict(type="LoadAnnotations")],
        [dict(type="PackSegInputs")],
    ]),
]
"""


def test_tta_runs_through_the_test_loop_on_a_folder_dataset(tmp_path, capsys):
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        cv2.imwrite(
            str(root / "images" / f"{name}.png"), rng.integers(0, 255, (16, 24, 3), np.uint8)
        )
        cv2.imwrite(str(root / "masks" / f"{name}.png"), rng.integers(0, 2, (16, 24), np.uint8))
    cfg_path = tmp_path / "folder.py"
    cfg_path.write_text(f"DATA_ROOT = {str(root)!r}\n" + FOLDER_CONFIG)
    torch.manual_seed(0)
    from segwright.config import Config

    model = MODELS.build(Config.fromfile(str(cfg_path))["model"])
    ckpt = tmp_path / "m.pth"
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    out, show = tmp_path / "out", tmp_path / "show"
    args = ["test", str(cfg_path), str(ckpt), "--work-dir", str(tmp_path / "w"), "--device"]
    args += ["cpu", "--tta", "--out", str(out), "--show-dir", str(show)]
    assert main(args) == 0
    assert "mIoU" in capsys.readouterr().out
    for name in ("a", "b", "c"):
        assert cv2.imread(str(out / f"{name}.png"), cv2.IMREAD_UNCHANGED).shape == (16, 24)
        assert cv2.imread(str(show / f"{name}.png")).shape[1] == 3 * 24 * 12 + 8  # 12x: 192 rows
    assert int(np.load(out / "confusion.npy").sum()) == 3 * 16 * 24
    log = next((tmp_path / "w").glob("*/*.log")).read_text()
    assert re.search(r"Loaded .*m\.pth: all \d+ keys", log)  # loaded into the wrapped segmentor
