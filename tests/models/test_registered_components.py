"""Every model part registered in MODELS builds from a tiny config and gives the right shapes.

The table ``TINY`` must name every class that segwright registers: registering a new
backbone, neck, head, loss (or anything else) without a tiny config here fails
``test_table_covers_every_registered_part``, so this sweep stays complete.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from segwright.engine.model import BaseDataPreprocessor
from segwright.models.heads import BaseDecodeHead, FCNHead
from segwright.models.segmentors import BaseSegmentor
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample

pytestmark = [
    pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore"),
    pytest.mark.filterwarnings("ignore:For binary segmentation"),
]

BN = dict(type="BN", requires_grad=True)
NUM_CLASSES = 3
BATCH = 2
#: The multi-level features fed to necks and heads: channels at strides 4, 8, 16, 32 of 64x64.
FEAT_CHANNELS = (4, 8, 16, 32)
FEAT_SIZES = (16, 8, 4, 2)

#: Registered parts that live in a kind's package but are building blocks, not that kind.
HELPERS_IN_KIND_PACKAGES = {"InterpConv", "DeconvModule", "KernelUpdateHead", "KernelUpdator"}
HELPERS_IN_KIND_PACKAGES |= {"mmdet.PixelDecoder", "mmdet.TransformerEncoderPixelDecoder"}
HELPERS_IN_KIND_PACKAGES |= {"mmdet.SinePositionalEncoding", "mmdet.MSDeformAttnPixelDecoder"}
KIND_PACKAGES = {
    "backbone": "segwright.models.backbones",
    "neck": "segwright.models.necks",
    "head": "segwright.models.heads",
    "loss": "segwright.models.losses",
}


@dataclass(frozen=True)
class Tiny:
    """How to build and check one registered part.

    Attributes:
        kind: backbone, neck, head, loss, segmentor, preprocessor or helper.
        kwargs: Constructor arguments (a function when they hold built modules).
        out_size: Spatial size of a neck's outputs / a head's logits on the ``FEAT_*`` inputs.
        check: A helper's own check, given the built part.
    """

    kind: str
    kwargs: dict[str, Any] | Callable[[], dict[str, Any]] = field(default_factory=dict)
    out_size: tuple[int, ...] = ()
    check: Callable[[Any], None] | None = None

    def build(self, name: str) -> Any:
        kwargs = self.kwargs() if callable(self.kwargs) else dict(self.kwargs)
        return MODELS.build(dict(type=name, **kwargs), key=name)


# -- inputs --------------------------------------------------------------------------------


def image(size: int = 32) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(BATCH, 3, size, size)


def features() -> tuple[torch.Tensor, ...]:
    torch.manual_seed(1)
    return tuple(torch.randn(BATCH, c, s, s) for c, s in zip(FEAT_CHANNELS, FEAT_SIZES))


def labelled_samples(size: int, num_classes: int = NUM_CLASSES) -> list[SegDataSample]:
    torch.manual_seed(2)
    samples = []
    for _ in range(BATCH):
        label = torch.randint(0, num_classes, (1, size, size))
        label[:, 0, :] = 255  # an ignored row
        samples.append(
            SegDataSample(
                gt_sem_seg=PixelData(label),
                metainfo=dict(img_shape=(size, size), ori_shape=(size, size)),
            )
        )
    return samples


# -- helpers' own checks -------------------------------------------------------------------


def check_upsampler(module: nn.Module) -> None:
    out = module(torch.randn(BATCH, 4, 8, 8))
    assert out.shape == (BATCH, 2, 16, 16)


def check_box_regression_loss(loss: nn.Module) -> None:
    torch.manual_seed(4)
    pred = torch.randn(6, 4, requires_grad=True)
    value = loss(pred, torch.randn(6, 4), weight=torch.ones(6, 4), avg_factor=6.0)
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    assert pred.grad is not None and float(pred.grad.abs().sum()) > 0


def check_det_classification_loss(loss: nn.Module) -> None:
    # MMDet's meaning: (N, C) logits, class indices where C (background) is allowed.
    torch.manual_seed(4)
    logits = torch.randn(6, NUM_CLASSES + 1, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 3, 1])
    value = loss(logits, labels, weight=torch.ones(6), avg_factor=6.0)
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0


def check_det_preprocessor(pre: nn.Module) -> None:
    from segwright.structures import DetDataSample

    inputs = [torch.randint(0, 256, (3, 20, 30), dtype=torch.uint8)] * 2
    samples = [DetDataSample(metainfo=dict(img_shape=(20, 30))) for _ in inputs]
    out = pre(dict(inputs=inputs, data_samples=samples), training=False)
    assert out["inputs"].shape == (2, 3, 32, 32)
    assert out["data_samples"][0].metainfo["batch_input_shape"] == (32, 32)


# -- detection parts (MMDetection 3.3): the tiny Mask R-CNN of segwright.testing ----------------


def _det_parts() -> dict[str, Any]:
    from segwright.testing.tiny_detector import tiny_mask_rcnn_cfg

    cfg = tiny_mask_rcnn_cfg()
    train, test = cfg["train_cfg"], cfg["test_cfg"]
    return dict(
        rpn=dict(cfg["rpn_head"], train_cfg=train["rpn"], test_cfg=test["rpn"]),
        roi=dict(cfg["roi_head"], train_cfg=train["rcnn"], test_cfg=test["rcnn"]),
        proposal=train["rpn_proposal"],
        model=cfg,
    )


def _untyped(cfg: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A part's config without its ``type`` (the table adds it), with changes applied."""
    out = {k: v for k, v in cfg.items() if k != "type"}
    out.update(changes)
    return out


