"""``FCNMaskHead``: Mask R-CNN's per-RoI mask branch (MMDetection 3.3).

Four 3x3 ``ConvModule``s, a 2x deconvolution + ReLU, and a 1x1 ``conv_logits`` with one mask
channel per class. Training targets are the ground-truth masks cropped to each positive
proposal and resized to ``mask_size`` (RoIAlign); at inference each detection's mask of its
class is pasted back into the image with ``grid_sample`` and thresholded.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.dense_heads.utils import cfg_value, meta_scale_factor, meta_shape
from segwright.models.layers import ConvModule, build_conv_layer
from segwright.models.utils import BaseModule
from segwright.registry import MODELS, build_if_dict, default_scope
from segwright.structures import InstanceData
from segwright.utils.errors import ConfigError

#: Upsampling methods ``upsample_cfg['type']`` may name (None: no upsampling).
UPSAMPLE_METHODS = (None, "deconv", "nearest", "bilinear", "carafe")
#: Pasting on a GPU works on chunks of masks whose full-image float maps fit in this.
GPU_PASTE_BYTES = 1024**3


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ConfigError(f"Expected a size as an int or (h, w), got {size!r}.")


@MODELS.register_module()
class FCNMaskHead(BaseModule):
    """Fully convolutional mask head.

    Args:
        num_convs: 3x3 ``ConvModule``s (``convs.{i}``).
        roi_feat_size: Size of the RoI features.
        in_channels: Channels of the RoI features.
        conv_kernel_size: Kernel size of the convs.
        conv_out_channels: Channels of the convs and of the deconvolution.
        num_classes: Object classes (mask channels unless ``class_agnostic``).
        class_agnostic: One mask channel for all classes.
        upsample_cfg: ``dict(type='deconv'|'nearest'|'bilinear'|None, scale_factor=2)``.
        conv_cfg, norm_cfg: Layer configs of the convs.
        predictor_cfg: Conv config of ``conv_logits``.
        loss_mask: Mask loss or its config (MMDet's ``CrossEntropyLoss(use_mask=True)``).
        init_cfg: Must be None: the weights get MMDetection's fixed initialisation.

    Raises:
        ConfigError: ``init_cfg`` given, or an unknown or unsupported upsampling method.
    """

    def __init__(
        self,
        num_convs: int = 4,
        roi_feat_size: int | Sequence[int] = 14,
        in_channels: int = 256,
        conv_kernel_size: int = 3,
        conv_out_channels: int = 256,
        num_classes: int = 80,
        class_agnostic: bool = False,
        upsample_cfg: Mapping[str, Any] = dict(type="deconv", scale_factor=2),  # noqa: B006
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        predictor_cfg: Mapping[str, Any] = dict(type="Conv"),  # noqa: B006
        loss_mask: Any = dict(  # noqa: B006 - MMDetection's default
            type="CrossEntropyLoss", use_mask=True, loss_weight=1.0
        ),
        init_cfg: Any = None,
    ) -> None:
        owner = type(self).__name__
        if init_cfg is not None:
            raise ConfigError(
                f"{owner}: init_cfg must be None (as in MMDetection): the convs get Kaiming "
                "init and upsample/conv_logits Kaiming fan_out with zero bias."
            )
        super().__init__(init_cfg=None)
        upsample_cfg = copy.deepcopy(dict(upsample_cfg))
        method = upsample_cfg.get("type")
        if method not in UPSAMPLE_METHODS:
            raise ConfigError(
                f"{owner}: upsample_cfg type {method!r} is not one of "
                f"{', '.join(repr(m) for m in UPSAMPLE_METHODS)}."
            )
        if method == "carafe":
            raise ConfigError(
                f"{owner}: upsample_cfg type 'carafe' needs MMCV's compiled CARAFE op, which "
                "segwright does not have; use 'deconv' (MMDetection's default)."
            )
        self.upsample_cfg = upsample_cfg
        self.num_convs = num_convs
        self.roi_feat_size = _pair(roi_feat_size)
        self.in_channels = in_channels
        self.conv_kernel_size = conv_kernel_size
        self.conv_out_channels = conv_out_channels
        self.upsample_method = method
        self.scale_factor = self.upsample_cfg.pop("scale_factor", None)
        self.num_classes = num_classes
        self.class_agnostic = bool(class_agnostic)
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.predictor_cfg = predictor_cfg
        with default_scope("mmdet"):
            self.loss_mask = build_if_dict(copy.deepcopy(loss_mask), MODELS, "loss_mask")

        padding = (conv_kernel_size - 1) // 2
        self.convs = nn.ModuleList(
            ConvModule(
                in_channels if i == 0 else conv_out_channels,
                conv_out_channels,
                conv_kernel_size,
                padding=padding,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
            )
            for i in range(num_convs)
        )
        upsample_in = conv_out_channels if num_convs > 0 else in_channels
        self.upsample = self._build_upsample(upsample_in)
        out_channels = 1 if self.class_agnostic else num_classes
        logits_in = conv_out_channels if method == "deconv" else upsample_in
        self.conv_logits = build_conv_layer(predictor_cfg, logits_in, out_channels, 1)
        self.relu = nn.ReLU(inplace=True)

    def _build_upsample(self, in_channels: int) -> nn.Module | None:
        extra = {k: v for k, v in self.upsample_cfg.items() if k != "type"}
        if self.upsample_method is None:
            return None
        if self.upsample_method == "deconv":
            try:
                return nn.ConvTranspose2d(
                    in_channels,
                    self.conv_out_channels,
                    kernel_size=self.scale_factor,
                    stride=self.scale_factor,
                    **extra,
                )
            except TypeError as exc:
                raise ConfigError(
                    f"Cannot build upsample_cfg {self.upsample_cfg!r}: {exc}."
                ) from exc
        align_corners = None if self.upsample_method == "nearest" else False
        return nn.Upsample(
            scale_factor=self.scale_factor, mode=self.upsample_method, align_corners=align_corners
        )

    def init_weights(self) -> None:
        """The convs' own init, then Kaiming-normal (fan_out, ReLU) weights and zero biases
        for ``upsample`` and ``conv_logits``."""
        super().init_weights()
        for module in (self.upsample, self.conv_logits):
            if module is None or getattr(module, "weight", None) is None:
                continue
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if getattr(module, "bias", None) is not None:
                nn.init.constant_(module.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mask logits of every RoI.

        Shapes:
            x (K, C, h, w) -> (K, num_classes, 2h, 2w) (one channel when class-agnostic).
        """
        for conv in self.convs:
            x = conv(x)
        if self.upsample is not None:
            x = self.upsample(x)
            if self.upsample_method == "deconv":
                x = self.relu(x)
        return self.conv_logits(x)

    # -- training --------------------------------------------------------------------------

    def get_targets(
        self,
        sampling_results: Sequence[Any],
        batch_gt_instances: Sequence[Any],
        rcnn_train_cfg: Mapping[str, Any],
    ) -> torch.Tensor:
        """Each positive proposal's ground-truth mask, cropped to it and resized.

        The proposals are clipped to the mask canvas, then the assigned ground truth's
        mask is pooled in the box (RoIAlign) to ``rcnn_train_cfg['mask_size']`` and
        binarised at 0.5 (unless ``soft_mask_target``).

        Raises:
            ValueError: Ground truths without instance masks.

        Shapes:
            -> (sum of positives, mask_h, mask_w) float.
        """
        owner = type(self).__name__
        mask_size = _pair(cfg_value(rcnn_train_cfg, "mask_size", owner, "train_cfg"))
        binarize = not rcnn_train_cfg.get("soft_mask_target", False)
        targets = []
        for res, gt in zip(sampling_results, batch_gt_instances):
            proposals = res.pos_priors
            if proposals.size(0) == 0:
                targets.append(proposals.new_zeros((0, *mask_size)))
                continue
            gt_masks = gt.get("masks") if hasattr(gt, "get") else getattr(gt, "masks", None)
            if not hasattr(gt_masks, "crop_and_resize"):
                raise ValueError(
                    f"{owner}: gt_instances.masks must be BitmapMasks or PolygonMasks (the "
                    f"pipeline's LoadAnnotations(with_mask=True)), got {type(gt_masks).__name__}."
                )
            boxes = proposals.detach().cpu().numpy().copy()
            boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, gt_masks.width)
            boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, gt_masks.height)
            cropped = gt_masks.crop_and_resize(
                boxes,
                mask_size,
                inds=res.pos_assigned_gt_inds.cpu().numpy(),
                device=proposals.device,
                binarize=binarize,
            )
            targets.append(torch.from_numpy(cropped.to_ndarray()).float().to(proposals.device))
        return torch.cat(targets) if targets else torch.zeros(0, *mask_size)

    def loss_and_target(
        self,
        mask_preds: torch.Tensor,
        sampling_results: Sequence[Any],
        batch_gt_instances: Sequence[Any],
        rcnn_train_cfg: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The mask loss of the positives, each on its class's channel (channel 0 when
        class-agnostic); 0 (still in the graph) without positives.

        Returns:
            ``dict(loss_mask=dict(loss_mask=...), mask_targets=...)``.

        Shapes:
            mask_preds (P, num_classes, H, W) -> mask_targets (P, H, W).
        """
        mask_targets = self.get_targets(sampling_results, batch_gt_instances, rcnn_train_cfg)
        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        if mask_preds.size(0) == 0:
            loss_mask = mask_preds.sum()
        else:
            labels = torch.zeros_like(pos_labels) if self.class_agnostic else pos_labels
            loss_mask = self.loss_mask(mask_preds, mask_targets, labels)
        return dict(loss_mask=dict(loss_mask=loss_mask), mask_targets=mask_targets)

    # -- inference -------------------------------------------------------------------------

    def predict_by_feat(
        self,
        mask_preds: Sequence[torch.Tensor],
        results_list: list[InstanceData],
        batch_img_metas: Sequence[Mapping[str, Any]],
        rcnn_test_cfg: Mapping[str, Any],
        rescale: bool = False,
        activate_map: bool = False,
    ) -> list[InstanceData]:
        """Add ``masks`` to each image's detections (in place, and returned).

        With ``rescale`` the detections' boxes are divided by ``scale_factor`` (original
        image coordinates) and the masks are pasted at ``ori_shape``; without it the canvas
        is ``ori_shape`` times ``scale_factor`` (rounded), the network input's size.

        Raises:
            ValueError: The per-image sequences differ in length.

        Shapes:
            mask_preds: one (n_i, num_classes, h, w) per image -> masks (n_i, H, W) bool
            (uint8 0..255 when ``mask_thr_binary < 0``).
        """
        if not len(mask_preds) == len(results_list) == len(batch_img_metas):
            raise ValueError(
                f"{type(self).__name__}.predict_by_feat: {len(mask_preds)} mask_preds, "
                f"{len(results_list)} results and {len(batch_img_metas)} image metas; give one "
                "of each per image."
            )
        threshold = cfg_value(rcnn_test_cfg, "mask_thr_binary", type(self).__name__, "test_cfg")
        for img_id, (preds, results, meta) in enumerate(
            zip(mask_preds, results_list, batch_img_metas)
        ):
            if results.bboxes.shape[0] == 0:
                results_list[img_id] = empty_mask_results(results, meta, threshold)
                continue
            masks = self._predict_by_feat_single(
                mask_preds=preds,
                bboxes=results.bboxes,
                labels=results.labels,
                img_meta=meta,
                rcnn_test_cfg=rcnn_test_cfg,
                rescale=rescale,
                activate_map=activate_map,
            )
            if rescale:
                results.bboxes = results.bboxes / _scale_factor_row(results.bboxes, meta)
            results.masks = masks
        return results_list

    def _predict_by_feat_single(
        self,
        mask_preds: torch.Tensor,
        bboxes: torch.Tensor,
        labels: torch.Tensor,
        img_meta: Mapping[str, Any],
        rcnn_test_cfg: Mapping[str, Any],
        rescale: bool = False,
        activate_map: bool = False,
    ) -> torch.Tensor:
        """One image's masks: each detection's class channel, pasted into its box.

        Args:
            mask_preds: Mask logits (probabilities with ``activate_map``).
            bboxes: Detected boxes in the network input's coordinates (not changed).
            labels: Detected classes.
            img_meta: Has ``ori_shape`` (and ``scale_factor``; 1.0 when absent).
            rcnn_test_cfg: Has ``mask_thr_binary``.
            rescale: Paste into the original image (boxes divided by ``scale_factor``).
            activate_map: ``mask_preds`` are probabilities already.

        Shapes:
            mask_preds (n, num_classes, h, w); bboxes (n, 4); labels (n,) -> (n, H, W).
        """
        owner = type(self).__name__
        img_h, img_w = meta_shape(img_meta, "ori_shape", owner)
        scale = _scale_factor_row(bboxes, img_meta)
        probs = mask_preds.sigmoid() if not activate_map else bboxes.new_tensor(mask_preds)
        if rescale:
            bboxes = bboxes / scale
        else:
            img_h = int(np.round(img_h * scale[0, 1].item()))
            img_w = int(np.round(img_w * scale[0, 0].item()))
        num = len(probs)
        if not self.class_agnostic:
            probs = probs[torch.arange(num, device=probs.device), labels][:, None]
        threshold = cfg_value(rcnn_test_cfg, "mask_thr_binary", owner, "test_cfg")
        return paste_masks(probs, bboxes, img_h, img_w, threshold)


def _scale_factor_row(bboxes: torch.Tensor, img_meta: Mapping[str, Any]) -> torch.Tensor:
    """``scale_factor`` ``(w, h)`` as a ``(1, 4)`` row ``[w, h, w, h]`` to divide boxes by.

    Without a ``scale_factor`` (no ``Resize`` in the test pipeline) the row is all ones.
    """
    return bboxes.new_tensor(meta_scale_factor(img_meta, "FCNMaskHead")).repeat((1, 2))


def paste_masks(
    masks: torch.Tensor, boxes: torch.Tensor, img_h: int, img_w: int, threshold: float
) -> torch.Tensor:
    """Paste each RoI's mask into an ``img_h x img_w`` canvas and binarise it.

    Each canvas pixel (its centre) is mapped into its box and sampled bilinearly from the
    mask (zero outside). On the CPU every mask is pasted only over its box's pixels (plus
    one); on other devices whole canvases are pasted, as many at a time as fit in
    :data:`GPU_PASTE_BYTES`. (Outside a box the value stays below half the border's, so
    both give the same masks for thresholds >= 0.5.)

    Args:
        masks: Probabilities.
        boxes: Boxes in canvas pixels.
        img_h, img_w: Canvas size.
        threshold: ``>= threshold`` gives a bool mask; a negative threshold gives uint8
            probabilities times 255 instead.

    Shapes:
        masks (n, 1, h, w); boxes (n, 4) -> (n, img_h, img_w).
    """
    num = masks.size(0)
    device = masks.device
    dtype = torch.bool if threshold >= 0 else torch.uint8
    canvas = torch.zeros(num, img_h, img_w, device=device, dtype=dtype)
    if num == 0:
        return canvas
    on_cpu = device.type == "cpu"
    if on_cpu:
        chunks = torch.arange(num, device=device).split(1)
    else:
        num_chunks = math.ceil(num * img_h * img_w * 4 / GPU_PASTE_BYTES)
        if num_chunks > num:
            raise ValueError(
                f"paste_masks: one {img_h}x{img_w} mask does not fit in GPU_PASTE_BYTES "
                f"({GPU_PASTE_BYTES}); raise it."
            )
        chunks = torch.arange(num, device=device).chunk(num_chunks)
    for inds in chunks:
        pasted, (rows, cols) = _paste_chunk(masks[inds], boxes[inds], img_h, img_w, on_cpu)
        if threshold >= 0:
            pasted = pasted >= threshold
        else:
            pasted = (pasted * 255).to(dtype=torch.uint8)
        canvas[inds, rows, cols] = pasted
    return canvas


def _paste_chunk(
    masks: torch.Tensor, boxes: torch.Tensor, img_h: int, img_w: int, around_boxes: bool
) -> tuple[torch.Tensor, tuple[slice, slice]]:
    """Bilinear paste of masks over the canvas, or over the region around all their boxes.

    Shapes:
        masks (m, 1, h, w); boxes (m, 4) -> (m, H', W') and the (rows, cols) slices it covers.
    """
    if around_boxes:
        left, top = (boxes.min(dim=0).values.floor()[:2] - 1).clamp(min=0).to(torch.int32).tolist()
        right = int((boxes[:, 2].max().ceil() + 1).clamp(max=img_w).to(torch.int32))
        bottom = int((boxes[:, 3].max().ceil() + 1).clamp(max=img_h).to(torch.int32))
    else:
        left, top, right, bottom = 0, 0, img_w, img_h
    device = masks.device
    x1, y1, x2, y2 = boxes.split(1, dim=1)  # each (m, 1)
    # Pixel centres in [-1, 1] box coordinates (grid_sample's, align_corners=False).
    ys = torch.arange(top, bottom, device=device).to(torch.float32) + 0.5
    xs = torch.arange(left, right, device=device).to(torch.float32) + 0.5
    ys = (ys - y1) / (y2 - y1) * 2 - 1
    xs = (xs - x1) / (x2 - x1) * 2 - 1
    # A box of zero width or height: what division left infinite samples the centre line.
    ys = ys.masked_fill(torch.isinf(ys), 0)
    xs = xs.masked_fill(torch.isinf(xs), 0)
    num = masks.size(0)
    grid = torch.stack(
        (
            xs[:, None, :].expand(num, ys.size(1), xs.size(1)),
            ys[:, :, None].expand(num, ys.size(1), xs.size(1)),
        ),
        dim=3,
    )
    pasted = F.grid_sample(masks.to(torch.float32), grid, align_corners=False)
    return pasted[:, 0], (slice(top, bottom), slice(left, right))


def empty_mask_results(
    results: InstanceData, img_meta: Mapping[str, Any], mask_thr_binary: float
) -> InstanceData:
    """``results`` with an empty ``(0, H, W)`` ``masks`` field at ``ori_shape``."""
    img_h, img_w = meta_shape(img_meta, "ori_shape", "FCNMaskHead")
    dtype = torch.bool if mask_thr_binary >= 0 else torch.uint8
    results.masks = torch.zeros(0, img_h, img_w, device=results.bboxes.device, dtype=dtype)
    return results
