"""TestTimeAug: the product of the stages, gathered into lists (MMSeg 1.x tta_pipeline)."""

from __future__ import annotations

import numpy as np
import pytest
from ds_files import tiny_label, write_png

from segwright.datasets.transforms import Compose, TestTimeAug
from segwright.utils.errors import ConfigError, DatasetError


@pytest.fixture
def files(tmp_path):
    img = write_png(tmp_path / "a.png", np.zeros((8, 12, 3), np.uint8))
    seg = write_png(tmp_path / "a_seg.png", tiny_label((0, 1), size=(8, 12)))
    return dict(img_path=img, seg_map_path=seg, reduce_zero_label=False, seg_fields=[])


def test_tta_pipeline_yields_every_scale_and_flip(files):
    ratios = [0.5, 1.0, 1.5]
    pipeline = Compose(
        [
            dict(type="LoadImageFromFile"),
            dict(
                type="TestTimeAug",
                transforms=[
                    [dict(type="Resize", scale_factor=r, keep_ratio=True) for r in ratios],
                    [
                        dict(type="RandomFlip", prob=0.0, direction="horizontal"),
                        dict(type="RandomFlip", prob=1.0, direction="horizontal"),
                    ],
                    [dict(type="LoadAnnotations")],
                    [dict(type="PackSegInputs")],
                ],
            ),
        ]
    )
    out = pipeline(dict(files))
    assert set(out) == {"inputs", "data_samples"} and len(out["inputs"]) == 6
    shapes = [tuple(x.shape[1:]) for x in out["inputs"]]
    assert shapes == [(4, 6), (4, 6), (8, 12), (8, 12), (12, 18), (12, 18)]
    flips = [s.flip for s in out["data_samples"]]
    assert flips == [False, True] * 3
    for sample in out["data_samples"]:  # annotations loaded after Resize keep the original size
        assert sample.gt_sem_seg.data.shape == (1, 8, 12) and sample.ori_shape == (8, 12)
    # LoadAnnotations runs after the flip, so the ground truth stays unflipped (MMSeg 1.x)
    assert out["data_samples"][1].gt_sem_seg.data[0, 0, :2].tolist() == [0, 1]


def test_tta_branch_returning_none_and_bad_config(files):
    with pytest.raises(DatasetError, match="must not skip"):
        TestTimeAug(transforms=[[lambda r: None]])(dict(files))
    with pytest.raises(ConfigError, match="list of non-empty lists"):
        TestTimeAug(transforms=[dict(type="Resize", scale=(2, 2))])