def _det_features(channels: int = 16, levels: int = 5) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(1)
    return tuple(torch.randn(BATCH, channels, 16 // 2**i, 16 // 2**i) for i in range(levels))


def _det_samples() -> list[Any]:
    from segwright.testing.tiny_detector import tiny_det_batch

    batch = tiny_det_batch(batch=BATCH)
    for sample in batch["data_samples"]:
        sample.set_metainfo(dict(pad_shape=(64, 64), batch_input_shape=(64, 64)))
    return batch["data_samples"]


def check_detector(model: nn.Module) -> None:
    from segwright.engine.optim.wrapper import OptimWrapper
    from segwright.testing.tiny_detector import tiny_det_batch

    model.init_weights()
    wrapper = OptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.01))
    logs = model.train_step(tiny_det_batch(batch=BATCH), wrapper)
    expected = {"loss", "loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "acc", "loss_bbox"}
    if getattr(model.roi_head, "with_mask", False):
        expected.add("loss_mask")
    assert expected <= set(logs) and all(torch.isfinite(v) for v in logs.values())
    model.eval()
    with torch.no_grad():
        results = model.test_step(tiny_det_batch(batch=BATCH, seed=1))
    for result in results:
        pred = result.pred_instances
        assert pred.bboxes.shape[1:] == (4,) and len(pred.scores) == len(pred.labels)
        if "masks" in pred:
            assert tuple(pred.masks.shape[1:]) == (64, 64)


def check_rpn_head(head: nn.Module) -> None:
    losses, proposals = head.loss_and_predict(
        _det_features(), _det_samples(), proposal_cfg=_det_parts()["proposal"]
    )
    assert {"loss_rpn_cls", "loss_rpn_bbox"} == set(losses) and len(proposals) == BATCH
    sum(sum(v) for v in losses.values()).backward()


def check_roi_head(head: nn.Module) -> None:
    from segwright.structures import InstanceData

    torch.manual_seed(2)
    xy = torch.rand(20, 2) * 40
    boxes = torch.cat([xy, xy + torch.rand(20, 2) * 20 + 4], dim=1)
    proposals = [InstanceData(bboxes=boxes, scores=torch.rand(20)) for _ in range(BATCH)]
    losses = head.loss(_det_features(levels=4), proposals, _det_samples())
    assert {"loss_cls", "acc", "loss_bbox", "loss_mask"} == set(losses)
    (losses["loss_cls"] + losses["loss_bbox"] + losses["loss_mask"]).backward()


def check_roi_extractor(extractor: nn.Module) -> None:
    rois = torch.tensor([[0, 2.0, 2.0, 30.0, 30.0], [1, 0.0, 0.0, 60.0, 50.0]])
    assert extractor(_det_features(levels=4), rois).shape == (2, 16, 7, 7)


def check_bbox_head(head: nn.Module) -> None:
    cls_score, bbox_pred = head(torch.randn(5, 16, 7, 7))
    assert cls_score.shape == (5, NUM_CLASSES + 1) and bbox_pred.shape == (5, 4 * NUM_CLASSES)


def check_mask_head(head: nn.Module) -> None:
    assert head(torch.randn(5, 16, 14, 14)).shape == (5, NUM_CLASSES, 28, 28)


def check_ema(ema: nn.Module) -> None:
    source = ema.module  # a copy of the model given to the constructor
    model = nn.Linear(2, 2)
    model.load_state_dict(source.state_dict())
    ema.update_parameters(model)  # the first update copies
    before = ema.module.weight.clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update_parameters(model)  # ema = (1 - momentum) * ema + momentum * param
    torch.testing.assert_close(ema.module.weight, 0.75 * before + 0.25 * model.weight)
    assert ema(torch.randn(3, 2)).shape == (3, 2)


def check_toy_model(model: nn.Module) -> None:
    inputs = (torch.rand(BATCH, 3, 16, 16) * 255).round()
    assert model(inputs, mode="tensor").shape == (BATCH, 2, 16, 16)
    losses = model(inputs, labelled_samples(16, num_classes=2), mode="loss")
    assert torch.isfinite(losses["decode.loss_ce"])


def check_seg_tta(model: nn.Module) -> None:
    model.eval()
    views = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(2)]
    samples = labelled_samples(32)
    samples[1].set_metainfo(dict(flip=True, flip_direction="horizontal"))
    with torch.no_grad():
        merged = model.test_step(dict(inputs=[views], data_samples=[samples]))
    assert len(merged) == 1 and tuple(merged[0].pred_sem_seg.data.shape) == (1, 32, 32)
    torch.testing.assert_close(merged[0].seg_logits.data.sum(0), torch.ones(32, 32))


