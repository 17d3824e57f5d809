"""mmpretrain's ``PoolFormer`` backbone (MetaFormer with pooling token mixers), with its
arguments and keys.

MMSeg's configs name it ``mmpretrain.PoolFormer``; the ``mmpretrain.`` scope prefix reads
segwright's shared table, so that name builds this class (no mmpretrain install needed).

Keys: ``patch_embed.proj`` (the stem conv), ``network.{k}``: even ``k`` are stages of blocks
(``network.{k}.{j}``: ``norm1``, ``norm2`` (GroupNorm), ``mlp.fc1``, ``mlp.fc2``,
``layer_scale_1``, ``layer_scale_2``), odd ``k`` the downsampling embeddings (``proj``);
``norm{k}`` for each returned entry of ``network``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.utils import freeze
from segwright.models.layers import build_activation_layer, build_norm_layer
from segwright.models.layers.drop import DropPath
from segwright.models.utils import BaseModule, ModuleList, Sequential
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_GN1 = dict(type="GN", num_groups=1)
_GELU = dict(type="GELU")


class PatchEmbed(nn.Module):
    """A strided conv ``proj`` (no norm): the stem, and the downsampling between stages."""

    def __init__(
        self,
        patch_size: int = 16,
        stride: int = 16,
        padding: int = 0,
        in_chans: int = 3,
        embed_dim: int = 768,
        norm_layer: Any = None,
    ) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride=stride, padding=padding)
        self.norm = norm_layer(embed_dim) if norm_layer else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x))


class Pooling(nn.Module):
    """Token mixer: ``avgpool(x) - x`` (padding not counted in the average)."""

    def __init__(self, pool_size: int = 3) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(
            pool_size, stride=1, padding=pool_size // 2, count_include_pad=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x) - x


class Mlp(nn.Module):
    """1x1 conv -> act -> dropout -> 1x1 conv -> dropout."""

    def __init__(
        self,
        in_features: int,
        hidden_features: int | None = None,
        out_features: int | None = None,
        act_cfg: Mapping[str, Any] = _GELU,
        drop: float = 0.0,
    ) -> None:
        super().__init__()
        hidden = hidden_features or in_features
        self.fc1 = nn.Conv2d(in_features, hidden, 1)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Conv2d(hidden, out_features or in_features, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class PoolFormerBlock(BaseModule):
    """``x + s1 * pool(norm1(x))``, then ``x + s2 * mlp(norm2(x))``."""

    def __init__(
        self,
        dim: int,
        pool_size: int = 3,
        mlp_ratio: float = 4.0,
        norm_cfg: Mapping[str, Any] = _GN1,
        act_cfg: Mapping[str, Any] = _GELU,
        drop: float = 0.0,
        drop_path: float = 0.0,
        layer_scale_init_value: float = 1e-5,
    ) -> None:
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, dim)[1]
        self.token_mixer = Pooling(pool_size)
        self.norm2 = build_norm_layer(norm_cfg, dim)[1]
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_cfg=act_cfg, drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.layer_scale_1 = nn.Parameter(torch.full((dim,), float(layer_scale_init_value)))
        self.layer_scale_2 = nn.Parameter(torch.full((dim,), float(layer_scale_init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale_1 = self.layer_scale_1[:, None, None]
        scale_2 = self.layer_scale_2[:, None, None]
        x = x + self.drop_path(scale_1 * self.token_mixer(self.norm1(x)))
        return x + self.drop_path(scale_2 * self.mlp(self.norm2(x)))


@MODELS.register_module()
class PoolFormer(BaseModule):
    """PoolFormer: a conv stem, then stages of pooling blocks with strided-conv downsampling
    between them. ``network`` interleaves stages (even entries) and downsamplings (odd), and
    ``out_indices`` index ``network`` (``(0, 2, 4, 6)``: the four stages).

    Args:
        arch: ``'s12'``, ``'s24'``, ``'s36'``, ``'m36'``, ``'m48'`` or a dict with ``layers``,
            ``embed_dims`` and optionally ``mlp_ratios``, ``layer_scale_init_value``.
        pool_size: Pooling window of the token mixers.
        norm_cfg, act_cfg: Block norm (GroupNorm of one group) and MLP activation.
        in_patch_size, in_stride, in_pad: Stem conv.
        down_patch_size, down_stride, down_pad: Downsampling convs.
        drop_rate: MLP dropout; ``drop_path_rate``: stochastic depth (linear over all blocks).
        out_indices: Entries of ``network`` returned (negative: ``7 + index``, mmpretrain's).
        frozen_stages: ``>= 0`` freezes the stem and the first ``frozen_stages`` entries.
        init_cfg: Initialisation config.

    Shapes:
        ``(N, 3, H, W)`` -> tuple of ``(N, C_k, H / s_k, W / s_k)``, one per ``out_indices``.
    """

    arch_settings: dict[str, dict[str, Any]] = {
        "s12": dict(layers=[2, 2, 6, 2], embed_dims=[64, 128, 320, 512], layer_scale_init_value=1e-5),
        "s24": dict(layers=[4, 4, 12, 4], embed_dims=[64, 128, 320, 512], layer_scale_init_value=1e-5),
        "s36": dict(layers=[6, 6, 18, 6], embed_dims=[64, 128, 320, 512], layer_scale_init_value=1e-6),
        "m36": dict(layers=[6, 6, 18, 6], embed_dims=[96, 192, 384, 768], layer_scale_init_value=1e-6),
        "m48": dict(layers=[8, 8, 24, 8], embed_dims=[96, 192, 384, 768], layer_scale_init_value=1e-6),
    }  # fmt: skip

    def __init__(
        self,
        arch: str | Mapping[str, Any] = "s12",
        pool_size: int = 3,
        norm_cfg: Mapping[str, Any] = _GN1,
        act_cfg: Mapping[str, Any] = _GELU,
        in_patch_size: int = 7,
        in_stride: int = 4,
        in_pad: int = 2,
        down_patch_size: int = 3,
        down_stride: int = 2,
        down_pad: int = 1,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        out_indices: int | Sequence[int] = -1,
        frozen_stages: int = 0,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_settings:
                raise ConfigError(
                    f"PoolFormer arch {arch!r} is unknown; use one of "
                    f"{sorted(self.arch_settings)} or dict(layers=[...], embed_dims=[...])."
                )
            arch = self.arch_settings[arch]
        elif not isinstance(arch, Mapping) or not {"layers", "embed_dims"} <= set(arch):
            raise ConfigError(f"PoolFormer arch dict needs 'layers' and 'embed_dims': {arch!r}.")
        layers = list(arch["layers"])
        dims = list(arch["embed_dims"])
        mlp_ratios = list(arch.get("mlp_ratios", [4, 4, 4, 4]))
        scale = float(arch.get("layer_scale_init_value", 1e-5))
        self.patch_embed = PatchEmbed(in_patch_size, in_stride, in_pad, 3, dims[0])
        total = sum(layers)
        network: list[nn.Module] = []
        strides, channels = [], []
        stride, cur = in_stride, 0
        for i, depth in enumerate(layers):
            # stochastic depth rises linearly from 0 to drop_path_rate over all blocks
            rates = [drop_path_rate * (cur + j) / max(total - 1, 1) for j in range(depth)]
            network.append(
                Sequential(
                    *(
                        PoolFormerBlock(
                            dims[i],
                            pool_size=pool_size,
                            mlp_ratio=mlp_ratios[i],
                            norm_cfg=norm_cfg,
                            act_cfg=act_cfg,
                            drop=drop_rate,
                            drop_path=rates[j],
                            layer_scale_init_value=scale,
                        )  # fmt: skip
                        for j in range(depth)
                    )
                )
            )
            strides.append(stride)
            channels.append(dims[i])
            cur += depth
            if i == len(layers) - 1:
                break
            if dims[i] != dims[i + 1]:
                network.append(
                    PatchEmbed(down_patch_size, down_stride, down_pad, dims[i], dims[i + 1])
                )
                stride *= down_stride
                strides.append(stride)
                channels.append(dims[i + 1])
        self.network = ModuleList(network)
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        indices = [7 + i if i < 0 else i for i in indices]
        if any(not 0 <= i < len(network) for i in indices):
            raise ConfigError(
                f"PoolFormer out_indices {out_indices} must index its {len(network)} "
                "network entries (stages and downsamplings)."
            )
        self.out_indices = indices
        for i in indices:
            self.add_module(f"norm{i}", build_norm_layer(norm_cfg, dims[(i + 1) // 2])[1])
        self.frozen_stages = frozen_stages
        returned = [i for i in range(len(network)) if i in indices]
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(channels[i] for i in returned)
        self.out_strides = tuple(strides[i] for i in returned)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen: list[nn.Module] = [self.patch_embed]
        for i in range(self.frozen_stages):
            frozen.append(self.network[i])
            if i in self.out_indices:
                frozen.append(getattr(self, f"norm{i}"))
        freeze(*frozen)

    def train(self, mode: bool = True) -> PoolFormer:
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.patch_embed(x)
        outs = []
        for i, block in enumerate(self.network):
            x = block(x)
            if i in self.out_indices:
                outs.append(getattr(self, f"norm{i}")(x))
        return tuple(outs)
