"""Tiny sweep entries of the mask-classification families (K-Net, MaskFormer, Mask2Former).

Read by ``_zoo_entries()`` in ``test_registered_components.py``. K-Net's head returns one
logit map per stage in training and logs each stage's losses with a ``.s{i}`` suffix, so it
has its own check; its stage and updater are building blocks checked on their own.
MaskFormer's head logs Hungarian-matched ``loss_cls``/``loss_mask``/``loss_dice`` per decoder
layer; its pixel decoders, positional encoding and MMDetection's losses are checked directly.
"""

from __future__ import annotations

from typing import Any

import torch

from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample

NUM_CLASSES = 3  # the sweep's
BATCH = 2
BN = dict(type="BN", requires_grad=True)


def _updator(width: int = 8) -> dict[str, Any]:
    return dict(type="KernelUpdator", in_channels=width, feat_channels=width, out_channels=width)


def _update_head(**extra: Any) -> dict[str, Any]:
    args = dict(
        num_classes=NUM_CLASSES, num_heads=2, num_mask_fcs=1, feedforward_channels=16,
        in_channels=8, out_channels=8, feat_transform_cfg=dict(act_cfg=None),
        kernel_updator_cfg=_updator(),
    )  # fmt: skip
    return dict(args, **extra)


def _features() -> tuple[torch.Tensor, ...]:
    torch.manual_seed(1)
    return tuple(torch.randn(BATCH, c, s, s) for c, s in zip((4, 8, 16, 32), (16, 8, 4, 2)))


def _samples(size: int) -> list[SegDataSample]:
    torch.manual_seed(2)
    out = []
    for _ in range(BATCH):
        label = torch.randint(0, NUM_CLASSES, (1, size, size))
        label[:, 0, :] = 255
        meta = dict(img_shape=(size, size), ori_shape=(size, size))
        out.append(SegDataSample(gt_sem_seg=PixelData(label), metainfo=meta))
    return out


def check_iterative_head(head: Any) -> None:
    feats = _features()
    head.eval()
    with torch.no_grad():
        assert head(feats).shape == (BATCH, NUM_CLASSES, 8, 8)
    head.train()
    losses = head.loss(feats, _samples(64), None)
    assert set(losses) == {f"{k}.s{i}" for k in ("loss_ce", "acc_seg") for i in range(3)}
    sum(v for k, v in losses.items() if "loss" in k).backward()
    assert head.kernel_update_head[1].fc_mask.weight.grad is not None


def check_update_head(stage: Any) -> None:
    torch.manual_seed(3)
    x = torch.randn(BATCH, 8, 6, 6)
    kernels = torch.randn(BATCH, NUM_CLASSES, 8, 3, 3, requires_grad=True)
    masks, new = stage(x, kernels, torch.randn(BATCH, NUM_CLASSES, 3, 3), mask_shape=(12, 12))
    assert masks.shape == (BATCH, NUM_CLASSES, 12, 12) and new.shape == kernels.shape
    (masks.mean() + new.mean()).backward()
    assert kernels.grad is not None and torch.isfinite(kernels.grad).all()


def check_updator(updator: Any) -> None:
    torch.manual_seed(3)
    out = updator(torch.randn(BATCH, NUM_CLASSES, 8), torch.randn(BATCH, NUM_CLASSES, 1, 8))
    assert out.shape == (BATCH * NUM_CLASSES, 1, 4)


_ATTN = dict(embed_dims=8, num_heads=2, attn_drop=0.0, proj_drop=0.0, batch_first=True)
_FFN = dict(embed_dims=8, feedforward_channels=16, num_fcs=2, ffn_drop=0.0)
_ENCODER = dict(num_layers=1, layer_cfg=dict(self_attn_cfg=_ATTN, ffn_cfg=_FFN))
_GN = dict(type="GN", num_groups=2)