def check_base_preprocessor(preprocessor: nn.Module) -> None:
    inputs = [torch.randint(0, 256, (3, 8, 6), dtype=torch.uint8) for _ in range(BATCH)]
    out = preprocessor(dict(inputs=inputs, data_samples=None))
    assert out["inputs"].shape == (BATCH, 3, 8, 6)
    assert out["inputs"].dtype == torch.float32
    torch.testing.assert_close(out["inputs"][1], inputs[1].float())


def check_seg_preprocessor(preprocessor: nn.Module) -> None:
    torch.manual_seed(3)
    inputs = [
        torch.randint(0, 256, (3, 30, 28), dtype=torch.uint8),
        torch.randint(0, 256, (3, 25, 32), dtype=torch.uint8),
    ]
    samples = [
        SegDataSample(gt_sem_seg=PixelData(torch.zeros(1, *t.shape[1:], dtype=torch.long)))
        for t in inputs
    ]
    out = preprocessor(dict(inputs=inputs, data_samples=samples), training=True)
    assert out["inputs"].shape == (BATCH, 3, 32, 32)  # padded to size_divisor=8
    mean = torch.tensor([1.0, 2.0, 3.0]).view(3, 1, 1)
    std = torch.tensor([2.0, 4.0, 8.0]).view(3, 1, 1)
    expected = (inputs[0].flip(0).float() - mean) / std  # bgr_to_rgb, then normalise
    torch.testing.assert_close(out["inputs"][0, :, :30, :28], expected)
    gt = out["data_samples"][1].gt_sem_seg.data
    assert gt.shape == (1, 32, 32)
    assert int(gt[0, 25:, :].min()) == 255 and int(gt[0, :25, :].max()) == 0


class TinyCascadeHead(FCNHead):
    """An FCN head that takes the previous stage's logits (and ignores them)."""

    def forward(self, inputs: Any, prev_output: Any = None) -> torch.Tensor:  # type: ignore[override]
        return super().forward(inputs)

    def loss(self, inputs: Any, prev_output: Any, data_samples: Any, train_cfg: Any) -> Any:  # type: ignore[override]
        return self.loss_by_feat(self.forward(inputs, prev_output), data_samples)

    def predict(self, inputs: Any, prev_output: Any, metas: Any, test_cfg: Any) -> Any:  # type: ignore[override]
        return super().predict(inputs, metas, test_cfg)


# -- the table -----------------------------------------------------------------------------

TINY_RESNET = dict(
    depth=18, stem_channels=8, base_channels=4, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
    contract_dilation=True, norm_cfg=BN,
)  # fmt: skip


def fcn_head(in_channels: int = 32, in_index: int = 3, **kw: Any) -> dict[str, Any]:
    return dict(
        type="FCNHead", in_channels=in_channels, in_index=in_index, channels=4, num_convs=1,
        concat_input=False, num_classes=NUM_CLASSES, norm_cfg=BN, **kw,
    )  # fmt: skip


def head_kwargs(**kw: Any) -> dict[str, Any]:
    return dict(channels=4, num_classes=NUM_CLASSES, norm_cfg=BN, **kw)


