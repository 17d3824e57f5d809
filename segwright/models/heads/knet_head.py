"""K-Net's heads: ``IterativeDecodeHead``, ``KernelUpdateHead`` and ``KernelUpdator``.

A plain decode head (``kernel_generate_head``: FCN, PSP, ASPP or UPerHead) gives the first
masks; its ``conv_seg`` weights are the first kernels, one per class. Each of ``num_stages``
``KernelUpdateHead`` stages then gathers a feature per kernel under the softmax of the
current masks, updates the kernels (``KernelUpdator``'s gates, self-attention between the
kernels, an FFN) and convolves the features with them to give the next masks.

Keys follow MMSeg 1.2.2: ``kernel_generate_head.*``, ``kernel_update_head.{i}.attention.attn``
(MMCV's ``MultiheadAttention``), ``attention_norm``, ``kernel_update_conv.*``,
``feat_transform.conv``, ``ffn.layers.*``, ``ffn_norm``, ``mask_fcs.*`` and ``fc_mask``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, build_activation_layer, build_norm_layer
from segwright.models.layers.attention import MultiheadAttention
from segwright.models.layers.transformer import FFN
from segwright.models.utils import BaseModule
from segwright.registry import MODELS, build_if_dict
from segwright.structures import SegDataSample
from segwright.utils.errors import ConfigError

logger = logging.getLogger(__name__)

_LN = dict(type="LN")
_RELU = dict(type="ReLU", inplace=True)


@MODELS.register_module()
class KernelUpdator(BaseModule):
    """K-Net's gated kernel update (Eq. 4-5 of the paper).

    Args:
        in_channels: Width the gathered features and kernels are read in (both are reshaped
            to rows of this width).
        feat_channels: Width of the gates.
        out_channels: Output width (default ``in_channels``).
        gate_sigmoid: Squash the gates with a sigmoid.
        gate_norm_act: Norm and activation on the gate features.
        activate_out: Activation on both update terms.
        norm_cfg, act_cfg: Norm and activation layers.

    Shapes:
        ``update_feature`` (..., in_channels) rows P, ``input_feature`` (P, K*K, in_channels)
        after reshaping -> (P, K*K, out_channels).
    """

    def __init__(
        self,
        in_channels: int = 256,
        feat_channels: int = 64,
        out_channels: int | None = None,
        gate_sigmoid: bool = True,
        gate_norm_act: bool = False,
        activate_out: bool = False,
        norm_cfg: Mapping[str, Any] = _LN,
        act_cfg: Mapping[str, Any] = _RELU,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.out_channels_raw = out_channels
        self.gate_sigmoid = gate_sigmoid
        self.gate_norm_act = gate_norm_act
        self.activate_out = activate_out
        self.out_channels = out_channels or in_channels
        self.num_params_in = self.num_params_out = feat_channels
        self.dynamic_layer = nn.Linear(in_channels, 2 * feat_channels)
        self.input_layer = nn.Linear(in_channels, 2 * feat_channels)
        self.input_gate = nn.Linear(in_channels, feat_channels)
        self.update_gate = nn.Linear(in_channels, feat_channels)
        if gate_norm_act:
            self.gate_norm = build_norm_layer(norm_cfg, feat_channels)[1]
        self.norm_in = build_norm_layer(norm_cfg, feat_channels)[1]
        self.norm_out = build_norm_layer(norm_cfg, feat_channels)[1]
        self.input_norm_in = build_norm_layer(norm_cfg, feat_channels)[1]
        self.input_norm_out = build_norm_layer(norm_cfg, feat_channels)[1]
        self.activation = build_activation_layer(act_cfg)
        self.fc_layer = nn.Linear(feat_channels, self.out_channels)
        self.fc_norm = build_norm_layer(norm_cfg, self.out_channels)[1]

    def forward(self, update_feature: torch.Tensor, input_feature: torch.Tensor) -> torch.Tensor:
        """Gate the kernels (``input_feature``) with the gathered features."""
        update_feature = update_feature.reshape(-1, self.in_channels)
        rows = update_feature.size(0)
        params = self.dynamic_layer(update_feature)
        param_in = params[:, : self.num_params_in].view(-1, self.feat_channels)
        param_out = params[:, -self.num_params_out :].view(-1, self.feat_channels)
        # the kernels are read in rows of feat_channels, as MMSeg does
        inputs = self.input_layer(input_feature.reshape(rows, -1, self.feat_channels))
        input_in = inputs[..., : self.num_params_in]
        input_out = inputs[..., -self.num_params_out :]
        gate = input_in * param_in.unsqueeze(-2)
        if self.gate_norm_act:
            gate = self.activation(self.gate_norm(gate))
        input_gate = self.input_norm_in(self.input_gate(gate))
        update_gate = self.norm_in(self.update_gate(gate))
        if self.gate_sigmoid:
            input_gate, update_gate = input_gate.sigmoid(), update_gate.sigmoid()
        param_out = self.norm_out(param_out)
        input_out = self.input_norm_out(input_out)
        if self.activate_out:
            param_out, input_out = self.activation(param_out), self.activation(input_out)
        out = update_gate * param_out.unsqueeze(-2) + input_gate * input_out
        return self.activation(self.fc_norm(self.fc_layer(out)))


@MODELS.register_module()
class KernelUpdateHead(BaseModule):
    """One K-Net stage: update the kernels from the current masks, then predict new masks.

    Args:
        num_classes: Number of kernels (classes).
        num_ffn_fcs: Linear layers of the FFN.
        num_heads: Heads of the attention between kernels.
        num_mask_fcs: Linear-LN-activation triples before ``fc_mask``.
        feedforward_channels: FFN hidden width.
        in_channels: Feature (kernel) width.
        out_channels: Output width of ``fc_mask`` (equal to ``in_channels`` in K-Net).
        dropout: Dropout of the attention and the FFN.
        act_cfg, ffn_act_cfg: Activations of ``mask_fcs`` and of the FFN.
        conv_kernel_size: Kernel size K of the dynamic kernels.
        feat_transform_cfg: ConvModule arguments (plus ``kernel_size``) of a conv on the
            features before gathering; None: no conv.
        kernel_init: ``fc_mask`` ~ Normal(0, 0.01) in ``init_weights``.
        with_ffn: Use the FFN.
        feat_gather_stride: Stride of the feature transform.
        mask_transform_stride: 2: predict masks at half resolution, then upsample.
        kernel_updator_cfg: Config of the kernel updater (``KernelUpdator``).
    """

    def __init__(
        self,
        num_classes: int = 150,
        num_ffn_fcs: int = 2,
        num_heads: int = 8,
        num_mask_fcs: int = 3,
        feedforward_channels: int = 2048,
        in_channels: int = 256,
        out_channels: int = 256,
        dropout: float = 0.0,
        act_cfg: Mapping[str, Any] = _RELU,
        ffn_act_cfg: Mapping[str, Any] = _RELU,
        conv_kernel_size: int = 1,
        feat_transform_cfg: Mapping[str, Any] | None = None,
        kernel_init: bool = False,
        with_ffn: bool = True,
        feat_gather_stride: int = 1,
        mask_transform_stride: int = 1,
        kernel_updator_cfg: Any = dict(  # noqa: B006 - MMSeg default
            type="DynamicConv",
            in_channels=256,
            feat_channels=64,
            out_channels=256,
            act_cfg=_RELU,
            norm_cfg=_LN,
        ),  # fmt: skip
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.dropout = dropout
        self.num_heads = num_heads
        self.kernel_init = kernel_init
        self.with_ffn = with_ffn
        self.conv_kernel_size = conv_kernel_size
        self.feat_gather_stride = feat_gather_stride
        self.mask_transform_stride = mask_transform_stride
        width = in_channels * conv_kernel_size**2
        if width % num_heads:
            raise ConfigError(
                f"KernelUpdateHead: in_channels * conv_kernel_size**2 = {width} is not divisible "
                f"by num_heads={num_heads}."
            )
        self.attention = MultiheadAttention(width, num_heads, attn_drop=dropout, batch_first=True)
        self.attention_norm = build_norm_layer(_LN, width)[1]
        self.kernel_update_conv = build_if_dict(
            kernel_updator_cfg, MODELS, key="kernel_updator_cfg"
        )
        self.feat_transform: nn.Module | None = None
        if feat_transform_cfg is not None:
            conv_args = copy.deepcopy(dict(feat_transform_cfg))
            kernel_size = conv_args.pop("kernel_size", 1)
            self.feat_transform = ConvModule(
                in_channels, in_channels, kernel_size, stride=feat_gather_stride,
                padding=feat_gather_stride // 2, **conv_args,
            )  # fmt: skip
        if with_ffn:
            self.ffn = FFN(
                in_channels, feedforward_channels, num_ffn_fcs, act_cfg=ffn_act_cfg,
                ffn_drop=dropout,
            )  # fmt: skip
            self.ffn_norm = build_norm_layer(_LN, in_channels)[1]
        self.mask_fcs = nn.ModuleList()
        for _ in range(num_mask_fcs):
            self.mask_fcs.append(nn.Linear(in_channels, in_channels, bias=False))
            self.mask_fcs.append(build_norm_layer(_LN, in_channels)[1])
            self.mask_fcs.append(build_activation_layer(act_cfg))
        self.fc_mask = nn.Linear(in_channels, out_channels)

    def init_weights(self) -> None:
        """Xavier-uniform for every matrix (norms keep their defaults); optional ``fc_mask``."""
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)
        if self.kernel_init:
            logger.info("mask kernel in mask head is normal initialized by std 0.01")
            nn.init.normal_(self.fc_mask.weight, mean=0, std=0.01)
        self._is_init = True

    def forward(
        self,
        x: torch.Tensor,
        proposal_feat: torch.Tensor,
        mask_preds: torch.Tensor,
        mask_shape: tuple[int, int] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """New masks and kernels from features, kernels and the previous masks.

        Shapes:
            ``x`` (B, C, H, W), ``proposal_feat`` (B, N, C, K, K), ``mask_preds``
            (B, N, h, w) -> masks (B, N, H, W), kernels (B, N, C, K, K).
        """
        batch, num = proposal_feat.shape[:2]
        if self.feat_transform is not None:
            x = self.feat_transform(x)
        channels, height, width = x.shape[-3:]
        if mask_preds.shape[-2:] != (height, width):
            mask_preds = F.interpolate(
                mask_preds, (height, width), mode="bilinear", align_corners=False
            )
        weights = mask_preds.softmax(dim=1)
        gathered = torch.einsum("bnhw,bchw->bnc", weights, x)
        kernels = proposal_feat.reshape(batch, num, self.in_channels, -1).permute(0, 1, 3, 2)
        obj = self.kernel_update_conv(gathered, kernels).reshape(batch, num, -1)
        obj = self.attention_norm(self.attention(obj))
        obj = obj.reshape(batch, num, -1, self.in_channels)  # (B, N, K*K, C)
        if self.with_ffn:
            obj = self.ffn_norm(self.ffn(obj))
        mask_feat = obj
        for layer in self.mask_fcs:
            mask_feat = layer(mask_feat)
        mask_feat = self.fc_mask(mask_feat).permute(0, 1, 3, 2)
        if self.mask_transform_stride == 2 and self.feat_gather_stride == 1:
            mask_x = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
            height, width = mask_x.shape[-2:]
        else:
            mask_x = x
        size = self.conv_kernel_size
        mask_feat = mask_feat.reshape(batch, num, channels, size, size)
        masks = torch.cat(
            [F.conv2d(mask_x[i : i + 1], mask_feat[i], padding=size // 2) for i in range(batch)]
        ).reshape(batch, num, height, width)
        if self.mask_transform_stride == 2:
            masks = F.interpolate(masks, scale_factor=2, mode="bilinear", align_corners=False)
        if mask_shape is not None and mask_shape[0] != height:
            masks = F.interpolate(masks, mask_shape, mode="bilinear", align_corners=False)
        kernels = obj.permute(0, 1, 3, 2).reshape(batch, num, self.in_channels, size, size)
        return masks, kernels


@MODELS.register_module()
class IterativeDecodeHead(BaseDecodeHead):
    """K-Net's decode head: a kernel-generating head, then ``num_stages`` kernel updates.

    Args:
        num_stages: Number of ``KernelUpdateHead`` stages.
        kernel_generate_head: Config (or module) of the plain decode head that gives the
            first masks and, through its ``conv_seg``, the first kernels.
        kernel_update_head: One config (or module) per stage.
        init_cfg: Initialisation of this wrapper (the parts initialise themselves).

    Training returns every stage's logits (the generate head's first) and the losses are
    the generate head's, suffixed ``.s0`` .. ``.s{num_stages}``; eval returns the last.
    """

    def __init__(
        self,
        num_stages: int,
        kernel_generate_head: Any,
        kernel_update_head: Sequence[Any],
        init_cfg: Any = None,
    ) -> None:
        # The generate head owns inputs, classifier and losses: skip BaseDecodeHead's setup.
        BaseModule.__init__(self, init_cfg)
        if num_stages != len(kernel_update_head):
            raise ConfigError(
                f"IterativeDecodeHead: num_stages={num_stages} but kernel_update_head has "
                f"{len(kernel_update_head)} entries; give one per stage."
            )
        self.num_stages = num_stages
        self.kernel_generate_head = build_if_dict(
            kernel_generate_head, MODELS, key="kernel_generate_head"
        )
        generate = self.kernel_generate_head
        self.kernel_update_head = nn.ModuleList(
            build_if_dict(cfg, MODELS, key=f"kernel_update_head[{i}]")
            for i, cfg in enumerate(kernel_update_head)
        )
        self.align_corners = generate.align_corners
        self.num_classes = generate.num_classes
        self.input_transform = generate.input_transform
        self.ignore_index = generate.ignore_index
        self.out_channels = self.num_classes
        self.threshold = None

    def forward(self, inputs: Sequence[torch.Tensor]) -> Any:
        """Every stage's logits (training) or the last stage's ``(N, classes, h, w)``."""
        generate = self.kernel_generate_head
        feats = generate._forward_feature(inputs)
        seg = generate.cls_seg(feats)
        kernels = generate.conv_seg.weight.clone()
        kernels = kernels[None].expand(feats.size(0), *kernels.size())
        stage_segs = [seg]
        for stage in self.kernel_update_head:
            seg, kernels = stage(feats, kernels, seg)
            stage_segs.append(seg)
        return stage_segs if self.training else stage_segs[-1]

    def loss_by_feat(  # type: ignore[override]
        self, seg_logits: Sequence[torch.Tensor], batch_data_samples: Sequence[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        """The generate head's losses of each stage, keys suffixed ``.s{i}``."""
        losses: dict[str, torch.Tensor] = {}
        for i, logits in enumerate(seg_logits):
            stage = self.kernel_generate_head.loss_by_feat(logits, batch_data_samples)
            losses.update({f"{key}.s{i}": value for key, value in stage.items()})
        return losses

    def extra_repr(self) -> str:
        return f"num_stages={self.num_stages}"