def _maskformer(pixel_decoder: dict[str, Any]) -> dict[str, Any]:
    return dict(
        in_channels=[4, 8, 16], feat_channels=8, out_channels=8, num_classes=NUM_CLASSES,
        num_queries=5, pixel_decoder=pixel_decoder,
        positional_encoding=dict(num_feats=4, normalize=True),
        transformer_decoder=dict(
            num_layers=2,
            layer_cfg=dict(self_attn_cfg=_ATTN, cross_attn_cfg=_ATTN, ffn_cfg=_FFN),
        ),
        loss_cls=dict(type="mmdet.CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0,
                      class_weight=[1.0] * NUM_CLASSES + [0.1]),
        loss_mask=dict(type="mmdet.FocalLoss", use_sigmoid=True, loss_weight=20.0),
        loss_dice=dict(type="mmdet.DiceLoss", use_sigmoid=True, activate=True,
                       naive_dice=True, eps=1.0),
        train_cfg=dict(
            assigner=dict(
                type="mmdet.HungarianAssigner",
                match_costs=[
                    dict(type="mmdet.ClassificationCost", weight=1.0),
                    dict(type="mmdet.FocalLossCost", weight=20.0, binary_input=True),
                    dict(type="mmdet.DiceCost", weight=1.0, pred_act=True, eps=1.0),
                ],
            ),
            sampler=dict(type="mmdet.MaskPseudoSampler"),
        ),
    )  # fmt: skip


def check_maskformer_head(head: Any) -> None:
    feats = _features()[:3]
    samples = _samples(64)
    head.eval()
    with torch.no_grad():
        metas = [s.metainfo for s in samples]
        assert head.predict(feats, metas).shape == (BATCH, NUM_CLASSES, 64, 64)
    head.train()
    losses = head.loss(feats, samples, None)
    names = ("loss_cls", "loss_mask", "loss_dice")
    layers = len(head.transformer_decoder.layers) + isinstance(head, MODELS.get("Mask2FormerHead"))
    prefixes = [f"d{i}." for i in range(layers - 1)]
    assert set(losses) == {*names, *(p + n for p in prefixes for n in names)}
    sum(losses.values()).backward()
    assert head.query_embed.weight.grad is not None


def check_pixel_decoder(decoder: Any) -> None:
    feats = _features()[:3]
    metas = [dict(img_shape=(60, 64), batch_input_shape=(64, 64))] * BATCH  # padded rows
    mask_feature, memory = decoder(feats, metas)
    assert mask_feature.shape == (BATCH, 8, 16, 16) and memory.shape[-2:] == (4, 4)
    (mask_feature.mean() + memory.mean()).backward()


def check_positional_encoding(encoding: Any) -> None:
    mask = torch.zeros(BATCH, 3, 5, dtype=torch.bool)
    mask[1, :, 4:] = True  # padded column
    pos = encoding(mask)
    assert pos.shape == (BATCH, 8, 3, 5)
    # the padded image's valid 3x4 part is encoded as an unpadded 3x4 image
    unpadded = encoding(torch.zeros(1, 3, 4, dtype=torch.bool))
    assert torch.allclose(pos[1, :, :, :4], unpadded[0])
    # without a mask (an input tensor only) nothing is padding
    assert torch.allclose(encoding(None, torch.zeros(1, 2, 3, 5)), pos[:1])


_DEFORMABLE = dict(
    num_layers=1,
    layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=8, num_heads=2, num_levels=2, num_points=2, dropout=0.0),
        ffn_cfg=_FFN,
    ),
)
_MSDA_DECODER = dict(
    type="mmdet.MSDeformAttnPixelDecoder", strides=[4, 8, 16], num_outs=2, norm_cfg=_GN,
    encoder=_DEFORMABLE, positional_encoding=dict(num_feats=4, normalize=True),
)  # fmt: skip


def _mask2former() -> dict[str, Any]:
    args = _maskformer(_MSDA_DECODER)
    args.update(num_transformer_feat_level=2, enforce_decoder_input_project=True)
    args["transformer_decoder"] = dict(args["transformer_decoder"], num_layers=3)
    args["loss_mask"] = dict(type="mmdet.CrossEntropyLoss", use_sigmoid=True, loss_weight=5.0)
    args["train_cfg"] = dict(
        args["train_cfg"], num_points=32, oversample_ratio=3.0, importance_sample_ratio=0.75
    )
    return args


