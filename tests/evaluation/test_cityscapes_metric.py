"""CityScapesMetric: Cityscapes instance AP on tiny synthetic gtFine data.

Three anchors: perfect predictions (AP 1), a case worked out by hand, and a two-image scene
(groups, void, small and duplicate instances, wrong classes) whose AP MMDetection 3.3's
CityScapesMetric computed (see fixtures/cityscapes_scene.py for the command).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from segwright.config import Config
from segwright.evaluation import Evaluator
from segwright.evaluation.cityscapes_ap import average_precision, evaluate_matches, match_image
from segwright.evaluation.metrics import CityScapesMetric
from segwright.registry import METRICS
from segwright.structures import InstanceData
from segwright.utils.errors import ConfigError, DatasetError

_spec = importlib.util.spec_from_file_location(
    "cityscapes_scene", Path(__file__).parent / "fixtures" / "cityscapes_scene.py"
)
scene = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scene)

# Sums of halves and quarters are exact in binary; only the final division rounds.
EXACT = 1e-12


def _write_gt(root: Path, stem: str, gt: np.ndarray) -> str:
    folder = root / "gtFine" / "val" / "aachen"
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / f"{stem}_gtFine_instanceIds.png"), gt.astype(np.uint16))
    return str(root / "leftImg8bit" / "val" / "aachen" / f"{stem}_leftImg8bit.png")


def _metric(tmp_path: Path, **kwargs) -> CityScapesMetric:
    kwargs.setdefault("seg_prefix", str(tmp_path / "gtFine" / "val"))
    metric = CityScapesMetric(outfile_prefix=str(tmp_path / "out"), **kwargs)
    metric.dataset_meta = dict(classes=scene.CLASSES)
    return metric


def _sample(img_path: str, labels, scores, masks) -> dict:
    pred = InstanceData(
        labels=torch.tensor(labels, dtype=torch.long),
        scores=torch.tensor(scores, dtype=torch.float32),
        masks=torch.as_tensor(np.asarray(masks, dtype=bool).reshape(len(labels), 40, 60)),
    )
    return dict(img_path=img_path, pred_instances=pred)


def _two_cars() -> np.ndarray:
    gt = np.full((40, 60), 7, dtype=np.uint16)  # road
    gt[0:20, 0:20] = 26001  # car 1, 400 pixels
    gt[20:40, 30:50] = 26002  # car 2, 400 pixels
    return gt


def _box(r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    mask = np.zeros((40, 60), dtype=bool)
    mask[r0:r1, c0:c1] = True
    return mask


def test_perfect_predictions_score_one(tmp_path: Path):
    gt = _two_cars()
    gt[25:40, 0:10] = 24001  # a person, 150 pixels
    img = _write_gt(tmp_path, "aachen_000000_000019", gt)
    metric = _metric(tmp_path)
    masks = [gt == 26001, gt == 26002, gt == 24001]
    metric.process({}, [_sample(img, [2, 2, 0], [0.9, 0.3, 0.6], masks)])
    out = metric.evaluate(1)
    assert out == {"cityscapes/mAP": 1.0, "cityscapes/AP@50": 1.0}
    assert metric.class_metrics == {
        "cityscapes/AP/person": 1.0,
        "cityscapes/AP50/person": 1.0,
        "cityscapes/AP/car": 1.0,
        "cityscapes/AP50/car": 1.0,
    }


def test_partial_case_worked_by_hand(tmp_path: Path):
    # Car 1 found with IoU 304/400 = 0.76 (score 0.9), a false car on the road (0.8), car 2
    # missed. At thresholds 0.50..0.75 (IoU > t): points (p, r) = (0.5, 0.5) at score 0.8,
    # (1, 0.5) at 0.9, closing (1, 0); each weighs half its neighbours' recall gap:
    # 0.5 * 0 + 1 * 0.25 + 1 * 0.25 = 0.5. At 0.80..0.95 nothing matches: AP 0.
    # AP = 6 * 0.5 / 10 = 0.3; AP50 = 0.5.
    img = _write_gt(tmp_path, "aachen_000000_000019", _two_cars())
    metric = _metric(tmp_path)
    masks = [_box(0, 16, 0, 19), _box(0, 20, 40, 60)]
    metric.process({}, [_sample(img, [2, 2], [0.9, 0.8], masks)])
    out = metric.evaluate(1)
    assert out["cityscapes/mAP"] == pytest.approx(0.3, abs=EXACT)
    assert out["cityscapes/AP@50"] == pytest.approx(0.5, abs=EXACT)


def test_scene_matches_mmdetection(tmp_path: Path):
    # MMDetection 3.3 CityScapesMetric (cityscapesscripts 2.3.0) on the same scene printed
    # {'mAP': 0.2336111111111111, 'AP@50': 0.4027777777777778}; per class AP / AP50:
    # person 0.150/0.250, rider 0.500/1.000, car 0.518/0.764, truck 0/0, bicycle 0/0, rest nan.
    samples = scene.build_scene(tmp_path)
    evaluator = Evaluator(dict(type="CityScapesMetric", outfile_prefix=str(tmp_path / "out"),
                               seg_prefix=str(tmp_path / "gtFine" / "val")))  # fmt: skip
    evaluator.dataset_meta = dict(classes=scene.CLASSES)
    evaluator.process(samples)
    out = evaluator.evaluate(len(samples))
    assert out["cityscapes/mAP"] == pytest.approx(0.2336111111111111, abs=EXACT)
    assert out["cityscapes/AP@50"] == pytest.approx(0.4027777777777778, abs=EXACT)
    per_class = evaluator.metrics[0].class_metrics
    assert per_class["cityscapes/AP/person"] == pytest.approx(0.15, abs=EXACT)
    assert per_class["cityscapes/AP50/rider"] == pytest.approx(1.0, abs=EXACT)
    assert per_class["cityscapes/AP/car"] == pytest.approx(0.5180555555555555, abs=EXACT)
    assert "cityscapes/AP/bus" not in per_class  # no bus in the ground truth: nan, not logged


def test_writes_mmdetection_result_files(tmp_path: Path):
    img = _write_gt(tmp_path, "aachen_000000_000019", _two_cars())
    metric = _metric(tmp_path, format_only=True)
    metric.process({}, [_sample(img, [2, 7], [0.5, 0.25], [_box(0, 5, 0, 5), _box(1, 2, 1, 2)])])
    assert metric.evaluate(1) == {}
    results = tmp_path / "out" / "results"
    stem = "aachen_000000_000019_leftImg8bit"
    lines = (results / f"{stem}_pred.txt").read_text().splitlines()
    assert lines == [f"{stem}_0_car.png 26 0.5", f"{stem}_1_bicycle.png 33 0.25"]
    png = cv2.imread(str(results / f"{stem}_0_car.png"), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint8 and png.sum() == 25 and png.max() == 1
    _metric(tmp_path, format_only=True)  # a new metric empties the previous results
    assert not list(results.iterdir())


def test_ground_truth_found_under_seg_prefix(tmp_path: Path):
    # Images elsewhere than beside gtFine: <seg_prefix>/<city>/<name> is the second place.
    _write_gt(tmp_path, "aachen_000000_000019", _two_cars())
    img = str(tmp_path / "elsewhere" / "aachen" / "aachen_000000_000019_leftImg8bit.png")
    metric = _metric(tmp_path)
    masks = [_two_cars() == 26001, _two_cars() == 26002]
    metric.process({}, [_sample(img, [2, 2], [0.9, 0.1], masks)])
    assert metric.evaluate(1)["cityscapes/mAP"] == 1.0
    lines = (tmp_path / "out/results/aachen_000000_000019_leftImg8bit_pred.txt").read_text()
    assert lines.splitlines()[0].endswith(" 26 0.9")  # float32 scores print short


def test_shipped_config_builds(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # its outfile_prefix is relative: ./work_dirs/...
    cfg = Config.fromfile(
        Path(__file__).parents[2] / "segwright/configs/mmdet/_base_/datasets/cityscapes_instance.py"
    )
    metric = METRICS.build(dict(cfg.val_evaluator[1]))
    assert isinstance(metric, CityScapesMetric)
    assert (tmp_path / "work_dirs/cityscapes_metric/instance/results").is_dir()


def test_errors_speak_to_the_user(tmp_path: Path):
    with pytest.raises(ConfigError, match="seg_prefix"):
        CityScapesMetric(outfile_prefix=str(tmp_path))
    with pytest.raises(ConfigError, match="backend_args"):
        CityScapesMetric(outfile_prefix=str(tmp_path), seg_prefix="x", file_client_args={})
    with pytest.raises(ConfigError, match="outfile_prefix"):
        CityScapesMetric(format_only=True)
    missing = str(tmp_path / "leftImg8bit/val/x/x_000000_000000_leftImg8bit.png")
    metric = _metric(tmp_path)
    with pytest.raises(DatasetError, match="x_000000_000000_gtFine_instanceIds.png"):
        metric.process({}, [_sample(missing, [], [], np.zeros((0, 40, 60)))])
    metric.dataset_meta = dict(classes=("cat",))
    with pytest.raises(ConfigError, match="not Cityscapes instance classes"):
        metric.process({}, [_sample(missing, [], [], np.zeros((0, 40, 60)))])


def test_ap_edge_cases():
    # No detection left after ignoring: only the closing point, AP 0 (cityscapesscripts
    # raises IndexError here).
    assert average_precision([], [], missed=2) == 0.0
    gt = _two_cars()
    no_preds = match_image(gt, [], [], [])
    aps = evaluate_matches([no_preds])
    assert (aps[2] == 0).all()  # car: ground truth, no prediction
    assert all(math.isnan(v) for v in aps[0])  # person: no ground truth


def test_an_image_without_cityscapes_naming_is_never_its_own_ground_truth(tmp_path: Path):
    image = tmp_path / "images" / "0.png"
    image.parent.mkdir()
    cv2.imwrite(str(image), np.zeros((40, 60), np.uint8))  # readable: must not be taken as GT
    with pytest.raises(DatasetError, match="not named as Cityscapes names images"):
        _metric(tmp_path).process({}, [_sample(str(image), [], [], np.zeros((0, 40, 60)))])
