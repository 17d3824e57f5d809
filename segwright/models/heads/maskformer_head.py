"""MaskFormer's ``MaskFormerHead`` as MMSeg 1.2.2 builds it on MMDetection 3.3's head.

A pixel decoder gives per-pixel embeddings (``mask_feature``) and a memory; a DETR decoder
turns ``num_queries`` learned queries into class logits (``cls_embed``, ``num_classes + 1``
with "no object" last) and mask embeddings (``mask_embed``) whose dot products with the pixel
embeddings are the masks. Semantic logits are ``softmax(class)[:-1]`` x ``sigmoid(mask)``
summed over queries. Training matches queries to the image's classes (one binary mask per
class present) with the Hungarian assigner and logs ``loss_cls``/``loss_mask``/``loss_dice``
of the last decoder layer and ``d{i}.loss_*`` of the others.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.heads.detr_transformer import DetrTransformerDecoder, SinePositionalEncoding
from segwright.models.heads.pixel_decoder import PixelDecoder, padding_mask
from segwright.models.utils import BaseModule
from segwright.models.utils.device_constants import constant_like
from segwright.models.utils.weight_init import caffe2_xavier_init
from segwright.registry import MODELS, TASK_UTILS
from segwright.structures import InstanceData, SegDataSample
from segwright.utils.errors import ConfigError, DatasetError


def reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """The mean of ``value`` over processes (itself without a process group)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return value
    value = value.clone()
    dist.all_reduce(value.div_(dist.get_world_size()), op=dist.ReduceOp.SUM)
    return value


def _mean_over_processes(count: int, like: torch.Tensor) -> float:
    """``float(reduce_mean(like.new_tensor([count])))``: the count of matched masks averaged
    over processes, in ``like``'s precision.

    Without a process group that is ``count`` itself whenever ``like``'s dtype holds it exactly,
    so no tensor is made and read back (on CUDA, a blocking copy and a sync per layer).
    """
    import torch.distributed as dist

    exact = count * torch.finfo(like.dtype).eps <= 2  # every int up to 2 / eps is a float
    if exact and not (dist.is_available() and dist.is_initialized()):
        return float(count)
    return float(reduce_mean(like.new_tensor([count])))


def semantic_instances(sample: SegDataSample, ignore_index: int) -> InstanceData:
    """One instance per class present in ``gt_sem_seg``: its label and binary mask."""
    gt = getattr(sample, "gt_sem_seg", None)
    if gt is None:
        raise DatasetError(
            "Training sample has no gt_sem_seg. The training pipeline must load the annotation "
            "(LoadAnnotations) and pack it (PackSegInputs)."
        )
    seg = gt.data
    classes = torch.unique(seg, sorted=False)
    labels = classes[classes != ignore_index]
    if len(labels):
        masks = torch.stack([seg == label for label in labels]).squeeze(1)
    else:
        masks = seg.new_zeros((0, *seg.shape[-2:]))
    return InstanceData(labels=labels, masks=masks.long())


def _metas(batch_data_samples: Sequence[Any] | None, x: torch.Tensor) -> list[dict[str, Any]]:
    """Metas with ``batch_input_shape`` = ``img_shape`` (MMSeg's choice: no padding mask)."""
    if not batch_data_samples:
        return [dict(img_shape=(1, 1), batch_input_shape=(1, 1))] * x.shape[0]
    metas = []
    for sample in batch_data_samples:
        meta = dict(sample.metainfo if hasattr(sample, "metainfo") else sample)
        meta["batch_input_shape"] = tuple(meta["img_shape"][:2])
        metas.append(meta)
    return metas


def mask_embed(feat_channels: int, out_channels: int) -> nn.Sequential:
    """The query-to-mask-embedding MLP (three Linear layers) of MaskFormer and Mask2Former."""
    return nn.Sequential(
        nn.Linear(feat_channels, feat_channels), nn.ReLU(inplace=True),
        nn.Linear(feat_channels, feat_channels), nn.ReLU(inplace=True),
        nn.Linear(feat_channels, out_channels),
    )  # fmt: skip


