"""FCNMaskHead: names, init, mask targets, loss, pasting masks back into the image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from roi_head_fixtures import CHANNELS, IMG, MASK_HEAD, NUM_CLASSES, TEST_CFG

from segwright.models.roi_heads import FCNMaskHead
from segwright.models.roi_heads.mask_heads import paste_masks
from segwright.models.task_modules import SamplingResult
from segwright.models.task_modules.assign_result import AssignResult
from segwright.registry import MODELS
from segwright.structures import BitmapMasks, InstanceData
from segwright.utils.errors import ConfigError


def build(**overrides: object) -> FCNMaskHead:
    head = MODELS.build({**MASK_HEAD, **overrides})
    head.init_weights()
    return head


def gt_instances() -> InstanceData:
    masks = np.zeros((2, IMG, IMG), dtype=np.uint8)
    masks[0, 8:24, 8:24] = 1
    masks[1, :, 32:] = 1
    return InstanceData(
        bboxes=torch.tensor([[8.0, 8, 24, 24], [32, 0, 64, 64]]),
        labels=torch.tensor([1, 2]),
        masks=BitmapMasks(masks, IMG, IMG),
    )


def sampling_result(num_pos: int = 2) -> SamplingResult:
    priors = torch.tensor([[8.0, 8, 24, 24], [0, 0, 96, 64], [0, 0, 5, 5]])
    result = AssignResult(
        num_gts=2,
        gt_inds=torch.tensor([1, 2, 0]),
        max_overlaps=torch.zeros(3),
        labels=torch.tensor([1, 2, -1]),
    )
    return SamplingResult(
        pos_inds=torch.arange(num_pos),
        neg_inds=torch.tensor([2]),
        priors=priors,
        gt_bboxes=gt_instances().bboxes,
        assign_result=result,
        gt_flags=torch.zeros(3, dtype=torch.uint8),
    )


def test_names_shapes_and_init() -> None:
    head = build()
    keys = sorted(head.state_dict())
    assert keys == sorted(
        [f"convs.{i}.conv.{p}" for i in range(4) for p in ("weight", "bias")]
        + ["upsample.weight", "upsample.bias", "conv_logits.weight", "conv_logits.bias"]
    )
    assert isinstance(head.upsample, torch.nn.ConvTranspose2d)
    assert head.upsample.kernel_size == (2, 2) and head.upsample.stride == (2, 2)
    assert head(torch.randn(3, CHANNELS, 14, 14)).shape == (3, NUM_CLASSES, 28, 28)
    assert float(head.conv_logits.bias.detach().abs().sum()) == 0
    assert float(head.upsample.bias.detach().abs().sum()) == 0
    big = FCNMaskHead()
    torch.manual_seed(0)
    big.init_weights()
    fan_out = 80 * 1 * 1  # kaiming normal, fan_out, relu: std = sqrt(2 / fan_out)
    assert abs(float(big.conv_logits.weight.detach().std()) - (2 / fan_out) ** 0.5) < 0.01
    agnostic = build(class_agnostic=True, upsample_cfg=dict(type="bilinear", scale_factor=2))
    assert agnostic(torch.randn(2, CHANNELS, 14, 14)).shape == (2, 1, 28, 28)


def test_targets_and_loss() -> None:
    head = build()
    res = sampling_result()
    train_cfg = dict(mask_size=8)
    targets = head.get_targets([res], [gt_instances()], train_cfg)
    assert targets.shape == (2, 8, 8) and targets.dtype == torch.float32
    assert bool((targets[0] == 1).all())  # the proposal is the ground-truth box
    # proposal x 0..96 is clipped to the 64-wide canvas: the mask fills its right half
    assert targets[1, :, :4].sum() == 0 and bool((targets[1, :, 4:] == 1).all())
    torch.manual_seed(0)
    preds = torch.randn(2, NUM_CLASSES, 8, 8, requires_grad=True)
    losses = head.loss_and_target(preds, [res], [gt_instances()], train_cfg)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(preds[[0, 1], [1, 2]], targets)
    torch.testing.assert_close(losses["loss_mask"]["loss_mask"], expected.reshape(1))
    losses["loss_mask"]["loss_mask"].sum().backward()
    assert float(preds.grad[:, 0].abs().sum()) == 0  # only each RoI's own class learns
    soft = head.get_targets([res], [gt_instances()], dict(mask_size=8, soft_mask_target=True))
    assert soft.shape == (2, 8, 8)


def test_no_positives() -> None:
    head = build()
    res = sampling_result(num_pos=0)
    preds = torch.zeros(0, NUM_CLASSES, 28, 28, requires_grad=True)
    out = head.loss_and_target(preds, [res], [gt_instances()], dict(mask_size=28))
    assert out["mask_targets"].shape == (0, 28, 28)
    loss = out["loss_mask"]["loss_mask"]
    assert loss.requires_grad and float(loss.detach()) == 0
    loss.backward()


def test_paste_masks_fills_the_box() -> None:
    masks = torch.ones(2, 1, 28, 28)
    boxes = torch.tensor([[10.0, 20.0, 30.0, 40.0], [0.0, 0.0, 64.0, 64.0]])
    pasted = paste_masks(masks, boxes, 50, 64, threshold=0.5)
    assert pasted.shape == (2, 50, 64) and pasted.dtype == torch.bool
    expected = torch.zeros(50, 64, dtype=torch.bool)
    expected[20:40, 10:30] = True
    assert torch.equal(pasted[0], expected)
    assert bool(pasted[1].all())
    soft = paste_masks(masks * 0.5, boxes, 50, 64, threshold=-1)
    assert soft.dtype == torch.uint8 and int(soft.max()) == 127
    assert paste_masks(masks[:0], boxes[:0], 50, 64, 0.5).shape == (0, 50, 64)


def test_predict_by_feat_rescale() -> None:
    head = build()
    head.eval()
    torch.manual_seed(0)
    preds = torch.randn(3, NUM_CLASSES, 28, 28)
    bboxes = torch.tensor([[0.0, 0, 32, 32], [10, 12, 60, 50], [30, 30, 64, 64]])
    meta = dict(img_shape=(IMG, IMG), ori_shape=(32, 32), scale_factor=(2.0, 2.0))

    def results() -> InstanceData:
        return InstanceData(
            bboxes=bboxes.clone(), scores=torch.rand(3), labels=torch.tensor([0, 2, 1])
        )

    (small,) = head.predict_by_feat([preds], [results()], [meta], TEST_CFG, rescale=True)
    assert small.masks.shape == (3, 32, 32) and small.masks.dtype == torch.bool
    torch.testing.assert_close(small.bboxes, bboxes / 2)
    (full,) = head.predict_by_feat([preds], [results()], [meta], TEST_CFG, rescale=False)
    assert full.masks.shape == (3, IMG, IMG)
    torch.testing.assert_close(full.bboxes, bboxes)
    empty = InstanceData(
        bboxes=torch.zeros(0, 4), scores=torch.zeros(0), labels=torch.zeros(0).long()
    )
    (none,) = head.predict_by_feat([preds[:0]], [empty], [meta], TEST_CFG, rescale=True)
    assert none.masks.shape == (0, 32, 32)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="init_cfg"):
        FCNMaskHead(init_cfg=dict(type="Normal"))
    with pytest.raises(ConfigError, match="carafe"):
        FCNMaskHead(upsample_cfg=dict(type="carafe", scale_factor=2))
    with pytest.raises(ConfigError, match="pixel_shuffle"):
        FCNMaskHead(upsample_cfg=dict(type="pixel_shuffle", scale_factor=2))
    with pytest.raises(ValueError, match="BitmapMasks"):
        build().get_targets(
            [sampling_result()], [InstanceData(bboxes=torch.zeros(2, 4))], dict(mask_size=8)
        )


def test_whole_canvas_paste_matches_the_per_box_paste() -> None:
    # The GPU path pastes whole canvases, the CPU path only around each box; at
    # thresholds >= 0.5 the two agree pixel for pixel.
    from segwright.models.roi_heads.mask_heads.fcn_mask_head import _paste_chunk

    gen = torch.Generator().manual_seed(0)
    masks = torch.rand(6, 1, 28, 28, generator=gen)
    xy = torch.rand(6, 2, generator=gen) * 40
    boxes = torch.cat([xy, xy + torch.rand(6, 2, generator=gen) * 60 + 1], 1)
    per_box = paste_masks(masks, boxes, 70, 90, threshold=0.5)
    whole, _ = _paste_chunk(masks, boxes, 70, 90, around_boxes=False)
    assert torch.equal(per_box, whole >= 0.5)