ALL_LEVELS = dict(in_channels=list(FEAT_CHANNELS), in_index=[0, 1, 2, 3])

TINY: dict[str, Tiny] = {
    # backbones: 2x3x32x32 in; outputs checked against out_channels / out_strides
    "ResNet": Tiny("backbone", dict(depth=18, stem_channels=8, base_channels=4, norm_cfg=BN)),
    "ResNetV1c": Tiny("backbone", TINY_RESNET),
    "ResNetV1d": Tiny(
        "backbone",
        dict(
            depth=50,
            stem_channels=8,
            base_channels=2,
            num_stages=2,
            strides=(1, 2),
            dilations=(1, 1),
            out_indices=(0, 1),
            norm_cfg=BN,
        ),
    ),
    "UNet": Tiny(
        "backbone",
        dict(
            base_channels=4,
            num_stages=3,
            strides=(1, 1, 1),
            enc_num_convs=(1, 1, 1),
            dec_num_convs=(1, 1),
            downsamples=(True, True),
            enc_dilations=(1, 1, 1),
            dec_dilations=(1, 1),
            upsample_cfg=dict(type="DeconvModule"),
        ),
    ),
    "MobileNetV2": Tiny("backbone", dict(widen_factor=0.25)),
    "MixVisionTransformer": Tiny(
        "backbone", dict(embed_dims=8, num_layers=(1, 1, 1, 1), num_heads=(1, 1, 2, 2))
    ),
    # necks: FEAT_* in
    "FPN": Tiny(
        "neck",
        dict(in_channels=list(FEAT_CHANNELS), out_channels=8, num_outs=5),
        out_size=(16, 8, 4, 2, 1),
    ),
    # decode heads: FEAT_* in, (2, 3, s, s) logits out, and a loss
    "FCNHead": Tiny("head", head_kwargs(in_channels=16, in_index=2, num_convs=2), out_size=(4,)),
    "PSPHead": Tiny("head", head_kwargs(in_channels=32, in_index=3, pool_scales=(1, 2)), (2,)),
    "ASPPHead": Tiny("head", head_kwargs(in_channels=32, in_index=3, dilations=(1, 2)), (2,)),
    "DepthwiseSeparableASPPHead": Tiny(
        "head",
        head_kwargs(in_channels=32, in_index=3, dilations=(1, 2), c1_in_channels=4, c1_channels=2),
        out_size=(16,),
    ),
    "UPerHead": Tiny("head", head_kwargs(pool_scales=(1, 2), **ALL_LEVELS), out_size=(16,)),
    "SegformerHead": Tiny("head", head_kwargs(**ALL_LEVELS), out_size=(16,)),
    # losses: (2, 3, 8, 8) logits and labels with an ignored row in, a finite scalar out
    "CrossEntropyLoss": Tiny("loss", dict(avg_non_ignore=True)),
    "DiceLoss": Tiny("loss"),
    "DiceLossV030": Tiny("loss"),
    "FocalLoss": Tiny("loss"),
    "LovaszLoss": Tiny("loss", dict(reduction="none")),
    "TverskyLoss": Tiny("loss"),
    # box regression losses (MMDet): (N, 4) deltas and targets
    "SmoothL1Loss": Tiny("loss", dict(beta=1.0 / 9.0), check=check_box_regression_loss),
    "L1Loss": Tiny("loss", check=check_box_regression_loss),
    # MMDetection's CrossEntropyLoss (the mmdet scope's meaning of the name)
    "mmdet.CrossEntropyLoss": Tiny("loss", check=check_det_classification_loss),
    # segmentors: 2x3x32x32 in; tensor, loss and predict modes
    "EncoderDecoder": Tiny(
        "segmentor",
        dict(
            backbone=dict(type="ResNetV1c", **TINY_RESNET),
            decode_head=fcn_head(),
            auxiliary_head=fcn_head(16, 2),
            test_cfg=dict(mode="whole"),
        ),
    ),
    "CascadeEncoderDecoder": Tiny(
        "segmentor",
        lambda: dict(
            num_stages=2,
            backbone=dict(type="ResNetV1c", **TINY_RESNET),
            decode_head=[fcn_head(), TinyCascadeHead(**head_kwargs(in_channels=32, in_index=3))],
            test_cfg=dict(mode="whole"),
        ),
    ),
    # data preprocessors
    "SegDataPreProcessor": Tiny(
        "preprocessor",
        dict(mean=[1.0, 2.0, 3.0], std=[2.0, 4.0, 8.0], size_divisor=8, bgr_to_rgb=True),
        check=check_seg_preprocessor,
    ),
    "BaseDataPreprocessor": Tiny("preprocessor", check=check_base_preprocessor),
    "DetDataPreprocessor": Tiny(
        "preprocessor",
        dict(mean=[0.0] * 3, std=[1.0] * 3, pad_size_divisor=32),
        check=check_det_preprocessor,
    ),  # fmt: skip
    # detection (MMDetection 3.3 names)
    "MaskRCNN": Tiny("detector", lambda: _untyped(_det_parts()["model"]), check=check_detector),
    "FasterRCNN": Tiny(
        "detector",
        lambda: _untyped(
            _det_parts()["model"],
            roi_head=_untyped(
                _det_parts()["model"]["roi_head"],
                mask_roi_extractor=None,
                mask_head=None,
                type="StandardRoIHead",
            ),
        ),
        check=check_detector,
    ),
    "TwoStageDetector": Tiny(
        "detector", lambda: _untyped(_det_parts()["model"]), check=check_detector
    ),
    "RPNHead": Tiny("det head", lambda: _untyped(_det_parts()["rpn"]), check=check_rpn_head),
    "StandardRoIHead": Tiny(
        "det head", lambda: _untyped(_det_parts()["roi"]), check=check_roi_head
    ),
    "SingleRoIExtractor": Tiny(
        "det head",
        lambda: _untyped(_det_parts()["roi"]["bbox_roi_extractor"]),
        check=check_roi_extractor,
    ),
    "Shared2FCBBoxHead": Tiny(
        "det head", lambda: _untyped(_det_parts()["roi"]["bbox_head"]), check=check_bbox_head
    ),
    "ConvFCBBoxHead": Tiny(
        "det head",
        lambda: _untyped(_det_parts()["roi"]["bbox_head"], num_shared_fcs=1),
        check=check_bbox_head,
    ),
    "Shared4Conv1FCBBoxHead": Tiny(
        "det head",
        lambda: _untyped(_det_parts()["roi"]["bbox_head"], conv_out_channels=8),
        check=check_bbox_head,
    ),
    "BBoxHead": Tiny(
        "det head",
        lambda: {
            k: v
            for k, v in _untyped(_det_parts()["roi"]["bbox_head"], with_avg_pool=True).items()
            if k != "fc_out_channels"
        },
        check=check_bbox_head,
    ),
    "FCNMaskHead": Tiny(
        "det head", lambda: _untyped(_det_parts()["roi"]["mask_head"]), check=check_mask_head
    ),
    # other registered helpers
    "InterpConv": Tiny("helper", dict(in_channels=4, out_channels=2), check=check_upsampler),
    "DeconvModule": Tiny("helper", dict(in_channels=4, out_channels=2), check=check_upsampler),
    "ExponentialMovingAverage": Tiny(
        "helper", lambda: dict(model=nn.Linear(2, 2), momentum=0.25), check=check_ema
    ),
    "SegTTAModel": Tiny(
        "helper",
        lambda: dict(
            module=dict(
                type="EncoderDecoder",
                backbone=dict(type="ResNetV1c", **TINY_RESNET),
                decode_head=fcn_head(),
                test_cfg=dict(mode="whole"),
            )
        ),
        check=check_seg_tta,
    ),
    "ToySegModel": Tiny("helper", dict(channels=4, num_classes=2), check=check_toy_model),
}


