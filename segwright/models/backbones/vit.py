"""The plain ``VisionTransformer`` backbone (ViT/DeiT) with MMSeg's arguments and keys.

Keys: ``patch_embed.projection`` (a stride-``patch_size`` conv), ``cls_token``, ``pos_embed``
(``1 + (H/p)*(W/p)`` tokens of the training size ``img_size``), optionally ``ln_pre``, the
encoder blocks ``layers.{i}`` (``ln1``, ``attn.attn.in_proj_weight``/``attn.attn.out_proj``,
``ln2``, ``ffn.layers.0.0`` and ``ffn.layers.1``: MMCV's ``MultiheadAttention``/``FFN``
layout) and, with ``final_norm``, ``ln1`` after the last block.

Inputs of another size than ``img_size`` get the position embedding resized (bicubic by
default) to their token grid; the class-token entry is kept as is.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.utils import NormEvalMixin, PatchEmbed
from segwright.models.layers import build_norm_layer, resize
from segwright.models.layers.transformer import transformer_encoder_layers
from segwright.models.utils import BaseModule
from segwright.models.utils.pretrained import init_cfg_from_pretrained
from segwright.models.utils.weight_init import constant_init, kaiming_init, trunc_normal_init
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

logger = logging.getLogger(__name__)

_LN = dict(type="LN")
_GELU = dict(type="GELU")


def img_size_pair(img_size: int | Sequence[int], owner: str) -> tuple[int, int]:
    """``img_size`` as ``(H, W)`` (an int or a one-element sequence is square)."""
    size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
    if len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2:
        raise ConfigError(f"{owner} img_size must be an int or a pair, got {size}.")
    return size  # type: ignore[return-value]


def block_indices(out_indices: int | Sequence[int], num_layers: int, owner: str) -> list[int]:
    """The encoder blocks whose outputs are returned (``-1``: the last one)."""
    if isinstance(out_indices, int):
        out_indices = [num_layers - 1 if out_indices == -1 else out_indices]
    indices = list(out_indices)
    if any(not 0 <= i < num_layers for i in indices):
        raise ConfigError(f"{owner} out_indices {indices} must name blocks 0..{num_layers - 1}.")
    return indices


def vit_default_init(module: nn.Module) -> None:
    """MMSeg's ViT/BEiT init without ``init_cfg``: truncated-normal Linear layers (FFN biases
    ~N(0, 1e-6), others 0), fan-in Kaiming convs, unit norms."""
    for name, m in module.named_modules():
        if isinstance(m, nn.Linear):
            trunc_normal_init(m, std=0.02)
            if m.bias is not None:
                if "ffn" in name:
                    nn.init.normal_(m.bias, mean=0.0, std=1e-6)
                else:
                    nn.init.constant_(m.bias, 0.0)
        elif isinstance(m, nn.Conv2d):
            kaiming_init(m, mode="fan_in", bias=0.0)
        elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)):
            constant_init(m, val=1.0, bias=0.0)


def pretrained_state(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The weights ``init_cfg=dict(type='Pretrained'|'Pretrained_Part', checkpoint=...)`` names
    (``Pretrained_Part``: those under ``image_encoder.``, prefix dropped)."""
    from segwright.engine.checkpoint import extract_state_dict, read_checkpoint  # a floor below

    if not cfg.get("checkpoint"):
        raise ConfigError(f"init_cfg {dict(cfg)!r} needs checkpoint='path/to/file.pth'.")
    raw = read_checkpoint(cfg["checkpoint"], "cpu")
    if cfg["type"] != "Pretrained_Part":
        return extract_state_dict(raw)
    prefix = "image_encoder."
    return {k[len(prefix) :]: v for k, v in raw.items() if k.startswith(prefix)}


def load_pretrained_state(module: nn.Module, state: Mapping[str, Any], checkpoint: str) -> None:
    """Copy what fits of ``state`` into ``module`` and log what did not."""
    from segwright.engine.checkpoint import load_state_dict  # a floor below

    report = load_state_dict(module, state)
    logger.info("Loaded %s into %s: %s", checkpoint, type(module).__name__, report.summary())


