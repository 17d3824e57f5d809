"""``BaseDecodeHead``: input selection, the 1x1 classifier, losses and inference resizing.

Every decode head turns backbone features into per-class logits at 1/s of the input size;
this base class owns what they share (SPEC §9.2): which inputs to use (``in_index``,
``input_transform``), ``conv_seg``, the loss entries of ``loss_decode`` (same-named losses are
summed) plus ``acc_seg``, the optional pixel sampler (OHEM), and the binary
``out_channels=1`` + ``threshold`` setup.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers import resize
from segwright.models.utils import BaseModule
from segwright.registry import MODELS, TASK_UTILS, build_if_dict
from segwright.structures import SegDataSample
from segwright.utils.errors import ConfigError, DatasetError

INPUT_TRANSFORMS = (None, "resize_concat", "multiple_select")


class BaseDecodeHead(BaseModule):
    """Base class of decode heads.

    Args:
        in_channels: Input channels (a list for ``resize_concat``/``multiple_select``).
        channels: Channels after the head's own layers (input of ``conv_seg``).
        num_classes: Number of classes (2 or more; a binary task is ``num_classes=2``).
        out_channels: Output channels: ``num_classes`` (default) or 1 for binary segmentation
            with a sigmoid loss and ``threshold``.
        threshold: Sigmoid threshold of the binary case (default 0.3 when ``out_channels=1``).
        dropout_ratio: ``Dropout2d`` before ``conv_seg`` (0: none).
        conv_cfg, norm_cfg, act_cfg: Layer configs of the head's ConvModules.
        in_index: Which backbone output(s) to use.
        input_transform: None (one map), ``'resize_concat'`` (resize the selected maps to the
            first one's size and concatenate) or ``'multiple_select'`` (a list of maps).
        loss_decode: A loss config/module, or a list of them.
        ignore_index: Label value left out of losses and accuracy.
        sampler: Pixel sampler config (e.g. ``dict(type='OHEMPixelSampler', thresh=0.7)``).
        align_corners: ``align_corners`` of every bilinear resize.
        init_cfg: Default: ``conv_seg`` ~ Normal(0, 0.01), bias 0.
    """

    def __init__(
        self,
        in_channels: int | Sequence[int],
        channels: int,
        *,
        num_classes: int,
        out_channels: int | None = None,
        threshold: float | None = None,
        dropout_ratio: float = 0.1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = dict(type="ReLU"),  # noqa: B006 - MMSeg default
        in_index: int | Sequence[int] = -1,
        input_transform: str | None = None,
        loss_decode: Any = dict(  # noqa: B006 - MMSeg default
            type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0
        ),
        ignore_index: int = 255,
        sampler: Any = None,
        align_corners: bool = False,
        init_cfg: Any = dict(type="Normal", std=0.01, override=dict(name="conv_seg")),  # noqa: B006
    ) -> None:
        super().__init__(init_cfg)
        head = type(self).__name__
        self._init_inputs(in_channels, in_index, input_transform)
        self.channels = channels
        self.dropout_ratio = dropout_ratio
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.ignore_index = ignore_index
        self.align_corners = align_corners
        self.num_classes = num_classes

        if num_classes == 1:
            raise ConfigError(
                f"{head}: num_classes=1 is not a binary setup (the background would be no class "
                "at all). For binary segmentation set num_classes=2, out_channels=1 and a "
                "sigmoid loss, e.g. loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True), "
                "optionally threshold=0.5 (mmsegmentation#2201)."
            )
        if out_channels is None:
            if num_classes == 2:
                warnings.warn(
                    "For binary segmentation, consider out_channels=1 with a sigmoid loss and a "
                    "threshold to turn seg_logits into a prediction.",
                    stacklevel=2,
                )
            out_channels = num_classes
        if out_channels != num_classes and out_channels != 1:
            raise ConfigError(
                f"{head}: out_channels must equal num_classes, or be 1 for binary segmentation "
                f"with num_classes=2; got out_channels={out_channels} and "
                f"num_classes={num_classes}."
            )
        if out_channels == 1 and threshold is None:
            threshold = 0.3
            warnings.warn(
                "threshold is not set for binary segmentation (out_channels=1); using 0.3.",
                stacklevel=2,
            )
        self.out_channels = out_channels
        self.threshold = threshold

        if isinstance(loss_decode, (Mapping, nn.Module)):
            self.loss_decode = build_if_dict(loss_decode, MODELS, key="loss_decode")
        elif isinstance(loss_decode, (list, tuple)):
            self.loss_decode = nn.ModuleList(
                build_if_dict(cfg, MODELS, key=f"loss_decode[{i}]")
                for i, cfg in enumerate(loss_decode)
            )
        else:
            raise ConfigError(
                f"{head}: loss_decode must be a dict or a list of dicts, got "
                f"{type(loss_decode).__name__}: {loss_decode!r}."
            )
        _warn_about_unused_loss_names(self.loss_decode, head)
        if sampler is not None:
            sampler = build_if_dict(sampler, TASK_UTILS, key="sampler", context=self)
        self.sampler = sampler

        self.conv_seg = nn.Conv2d(channels, self.out_channels, kernel_size=1)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else None

    def extra_repr(self) -> str:
        return (
            f"input_transform={self.input_transform}, ignore_index={self.ignore_index}, "
            f"align_corners={self.align_corners}"
        )

    def _init_inputs(
        self,
        in_channels: int | Sequence[int],
        in_index: int | Sequence[int],
        input_transform: str | None,
    ) -> None:
        head = type(self).__name__
        if input_transform not in INPUT_TRANSFORMS:
            raise ConfigError(
                f"{head}: input_transform must be None, 'resize_concat' or 'multiple_select', "
                f"got {input_transform!r}."
            )
        self.input_transform = input_transform
        self.in_index = in_index
        if input_transform is None:
            if not isinstance(in_channels, int) or not isinstance(in_index, int):
                raise ConfigError(
                    f"{head}: without input_transform, in_channels and in_index must be ints "
                    f"(got in_channels={in_channels!r}, in_index={in_index!r}); for several "
                    "inputs set input_transform='resize_concat' or 'multiple_select'."
                )
            self.in_channels: int | list[int] = in_channels
            return
        if not isinstance(in_channels, (list, tuple)) or not isinstance(in_index, (list, tuple)):
            raise ConfigError(
                f"{head}: input_transform={input_transform!r} needs lists for in_channels and "
                f"in_index, got in_channels={in_channels!r}, in_index={in_index!r}."
            )
        if len(in_channels) != len(in_index):
            raise ConfigError(
                f"{head}: in_channels {list(in_channels)} and in_index {list(in_index)} must "
                "have the same length."
            )
        self.in_index = list(in_index)
        if input_transform == "resize_concat":
            self.in_channels = sum(in_channels)
        else:
            self.in_channels = list(in_channels)

    def _transform_inputs(self, inputs: Sequence[torch.Tensor]) -> Any:
        """Select (and for ``resize_concat`` resize and concatenate) the head's inputs."""
        if self.input_transform == "resize_concat":
            maps = [inputs[i] for i in self.in_index]  # type: ignore[union-attr]
            size = maps[0].shape[2:]
            maps = [
                resize(m, size=size, mode="bilinear", align_corners=self.align_corners)
                for m in maps
            ]
            return torch.cat(maps, dim=1)
        if self.input_transform == "multiple_select":
            return [inputs[i] for i in self.in_index]  # type: ignore[union-attr]
        return inputs[self.in_index]  # type: ignore[index]

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits ``(N, out_channels, h, w)`` from the multi-level features."""
        raise NotImplementedError

    def cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        """Dropout (if any) then the 1x1 ``conv_seg`` classifier."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.conv_seg(feat)

    # -- training ----------------------------------------------------------------------------

    def loss(
        self,
        inputs: Sequence[torch.Tensor],
        batch_data_samples: Sequence[SegDataSample],
        train_cfg: Any = None,
    ) -> dict[str, torch.Tensor]:
        """Forward, then the losses against the samples' ``gt_sem_seg``."""
        return self.loss_by_feat(self.forward(inputs), batch_data_samples)

    @staticmethod
    def _stack_batch_gt(batch_data_samples: Sequence[SegDataSample]) -> torch.Tensor:
        labels = []
        for i, sample in enumerate(batch_data_samples):
            gt = getattr(sample, "gt_sem_seg", None)
            if gt is None:
                raise DatasetError(
                    f"Training sample {i} has no gt_sem_seg. The training pipeline must load "
                    "the annotation (LoadAnnotations) and pack it (PackSegInputs)."
                )
            labels.append(gt.data)
        return torch.stack(labels, dim=0).long()

    def loss_by_feat(
        self, seg_logits: torch.Tensor, batch_data_samples: Sequence[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        """Losses of logits against labels (logits resized to the label size first).

        Returns:
            ``{loss_name: value, ..., 'acc_seg': percent}``; entries with the same
            ``loss_name`` are summed. With ``out_channels=1``, ``acc_seg`` scores
            ``sigmoid(logits) > threshold`` against the labels.
        """
        from segwright.models.losses import accuracy

        seg_label = self._stack_batch_gt(batch_data_samples)
        seg_logits = resize(
            seg_logits, size=seg_label.shape[2:], mode="bilinear", align_corners=self.align_corners
        )
        seg_weight = self.sampler.sample(seg_logits, seg_label) if self.sampler else None
        seg_label = seg_label.squeeze(1)
        losses: dict[str, torch.Tensor] = {}
        modules = (
            self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) else [self.loss_decode]
        )
        for module in modules:
            value = module(seg_logits, seg_label, weight=seg_weight, ignore_index=self.ignore_index)
            name = module.loss_name
            losses[name] = losses[name] + value if name in losses else value
        scores = seg_logits
        if self.out_channels == 1:
            # One channel's top-1 is always class 0, so accuracy() on the logits would report
            # the share of background pixels (what MMSeg 1.2.2 logs); score the thresholded
            # prediction, as predict_by_feat/postprocessing produce it, instead.
            foreground = (seg_logits.detach().sigmoid() > self.threshold).float()
            scores = torch.cat([1 - foreground, foreground], dim=1)
        losses["acc_seg"] = accuracy(scores, seg_label, ignore_index=self.ignore_index)
        return losses

    # -- inference ---------------------------------------------------------------------------

    def predict(
        self,
        inputs: Sequence[torch.Tensor],
        batch_img_metas: Sequence[Mapping[str, Any]],
        test_cfg: Any = None,
    ) -> torch.Tensor:
        """Logits resized to the (padded) image size of the metas."""
        return self.predict_by_feat(self.forward(inputs), batch_img_metas)

    def predict_by_feat(
        self, seg_logits: torch.Tensor, batch_img_metas: Sequence[Mapping[str, Any]]
    ) -> torch.Tensor:
        """Resize logits to ``pad_shape`` (else ``img_shape``) of the first meta, as MMSeg does."""
        meta = batch_img_metas[0]
        if isinstance(meta.get("img_shape"), torch.Size):
            size = meta["img_shape"]
        elif meta.get("pad_shape") is not None:
            size = meta["pad_shape"][:2]
        else:
            size = meta["img_shape"][:2]
        return resize(seg_logits, size=size, mode="bilinear", align_corners=self.align_corners)


def _warn_about_unused_loss_names(loss_decode: nn.Module, head: str) -> None:
    """The total loss sums only entries whose name contains 'loss' (SPEC §9.4): say so early."""
    modules = loss_decode if isinstance(loss_decode, nn.ModuleList) else [loss_decode]
    for module in modules:
        name = getattr(module, "loss_name", "")
        if "loss" not in name:
            warnings.warn(
                f"{head}: loss_name={name!r} of {type(module).__name__} does not contain 'loss', "
                "so it is logged but left out of the total loss and never trained on (MMSeg "
                f"sums only names containing 'loss'). Rename it, e.g. loss_name='loss_{name}'.",
                UserWarning,
                stacklevel=3,
            )