def _zoo_entries() -> dict[str, Tiny]:
    """Entries kept beside this file, one module per model-zoo family group.

    Each ``zoo_tiny_<group>.py`` defines ``ENTRIES = {name: dict(kind=..., kwargs=...,
    out_size=..., check=...)}`` with the same meaning as :class:`Tiny`; groups own their files,
    so adding a family never edits this table.
    """
    entries: dict[str, Tiny] = {}
    for path in sorted(Path(__file__).parent.glob("zoo_tiny_*.py")):
        spec = importlib.util.spec_from_file_location(f"_segwright_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, fields in module.ENTRIES.items():
            assert name not in TINY and name not in entries, f"{path.name}: {name} listed twice"
            entries[name] = Tiny(**fields)
    return entries


TINY.update(_zoo_entries())


def segwright_parts() -> dict[str, Any]:
    """Names registered in MODELS by segwright itself (not by tests or user code)."""
    parts = {}
    for name in MODELS.names():
        obj = MODELS.get(name)
        if getattr(obj, "__module__", "").startswith("segwright.") and not getattr(
            obj, "left_out", False
        ):  # left-out families (VPD, SAN) only say why: tests/models/test_left_out.py
            parts[name] = obj
    return parts


def test_table_covers_every_registered_part():
    registered = segwright_parts()
    missing = sorted(set(registered) - set(TINY))
    assert not missing, (
        f"Registered in MODELS without a tiny config in {__file__}: {missing}. Add an entry to "
        "TINY (kind, tiny constructor kwargs) so the sweep builds and checks it."
    )
    stale = sorted(set(TINY) - set(registered))
    assert not stale, f"TINY has entries for names no longer registered: {stale}."


@pytest.mark.parametrize("name", sorted(TINY))
def test_declared_kind_matches_the_class(name):
    cls = MODELS.get(name)
    kind = TINY[name].kind
    for package_kind, package in KIND_PACKAGES.items():
        if cls.__module__.startswith(package + ".") and name not in HELPERS_IN_KIND_PACKAGES:
            assert kind == package_kind, (
                f"{name} is defined in {package}, so it is a {package_kind}"
            )
    assert (kind == "head") == issubclass(cls, BaseDecodeHead)
    assert (kind == "segmentor") == issubclass(cls, BaseSegmentor)
    assert (kind == "preprocessor") == issubclass(cls, BaseDataPreprocessor)


def run_backbone(part: nn.Module) -> None:
    x = image(32)
    outs = part(x)
    assert isinstance(outs, tuple)
    assert len(outs) == len(part.out_channels) == len(part.out_strides)
    for out, channels, stride in zip(outs, part.out_channels, part.out_strides):
        expected = (BATCH, channels, math.ceil(32 / stride), math.ceil(32 / stride))
        assert tuple(out.shape) == expected
    sum(o.float().mean() for o in outs).backward()


def run_neck(part: nn.Module, out_size: tuple[int, ...]) -> None:
    outs = part(features())
    assert [tuple(o.shape) for o in outs] == [(BATCH, part.out_channels, s, s) for s in out_size]


def run_head(part: BaseDecodeHead, out_size: tuple[int, ...]) -> None:
    feats = features()
    logits = part(feats)
    assert logits.shape == (BATCH, NUM_CLASSES, out_size[0], out_size[0])
    losses = part.loss(feats, labelled_samples(64), None)
    assert set(losses) == {"loss_ce", "acc_seg"}
    assert torch.isfinite(losses["loss_ce"]) and 0 <= float(losses["acc_seg"]) <= 100
    losses["loss_ce"].backward()
    assert part.conv_seg.weight.grad is not None


def run_loss(part: nn.Module) -> None:
    torch.manual_seed(4)
    logits = torch.randn(BATCH, NUM_CLASSES, 8, 8, requires_grad=True)
    label = torch.randint(0, NUM_CLASSES, (BATCH, 8, 8))
    label[:, 0] = 255
    value = part(logits, label, ignore_index=255)
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert float(logits.grad.abs().sum()) > 0
    assert isinstance(part.loss_name, str) and part.loss_name.startswith("loss_")


def run_segmentor(part: BaseSegmentor) -> None:
    x = image(32)
    logits = part(x, mode="tensor")
    assert logits.shape == (BATCH, NUM_CLASSES, 4, 4)  # ResNetV1c-D8 on 32x32
    losses = part(x, labelled_samples(32), mode="loss")
    assert any(k.startswith("decode") and "loss" in k for k in losses)
    total = sum(v for k, v in losses.items() if "loss" in k)
    assert torch.isfinite(total)
    total.backward()
    part.eval()
    with torch.no_grad():
        results = part(x, labelled_samples(32), mode="predict")
    assert [tuple(r.pred_sem_seg.data.shape) for r in results] == [(1, 32, 32)] * BATCH
    assert tuple(results[0].seg_logits.data.shape) == (NUM_CLASSES, 32, 32)


@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_part_builds_and_runs(name):
    torch.manual_seed(0)
    entry = TINY[name]
    part = entry.build(name)
    assert isinstance(part, nn.Module)
    if entry.check is not None:
        entry.check(part)
    elif entry.kind == "backbone":
        run_backbone(part)
    elif entry.kind == "neck":
        run_neck(part, entry.out_size)
    elif entry.kind == "head":
        run_head(part, entry.out_size)
    elif entry.kind == "loss":
        run_loss(part)
    elif entry.kind == "segmentor":
        run_segmentor(part)
    else:
        pytest.fail(f"{name}: a {entry.kind} entry needs a check function")