def resize_pos_embed(
    pos_embed: torch.Tensor,
    input_shape: tuple[int, int],
    pos_shape: tuple[int, int],
    mode: str,
) -> torch.Tensor:
    """Resize a ``(1, 1 + h*w, C)`` position embedding to another token grid.

    The first (class-token) entry is kept; the last ``h*w`` entries, seen as an ``h x w``
    map, are interpolated to ``input_shape``.

    Shapes:
        ``(1, L, C)`` -> ``(1, 1 + input_shape[0] * input_shape[1], C)``.
    """
    if pos_embed.ndim != 3:
        raise ValueError(f"pos_embed must be (1, L, C), got shape {tuple(pos_embed.shape)}.")
    pos_h, pos_w = pos_shape
    cls_entry = pos_embed[:, :1]
    grid = pos_embed[:, -pos_h * pos_w :]
    grid = grid.reshape(1, pos_h, pos_w, pos_embed.shape[2]).permute(0, 3, 1, 2)
    grid = resize(grid, size=input_shape, align_corners=False, mode=mode)
    return torch.cat((cls_entry, grid.flatten(2).transpose(1, 2)), dim=1)


@MODELS.register_module()
class VisionTransformer(NormEvalMixin, BaseModule):
    """ViT: non-overlapping patch tokens, a class token, learned positions, encoder blocks.

    Args:
        img_size: Training size (int or pair) that ``pos_embed`` is laid out for.
        patch_size: Patch (and stride) of the embedding conv.
        patch_pad: Padding of the embedding conv (``'corner'``: bottom/right as needed).
        in_channels: Input channels.
        embed_dims, num_layers, num_heads, mlp_ratio: Width, depth, heads, FFN ratio.
        out_origin: Also return the embedded tokens before the first block.
        out_indices: Blocks whose outputs are returned (-1: the last).
        qkv_bias: Attention projection biases.
        drop_rate, attn_drop_rate, drop_path_rate: Dropouts; stochastic depth rises
            linearly from 0 over the blocks.
        with_cls_token: Keep the class token in the encoder's input.
        output_cls_token: Return ``[feature, cls_token]`` pairs (needs ``with_cls_token``).
        norm_cfg, act_cfg: Token norm and FFN activation.
        patch_norm, patch_bias: Norm after / bias of the embedding conv.
        pre_norm: A norm (``ln_pre``) before the first block.
        final_norm: A norm (``ln1``) after the last block.
        interpolate_mode: How ``pos_embed`` is resized for other input sizes.
        num_fcs: Linear layers per FFN.
        norm_eval: Keep norm layers in eval mode while training.
        with_cp: Gradient checkpointing in the blocks.
        frozen_exclude: Parameter-name fragments left trainable; ``['all']`` freezes nothing.
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_cfg: Initialisation; a ``Pretrained``/``Pretrained_Part`` checkpoint gets its
            ``pos_embed`` resized to ``img_size``.

    Shapes:
        ``(N, in_channels, H, W)`` -> tuple of ``(N, embed_dims, ceil(H/p), ceil(W/p))``.
    """

    norm_eval_types = (nn.LayerNorm,)

    def __init__(
        self,
        img_size: int | Sequence[int] = 224,
        patch_size: int = 16,
        patch_pad: str | int = "corner",
        in_channels: int = 3,
        embed_dims: int = 768,
        num_layers: int = 12,
        num_heads: int = 12,
        mlp_ratio: int = 4,
        out_origin: bool = False,
        out_indices: int | Sequence[int] = -1,
        qkv_bias: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        with_cls_token: bool = True,
        output_cls_token: bool = False,
        norm_cfg: Mapping[str, Any] = _LN,
        act_cfg: Mapping[str, Any] = _GELU,
        patch_norm: bool = False,
        patch_bias: bool = False,
        pre_norm: bool = False,
        final_norm: bool = False,
        interpolate_mode: str = "bicubic",
        num_fcs: int = 2,
        norm_eval: bool = False,
        with_cp: bool = False,
        frozen_exclude: Sequence[str] = ("all",),
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        img_size = img_size_pair(img_size, "VisionTransformer")
        if output_cls_token and not with_cls_token:
            raise ConfigError("VisionTransformer output_cls_token=True needs with_cls_token=True.")
        self.init_cfg = init_cfg_from_pretrained("VisionTransformer", pretrained, self.init_cfg)
        self.out_indices = block_indices(out_indices, num_layers, "VisionTransformer")
        self.img_size = img_size
        self.patch_size = patch_size
        self.interpolate_mode = interpolate_mode
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.out_origin = out_origin
        self.frozen_exclude = list(frozen_exclude)
        self.with_cls_token = with_cls_token
        self.output_cls_token = output_cls_token
        self.patch_embed = PatchEmbed(
            in_channels=in_channels, embed_dims=embed_dims, conv_type="Conv2d",
            kernel_size=patch_size, stride=patch_size, padding=patch_pad, bias=patch_bias,
            norm_cfg=norm_cfg if patch_norm else None,
        )  # fmt: skip
        num_patches = (img_size[0] // patch_size) * (img_size[1] // patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dims))
        self.drop_after_pos = nn.Dropout(p=drop_rate)
        self.pre_norm = pre_norm
        if pre_norm:
            self.pre_ln_name, pre_ln = build_norm_layer(norm_cfg, embed_dims, postfix="_pre")
            self.add_module(self.pre_ln_name, pre_ln)
        self.layers = transformer_encoder_layers(
            num_layers, drop_path_rate, embed_dims=embed_dims, num_heads=num_heads,
            feedforward_channels=mlp_ratio * embed_dims, attn_drop_rate=attn_drop_rate,
            drop_rate=drop_rate, num_fcs=num_fcs, qkv_bias=qkv_bias, act_cfg=act_cfg,
            norm_cfg=norm_cfg, with_cp=with_cp, batch_first=True,
        )  # fmt: skip
        self.final_norm = final_norm
        if final_norm:
            self.norm1_name, norm1 = build_norm_layer(norm_cfg, embed_dims, postfix=1)
            self.add_module(self.norm1_name, norm1)
        outputs = len(self.out_indices) + int(out_origin)
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = (embed_dims,) * outputs
        self.out_strides = (patch_size,) * outputs
        self._freeze()

    @property
    def pre_ln(self) -> nn.Module:
        return getattr(self, self.pre_ln_name)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def _freeze(self) -> None:
        if "all" in self.frozen_exclude:
            return
        for name, param in self.named_parameters():
            if not any(part in name for part in self.frozen_exclude):
                param.requires_grad = False

    @property
    def _pos_grid(self) -> tuple[int, int]:
        return (self.img_size[0] // self.patch_size, self.img_size[1] // self.patch_size)

    def init_weights(self) -> None:
        """Pretrained weights (``pos_embed`` resized), other ``init_cfg`` rules, or MMSeg's
        default (truncated-normal tokens and Linear, fan-in Kaiming convs, unit norms)."""
        cfg = self.init_cfg
        if isinstance(cfg, Mapping) and cfg.get("type") in ("Pretrained", "Pretrained_Part"):
            self._load_pretrained(cfg)
            self._is_init = True
            return
        if cfg is not None or self._is_init:
            super().init_weights()
            return
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        vit_default_init(self)
        self._is_init = True

    def _load_pretrained(self, cfg: Mapping[str, Any]) -> None:
        state = pretrained_state(cfg)
        pos = state.get("pos_embed")
        if pos is not None and pos.shape != self.pos_embed.shape:
            side = int(math.sqrt(pos.shape[1] - 1))
            logger.info(
                "Resize the pos_embed shape from %s to %s", tuple(pos.shape), self.pos_embed.shape
            )
            state["pos_embed"] = resize_pos_embed(
                pos, self._pos_grid, (side, side), self.interpolate_mode
            )
        load_pretrained_state(self, state, cfg["checkpoint"])

    def _pos_embeding(self, tokens: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        """Add ``pos_embed`` (resized when the token grid is not the training one)."""
        pos_embed = self.pos_embed
        if tokens.shape[1] != pos_embed.shape[1]:
            pos_grid = self._pos_grid
            if pos_embed.shape[1] != pos_grid[0] * pos_grid[1] + 1:
                raise ValueError(f"Unexpected shape of pos_embed: {tuple(pos_embed.shape)}.")
            pos_embed = resize_pos_embed(pos_embed, hw_shape, pos_grid, self.interpolate_mode)
        return self.drop_after_pos(tokens + pos_embed)

    def _output(self, x: torch.Tensor, hw_shape: tuple[int, int]) -> Any:
        out = x[:, 1:] if self.with_cls_token else x
        n, _, c = out.shape
        out = out.reshape(n, hw_shape[0], hw_shape[1], c).permute(0, 3, 1, 2).contiguous()
        return [out, x[:, 0]] if self.output_cls_token else out

    def forward(self, inputs: torch.Tensor) -> tuple[Any, ...]:
        x, hw_shape = self.patch_embed(inputs)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = self._pos_embeding(x, hw_shape)
        if not self.with_cls_token:
            x = x[:, 1:]
        if self.pre_norm:
            x = self.pre_ln(x)
        outs = [self._output(x, hw_shape)] if self.out_origin else []
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == last and self.final_norm:
                x = self.norm1(x)
            if i in self.out_indices:
                outs.append(self._output(x, hw_shape))
        return tuple(outs)
