"""Per-image counts and count -> metric math (SPEC §10.1-10.2), on hand-made fixtures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from segwright.evaluation.functional import (
    UnknownMetricError,
    intersect_and_union,
    legacy_eval_results,
    per_class,
    summarize,
    total_area_to_metrics,
)
from segwright.utils.errors import ConfigError


def _lists(areas):
    return [a.tolist() for a in areas]


def test_counts_skip_ignored_pixels_and_count_wrong_predictions():
    pred = torch.tensor([[0, 1, 2], [1, 1, 0]])
    label = torch.tensor([[0, 1, 1], [1, 255, 0]])
    areas = intersect_and_union(pred, label, num_classes=3, ignore_index=255)
    # valid pixels: pred [0,1,2,1,0] vs gt [0,1,1,1,0]
    assert _lists(areas) == [[2, 2, 0], [2, 3, 1], [2, 2, 1], [2, 3, 0]]
    assert all(a.dtype == torch.int64 for a in areas)


def test_counts_drop_out_of_range_ids_like_histc():
    pred = torch.tensor([0, 5, 1, -1])
    label = torch.tensor([0, 0, 7, 1])
    intersect, union, area_pred, area_label = intersect_and_union(pred, label, 2, 255)
    assert area_pred.tolist() == [1, 1]  # 5 and -1 are outside [0, 1]
    assert area_label.tolist() == [2, 1]  # 7 is outside [0, 1] but not ignored
    assert intersect.tolist() == [1, 0]
    assert union.tolist() == [2, 2]


def test_numpy_inputs_reduce_zero_label_and_inputs_left_untouched():
    label = np.array([[0, 1, 2], [3, 255, 1]], dtype=np.uint8)
    before = label.copy()
    pred = np.array([[0, 0, 1], [1, 2, 0]])
    areas = intersect_and_union(pred, label, 3, 255, reduce_zero_label=True)
    # gt -> [[255,0,1],[2,255,0]]; valid pred [0,1,1,0] vs gt [0,1,2,0]
    assert _lists(areas) == [[2, 1, 0], [2, 2, 1], [2, 2, 0], [2, 1, 1]]
    np.testing.assert_array_equal(label, before)


def test_label_map_uses_a_copy_so_mappings_do_not_chain():
    label = torch.tensor([1, 2, 0])
    pred = torch.tensor([2, 1, 0])
    areas = intersect_and_union(pred, label, 3, 255, label_map={1: 2, 2: 1})
    assert areas[0].tolist() == [1, 1, 1]  # swapped ids all match the prediction
    assert label.tolist() == [1, 2, 0]


def test_label_map_then_reduce_zero_label_order():
    # 0.x applies label_map first: 5 -> 0, then reduce_zero_label makes it ignored.
    label = torch.tensor([5, 1, 2])
    pred = torch.tensor([0, 0, 1])
    areas = intersect_and_union(pred, label, 2, 255, label_map={5: 0}, reduce_zero_label=True)
    assert areas[3].tolist() == [1, 1]
    assert areas[0].tolist() == [1, 1]


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="LoadAnnotations comes after Resize"):
        intersect_and_union(torch.zeros(2, 3), torch.zeros(3, 2), 2, 255)


# Totals of the two-image fixture used across these tests:
# I=[3,2,1], U=[4,3,3], P=[3,2,3], L=[4,3,1].
TOTALS = (
    torch.tensor([3, 2, 1]),
    torch.tensor([4, 3, 3]),
    torch.tensor([3, 2, 3]),
    torch.tensor([4, 3, 1]),
)


def test_all_metrics_summary_and_key_order():
    ret = total_area_to_metrics(*TOTALS, metrics=["mIoU", "mDice", "mFscore"])
    assert list(ret) == ["aAcc", "IoU", "Acc", "Dice", "Fscore", "Precision", "Recall"]
    assert all(v.dtype == np.float32 for v in ret.values())
    summary = summarize(ret)
    assert summary == {
        "aAcc": 75.0,  # 6/8
        "mIoU": 58.33,  # (3/4 + 2/3 + 1/3) / 3
        "mAcc": 80.56,  # (3/4 + 2/3 + 1) / 3
        "mDice": 71.9,  # (6/7 + 4/5 + 2/4) / 3
        "mFscore": 71.9,  # F1 == Dice
        "mPrecision": 77.78,  # (1 + 1 + 1/3) / 3
        "mRecall": 80.56,
    }
    assert per_class(ret)["IoU"] == [75.0, 66.67, 33.33]
    assert per_class(ret)["Acc"] == [75.0, 66.67, 100.0]
    assert "aAcc" not in per_class(ret)


def test_fscore_beta_two():
    ret = total_area_to_metrics(*TOTALS, metrics="mFscore", beta=2)
    # F2 = 5PR / (4P + R): 3.75/4.75, (10/3)/(14/3), (5/3)/(7/3)
    assert per_class(ret)["Fscore"] == [78.95, 71.43, 71.43]
    assert summarize(ret)["mFscore"] == 73.93


def test_acc_appears_once_and_follows_request_order():
    ret = total_area_to_metrics(*TOTALS, metrics=["mDice", "mIoU"])
    assert list(ret) == ["aAcc", "Dice", "Acc", "IoU"]
    assert list(summarize(ret)) == ["aAcc", "mDice", "mAcc", "mIoU"]


def test_unknown_metric_is_keyerror_and_configerror():
    with pytest.raises(KeyError, match="mAP"):
        total_area_to_metrics(*TOTALS, metrics=["mIoU", "mAP"])
    with pytest.raises(ConfigError):
        total_area_to_metrics(*TOTALS, metrics="mAP")
    assert issubclass(UnknownMetricError, KeyError)


# A class absent from GT and prediction (3), one predicted but absent from GT (2):
# I=[2,1,0,0], U=[3,3,1,0], P=[2,2,1,0], L=[3,2,0,0].
ABSENT = (
    torch.tensor([2, 1, 0, 0]),
    torch.tensor([3, 3, 1, 0]),
    torch.tensor([2, 2, 1, 0]),
    torch.tensor([3, 2, 0, 0]),
)


def test_nan_classes_are_left_out_of_means():
    ret = total_area_to_metrics(*ABSENT, metrics=["mIoU"])
    classes = per_class(ret)
    assert classes["IoU"][:3] == [66.67, 33.33, 0.0]  # predicted-but-absent class: IoU 0
    assert math.isnan(classes["IoU"][3])
    assert classes["Acc"][:2] == [66.67, 50.0]
    assert math.isnan(classes["Acc"][2]) and math.isnan(classes["Acc"][3])
    assert summarize(ret) == {"aAcc": 60.0, "mIoU": 33.33, "mAcc": 58.33}


def test_nan_to_num_counts_the_replaced_classes():
    ret = total_area_to_metrics(*ABSENT, metrics=["mIoU"], nan_to_num=0)
    assert summarize(ret) == {"aAcc": 60.0, "mIoU": 25.0, "mAcc": 29.17}
    assert per_class(ret)["Acc"] == [66.67, 50.0, 0.0, 0.0]


def test_all_nan_mean_is_nan_without_warning(recwarn):
    zeros = [torch.zeros(2, dtype=torch.long)] * 4
    summary = summarize(total_area_to_metrics(*zeros))
    assert all(math.isnan(v) for v in summary.values())
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_float32_rounding_matches_mmseg_not_float64():
    # IoU = 118/1600 = 0.07375 exactly; MMSeg's float32 arithmetic rounds it to 7.37,
    # float64 would give 7.38.
    ret = total_area_to_metrics(
        torch.tensor([118]), torch.tensor([1600]), torch.tensor([1600]), torch.tensor([118])
    )
    assert summarize(ret)["mIoU"] == 7.37
    ret64 = total_area_to_metrics(
        torch.tensor([118]),
        torch.tensor([1600]),
        torch.tensor([1600]),
        torch.tensor([118]),
        dtype=torch.float64,
    )
    assert ret64["IoU"].dtype == np.float64
    assert summarize(ret64)["mIoU"] == 7.38


def test_float_inputs_keep_their_dtype():
    ret = total_area_to_metrics(*(t.double() for t in TOTALS))
    assert ret["IoU"].dtype == np.float64


def test_legacy_results_are_fractions_with_per_class_keys():
    ret = total_area_to_metrics(*ABSENT, metrics=["mIoU"])
    results = legacy_eval_results(ret, ["a", "b", "c", "d"])
    assert list(results)[:3] == ["aAcc", "mIoU", "mAcc"]
    assert results["aAcc"] == 0.6
    assert results["mIoU"] == 0.3333
    assert results["mAcc"] == 0.5833
    assert results["IoU.a"] == 0.6667
    assert results["IoU.c"] == 0.0
    assert math.isnan(results["IoU.d"])
    assert results["Acc.b"] == 0.5
    assert len(results) == 3 + 2 * 4


def _mmseg_reference(preds, labels, num_classes, ignore_index, metrics, beta=1):
    """SPEC §10 transcribed literally: float32 histc per image, float32 sums and ratios."""
    sums = [torch.zeros(num_classes) for _ in range(4)]
    for pred, label in zip(preds, labels):
        mask = label != ignore_index
        p, lab = pred[mask], label[mask]
        inter = p[p == lab]

        def hist(x):
            return torch.histc(x.float(), bins=num_classes, min=0, max=num_classes - 1)

        ai, ap, al = hist(inter), hist(p), hist(lab)
        for k, a in enumerate((ai, ap + al - ai, ap, al)):
            sums[k] = sums[k] + a
    i, u, p, lab = sums
    ret = {"aAcc": i.sum() / lab.sum()}
    for m in metrics:
        if m == "mIoU":
            ret["IoU"], ret["Acc"] = i / u, i / lab
        elif m == "mDice":
            ret["Dice"], ret["Acc"] = 2 * i / (p + lab), i / lab
        else:
            prec, rec = i / p, i / lab
            ret["Fscore"] = torch.tensor(
                [(1 + beta**2) * (a * b) / ((beta**2 * a) + b) for a, b in zip(prec, rec)]
            )
            ret["Precision"], ret["Recall"] = prec, rec
    out = {}
    for k, v in ret.items():
        out[k if k == "aAcc" else "m" + k] = np.round(np.nanmean(v.numpy()) * 100, 2)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_maps_match_the_literal_mmseg_math(seed):
    gen = torch.Generator().manual_seed(seed)
    num_classes = 6
    preds = [torch.randint(0, num_classes, (17, 23), generator=gen) for _ in range(3)]
    labels = [torch.randint(0, num_classes + 1, (17, 23), generator=gen) for _ in range(3)]
    for label in labels:
        label[label == num_classes] = 255
    labels[0][labels[0] == 4] = 255  # class 4 rarer; class 5 never predicted in image 1
    preds[1][preds[1] == 5] = 0
    metrics = ["mIoU", "mDice", "mFscore"]
    totals = [
        sum(t)
        for t in zip(*(intersect_and_union(p, g, num_classes, 255) for p, g in zip(preds, labels)))
    ]
    for beta in (1, 2, 0.5):
        ours = summarize(total_area_to_metrics(*totals, metrics=metrics, beta=beta))
        ref = _mmseg_reference(preds, labels, num_classes, 255, metrics, beta)
        assert list(ours) == list(ref)
        for key in ours:
            assert ours[key] == round(float(ref[key]), 2), key