@MODELS.register_module()
class MaskFormerHead(BaseDecodeHead):
    """MaskFormer head (MMSeg's arguments plus MMDetection's ``MaskFormerHead`` ones).

    Args:
        num_classes: Semantic classes (``cls_embed`` has one more: "no object").
        align_corners: Kept for the segmentor's resizing.
        ignore_index: Label value left out of the targets.
        in_channels: Channels of the input levels (all levels are used).
        feat_channels: Pixel-decoder and query width.
        out_channels: Mask-embedding width.
        num_queries: Number of queries.
        pixel_decoder: Pixel decoder config (in/feat/out channels are filled in).
        enforce_decoder_input_project: Project the memory even when widths agree.
        transformer_decoder: ``DetrTransformerDecoder`` arguments.
        positional_encoding: ``SinePositionalEncoding`` arguments.
        loss_cls, loss_mask, loss_dice: MMDetection loss configs.
        train_cfg: ``assigner`` and ``sampler`` configs (needed for training).
        test_cfg, num_things_classes, num_stuff_classes, in_index: Accepted as MMSeg does;
            unused in semantic segmentation (every input level is read).
    """

    def __init__(
        self,
        num_classes: int = 150,
        align_corners: bool = False,
        ignore_index: int = 255,
        *,
        in_channels: Sequence[int],
        feat_channels: int,
        out_channels: int,
        num_queries: int = 100,
        pixel_decoder: Mapping[str, Any] = dict(type="mmdet.PixelDecoder"),  # noqa: B006
        enforce_decoder_input_project: bool = False,
        transformer_decoder: Mapping[str, Any] | None = None,
        positional_encoding: Mapping[str, Any] = dict(num_feats=128, normalize=True),  # noqa: B006
        loss_cls: Mapping[str, Any] | None = None,
        loss_mask: Mapping[str, Any] | None = None,
        loss_dice: Mapping[str, Any] | None = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        num_things_classes: int = 80,
        num_stuff_classes: int = 53,
        in_index: Sequence[int] | None = None,
        init_cfg: Any = None,
    ) -> None:
        BaseModule.__init__(self, init_cfg)  # no conv_seg/loss_decode of BaseDecodeHead
        if (
            transformer_decoder is None
            or loss_cls is None
            or loss_mask is None
            or loss_dice is None
        ):
            raise ConfigError(
                "MaskFormerHead needs transformer_decoder, loss_cls, loss_mask and loss_dice "
                "configs (see configs/maskformer)."
            )
        self._init_head(
            num_classes, align_corners, ignore_index, in_channels, in_index, test_cfg, num_queries
        )
        self._build_pixel_decoder(pixel_decoder, feat_channels, out_channels)
        self.transformer_decoder = DetrTransformerDecoder(
            **copy.deepcopy(dict(transformer_decoder))
        )
        self.decoder_embed_dims = self.transformer_decoder.embed_dims
        if type(self.pixel_decoder) is PixelDecoder and (
            self.decoder_embed_dims != self.in_channels[-1] or enforce_decoder_input_project
        ):
            self.decoder_input_proj: nn.Module = nn.Conv2d(
                self.in_channels[-1], self.decoder_embed_dims, 1
            )
        else:
            self.decoder_input_proj = nn.Identity()
        self.decoder_pe = SinePositionalEncoding(**positional_encoding)
        self.query_embed = nn.Embedding(num_queries, out_channels)
        self.mask_embed = mask_embed(feat_channels, out_channels)
        self.cls_embed = nn.Linear(feat_channels, num_classes + 1)
        self._init_training(train_cfg, loss_cls, loss_mask, loss_dice)

    def _init_head(
        self,
        num_classes: int,
        align_corners: bool,
        ignore_index: int,
        in_channels: Sequence[int],
        in_index: Sequence[int] | None,
        test_cfg: Mapping[str, Any] | None,
        num_queries: int,
    ) -> None:
        """The attributes :class:`BaseDecodeHead` would set (its ``__init__`` is skipped)."""
        self.num_classes = num_classes
        self.out_channels = num_classes
        self.align_corners = align_corners
        self.ignore_index = ignore_index
        self.threshold = None
        self.input_transform = "multiple_select"
        self.in_channels = list(in_channels)
        self.in_index = list(in_index) if in_index is not None else list(range(len(in_channels)))
        self.test_cfg = test_cfg
        self.num_queries = num_queries

    def _build_pixel_decoder(
        self, pixel_decoder: Mapping[str, Any], feat_channels: int, out_channels: int
    ) -> None:
        decoder_cfg = copy.deepcopy(dict(pixel_decoder))
        decoder_cfg.update(
            in_channels=self.in_channels, feat_channels=feat_channels, out_channels=out_channels
        )
        self.pixel_decoder = MODELS.build(decoder_cfg, key="pixel_decoder")

    def _init_training(
        self,
        train_cfg: Mapping[str, Any] | None,
        loss_cls: Mapping[str, Any],
        loss_mask: Mapping[str, Any],
        loss_dice: Mapping[str, Any],
    ) -> None:
        """Assigner and sampler (with ``train_cfg``), class weights and the three losses."""
        self.train_cfg = train_cfg
        if train_cfg:
            self.assigner = TASK_UTILS.build(train_cfg["assigner"], key="train_cfg.assigner")
            self.sampler = TASK_UTILS.build(train_cfg["sampler"], key="train_cfg.sampler")
        self.class_weight = loss_cls.get("class_weight")
        self.loss_cls = MODELS.build(loss_cls, key="loss_cls")
        self.loss_mask = MODELS.build(loss_mask, key="loss_mask")
        self.loss_dice = MODELS.build(loss_dice, key="loss_dice")

    def init_weights(self) -> None:
        if isinstance(self.decoder_input_proj, nn.Conv2d):
            caffe2_xavier_init(self.decoder_input_proj, bias=0)
        self.pixel_decoder.init_weights()
        for param in self.transformer_decoder.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)
        self._is_init = True

    # -- forward ------------------------------------------------------------------------------

    def forward(  # type: ignore[override]
        self, x: Sequence[torch.Tensor], batch_data_samples: Sequence[Any] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits ``(layers, N, Q, classes + 1)`` and masks ``(layers, N, Q, h, w)``."""
        metas = _metas(batch_data_samples, x[-1])
        batch = x[0].shape[0]
        mask = padding_mask(x[-1], metas)
        mask_features, memory = self.pixel_decoder(x, metas)
        pos = self.decoder_pe(mask).flatten(2).transpose(1, 2)
        memory = self.decoder_input_proj(memory).flatten(2).transpose(1, 2)
        query_pos = self.query_embed.weight[None].repeat(batch, 1, 1)
        out = self.transformer_decoder(
            torch.zeros_like(query_pos), memory, memory, query_pos, pos, mask.flatten(1)
        )
        masks = torch.einsum("lbqc,bchw->lbqhw", self.mask_embed(out), mask_features)
        return self.cls_embed(out), masks

    def predict(  # type: ignore[override]
        self, inputs: Sequence[torch.Tensor], batch_img_metas: Sequence[Mapping[str, Any]],
        test_cfg: Any = None,
    ) -> torch.Tensor:  # fmt: skip
        """Semantic logits ``(N, num_classes, H, W)`` at :meth:`_output_size` of the first meta."""
        cls_scores, mask_preds = self.forward(inputs, batch_img_metas)
        size = self._output_size(batch_img_metas[0])
        masks = F.interpolate(mask_preds[-1], size=size, mode="bilinear", align_corners=False)
        probs = F.softmax(cls_scores[-1], dim=-1)[..., :-1]
        return torch.einsum("bqc,bqhw->bchw", probs, masks.sigmoid())

    @staticmethod
    def _output_size(meta: Mapping[str, Any]) -> tuple[int, int]:
        """The size :meth:`predict` returns logits at: MMDetection's ``img_shape``."""
        return tuple(meta["img_shape"][:2])  # type: ignore[return-value]

    # -- training -----------------------------------------------------------------------------

    def loss(  # type: ignore[override]
        self, inputs: Sequence[torch.Tensor], batch_data_samples: Sequence[SegDataSample],
        train_cfg: Any = None,
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        """Hungarian-matched class, mask and dice losses of every decoder layer."""
        if not self.train_cfg:
            raise ConfigError("MaskFormerHead: training needs train_cfg with assigner and sampler.")
        gts = [semantic_instances(s, self.ignore_index) for s in batch_data_samples]
        cls_scores, mask_preds = self.forward(inputs, batch_data_samples)
        losses: dict[str, torch.Tensor] = {}
        layers = len(cls_scores)
        for i in range(layers):
            values = self._layer_losses(cls_scores[i], mask_preds[i], gts)
            prefix = "" if i == layers - 1 else f"d{i}."
            for name, value in zip(("loss_cls", "loss_mask", "loss_dice"), values):
                losses[prefix + name] = value
        return losses

    def _targets(
        self, cls_score: torch.Tensor, mask_pred: torch.Tensor, gt: InstanceData
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Labels (N=num_classes where unmatched), mask targets, matched queries (ascending),
        avg factor."""
        gt_labels, gt_masks = gt.labels, gt.masks
        sampled = self._match(cls_score, mask_pred, gt)
        labels = gt_labels.new_full((self.num_queries,), self.num_classes, dtype=torch.long)
        labels[sampled.pos_inds] = gt_labels[sampled.pos_assigned_gt_inds]
        return labels, gt_masks[sampled.pos_assigned_gt_inds], sampled.pos_inds, sampled.avg_factor

    def _match(self, cls_score: torch.Tensor, mask_pred: torch.Tensor, gt: InstanceData) -> Any:
        """The sampler's result of matching one image's queries to its instances (the gt
        masks brought down to the predictions' size)."""
        gt_masks = gt.masks
        small = gt_masks
        if gt_masks.shape[0] > 0:
            small = F.interpolate(gt_masks[:, None].float(), mask_pred.shape[-2:], mode="nearest")
            small = small[:, 0].long()
        preds = InstanceData(scores=cls_score, masks=mask_pred)
        result = self.assigner.assign(preds, InstanceData(labels=gt.labels, masks=small))
        return self.sampler.sample(result, preds, gt)

    def _layer_losses(
        self, cls_scores: torch.Tensor, mask_preds: torch.Tensor, gts: Sequence[InstanceData]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        targets = [self._targets(c, m, g) for c, m, g in zip(cls_scores, mask_preds, gts)]
        labels = torch.stack([t[0] for t in targets]).flatten()
        mask_targets = torch.cat([t[1] for t in targets])
        avg_factor = sum(t[3] for t in targets)
        scores = cls_scores.flatten(0, 1)
        # Constants made from Python numbers once per device (constant_like), not every call:
        # on CUDA each new_tensor is a blocking copy.
        if self.class_weight is not None:
            cls_avg = constant_like(self, self.class_weight, scores)[labels].sum()
        else:
            cls_avg = constant_like(self, [float(labels.numel())], scores)[0]
        loss_cls = self.loss_cls(scores, labels, torch.ones_like(labels), avg_factor=cls_avg)
        num_masks = max(_mean_over_processes(avg_factor, scores), 1.0)
        # The matched queries' masks, image after image in ascending query order: what a mask
        # of the matched queries selects, by index (a boolean mask would be read on the host).
        queries = mask_preds.shape[1]
        matched = torch.cat([t[2] + i * queries for i, t in enumerate(targets)])
        preds = mask_preds.flatten(0, 1)[matched]
        if mask_targets.shape[0] == 0:
            return loss_cls, preds.sum(), preds.sum()
        return (loss_cls, *self._mask_losses(preds, mask_targets, num_masks))

    def _mask_losses(
        self, preds: torch.Tensor, mask_targets: torch.Tensor, num_masks: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``loss_mask`` and ``loss_dice`` of the matched masks, on the full target grid."""
        preds = F.interpolate(
            preds[:, None], mask_targets.shape[-2:], mode="bilinear", align_corners=False
        )[:, 0]
        loss_dice = self.loss_dice(preds, mask_targets, avg_factor=num_masks)
        height, width = preds.shape[-2:]
        loss_mask = self.loss_mask(
            preds.reshape(-1, 1),
            1 - mask_targets.reshape(-1),
            avg_factor=num_masks * height * width,
        )
        return loss_mask, loss_dice