def check_msda_decoder(decoder: Any) -> None:
    feats = _features()[:3]
    mask_feature, outs = decoder(feats)
    assert mask_feature.shape == (BATCH, 8, 16, 16)
    assert [tuple(o.shape) for o in outs] == [(BATCH, 8, 4, 4), (BATCH, 8, 8, 8)]
    (mask_feature.mean() + sum(o.mean() for o in outs)).backward()
    attn = decoder.encoder.layers[0].self_attn
    assert attn.sampling_offsets.weight.grad is not None


def check_det_loss(loss: Any) -> None:
    torch.manual_seed(4)
    pred = torch.randn(6, 10, requires_grad=True)
    target = (torch.rand(6, 10) > 0.5).long()
    value = loss(pred, target, avg_factor=6.0)
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    assert pred.grad is not None and float(pred.grad.abs().sum()) > 0


ENTRIES: dict[str, dict[str, Any]] = {
    # two stages (the second at half resolution) over an FCNHead on level 1 (8x8)
    "IterativeDecodeHead": dict(
        kind="head",
        kwargs=dict(
            num_stages=2,
            kernel_update_head=[
                dict(type="KernelUpdateHead", **_update_head()),
                dict(type="KernelUpdateHead", **_update_head(mask_transform_stride=2)),
            ],
            kernel_generate_head=dict(
                type="FCNHead",
                in_channels=8,
                in_index=1,
                channels=8,
                num_convs=1,
                concat_input=True,
                dropout_ratio=0.0,
                num_classes=NUM_CLASSES,
                norm_cfg=BN,
            ),  # fmt: skip
        ),
        check=check_iterative_head,
    ),
    # 3x3 dynamic kernels, a strided feature transform and masks resized to mask_shape
    "KernelUpdateHead": dict(
        kind="helper",
        kwargs=_update_head(
            conv_kernel_size=3,
            feat_gather_stride=2,
            feat_transform_cfg=dict(kernel_size=3),
        ),  # fmt: skip
        check=check_update_head,
    ),
    # gates with norm and activation, activated update terms, a narrower output
    "KernelUpdator": dict(
        kind="helper",
        kwargs=dict(
            in_channels=8, feat_channels=8, out_channels=4, gate_norm_act=True, activate_out=True
        ),
        check=check_updator,
    ),
    # the FPN pixel decoder (memory projected: 16 input channels, width 8), two layers
    "MaskFormerHead": dict(
        kind="head",
        kwargs=_maskformer(dict(type="mmdet.PixelDecoder", norm_cfg=_GN)),
        check=check_maskformer_head,
    ),
    "mmdet.PixelDecoder": dict(
        kind="helper",
        kwargs=dict(in_channels=[4, 8, 16], feat_channels=8, out_channels=8, norm_cfg=_GN),
        check=check_pixel_decoder,
    ),
    "mmdet.TransformerEncoderPixelDecoder": dict(
        kind="helper",
        kwargs=dict(
            in_channels=[4, 8, 16],
            feat_channels=8,
            out_channels=8,
            norm_cfg=_GN,
            encoder=_ENCODER,
            positional_encoding=dict(num_feats=4, normalize=True),
        ),  # fmt: skip
        check=check_pixel_decoder,
    ),
    "mmdet.SinePositionalEncoding": dict(
        kind="helper", kwargs=dict(num_feats=4, normalize=True), check=check_positional_encoding
    ),
    # deformable encoder over the two coarsest levels; 3 layers cycle over them
    "Mask2FormerHead": dict(kind="head", kwargs=_mask2former(), check=check_maskformer_head),
    "mmdet.MSDeformAttnPixelDecoder": dict(
        kind="helper",
        kwargs={k: v for k, v in _MSDA_DECODER.items() if k != "type"}
        | dict(in_channels=[4, 8, 16], feat_channels=8, out_channels=8),
        check=check_msda_decoder,
    ),
    "mmdet.FocalLoss": dict(kind="loss", kwargs=dict(loss_weight=2.0), check=check_det_loss),
    "mmdet.DiceLoss": dict(kind="loss", kwargs=dict(naive_dice=True), check=check_det_loss),
}
