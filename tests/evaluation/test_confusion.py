from __future__ import annotations

import torch

from segwright.evaluation.confusion import confusion_matrix


def test_rows_are_truth_columns_are_predictions_and_ignore_is_skipped():
    label = torch.tensor([[0, 0, 1, 1, 2, 255]])
    pred = torch.tensor([[0, 1, 1, 1, 0, 2]])
    matrix = confusion_matrix(pred, label, num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
