"""Instances drawn over images: labels on a tag, enlarged panels, zoomed instances."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segwright.structures import BitmapMasks, InstanceData
from segwright.visualization.instances import draw_instances, instance_panels, zoom_instances


def _instances(with_scores: bool = True) -> InstanceData:
    masks = np.zeros((2, 40, 60), dtype=np.uint8)
    masks[0, 10:30, 5:25] = 1
    masks[1, 0:20, 40:60] = 1
    found = InstanceData(
        bboxes=torch.tensor([[5.0, 10, 25, 30], [40, 0, 60, 20]]),
        labels=torch.tensor([0, 1]),
        masks=BitmapMasks(masks, 40, 60),
    )
    if with_scores:
        found.scores = torch.tensor([0.9, 0.2])
    return found


def test_labels_sit_on_a_tag_of_the_class_colour_inside_the_picture():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    drawn = draw_instances(image, _instances(with_scores=False), ("cat", "dog"), [(0, 255, 0)] * 2)
    green = (drawn == (0, 255, 0)).all(axis=-1)
    assert green[:10, 5:25].sum() > 20  # the first tag, above its box
    assert green[1:10, 40:60].sum() > 20  # no room above the second box: the tag goes inside it
    assert not (drawn[35:, :] != 0).any()  # nothing below the boxes


def test_instance_panels_enlarge_small_images_and_title_each_panel():
    image = np.full((40, 60, 3), 50, dtype=np.uint8)
    panels = [("image", None), ("prediction", _instances())]
    picture = instance_panels(image, panels, ("cat", "dog"), min_height=120)
    band = picture.shape[0] - 120
    assert picture.shape[1] == 2 * 180 + 4 and band > 0  # enlarged 3x, a 4-pixel gap
    assert (picture[:band] != 255).any()  # titles
    assert (picture[band:, :180] == 50).all()  # the image alone
    shown = picture[band:, 184:]
    assert (shown[45:75, 30:60] != 50).any(axis=-1).all()  # mask 0 (score 0.9), enlarged
    assert (shown[90:, 130:] == 50).all()  # mask 1 is below score_thr 0.3 and left out
    same = instance_panels(image, panels, ("cat", "dog"), min_height=0)
    assert same.shape[1] == 2 * 60 + 4


def test_zoom_instances_scales_boxes_and_masks():
    zoomed = zoom_instances(_instances(), 2)
    torch.testing.assert_close(zoomed.bboxes[0], torch.tensor([10.0, 20, 50, 60]))
    assert zoomed.masks.shape == (2, 80, 120) and zoomed.masks[0, 20:60, 10:50].all()
    assert zoomed.scores.tolist() == pytest.approx([0.9, 0.2])
