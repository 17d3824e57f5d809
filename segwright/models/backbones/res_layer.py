"""``ResLayer``: one ResNet stage (a downsample path plus ``num_blocks`` residual blocks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from segwright.models.layers import build_conv_layer, build_norm_layer
from segwright.models.utils import Sequential


class ResLayer(Sequential):
    """A ResNet stage.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        inplanes: Input channels.
        planes: Block width; output channels are ``planes * block.expansion``.
        num_blocks: Blocks in the stage.
        stride: Stride of the first block.
        dilation: Dilation of the blocks.
        avg_down: Downsample with an AvgPool then a stride-1 1x1 conv (ResNetV1d), whose keys
            are ``downsample.1``/``downsample.2``.
        multi_grid: Per-block dilations of this stage (used as given, as MMSeg does).
        contract_dilation: The first block uses ``dilation // 2`` when ``dilation > 1``.
        **kwargs: Passed to every block.
    """

    def __init__(
        self,
        block: type[nn.Module],
        inplanes: int,
        planes: int,
        num_blocks: int,
        stride: int = 1,
        dilation: int = 1,
        avg_down: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = dict(type="BN"),  # noqa: B006 - MMSeg default
        multi_grid: Sequence[int] | None = None,
        contract_dilation: bool = False,
        **kwargs: Any,
    ) -> None:
        expansion = block.expansion  # type: ignore[attr-defined]
        downsample = None
        if stride != 1 or inplanes != planes * expansion:
            parts: list[nn.Module] = []
            conv_stride = stride
            if avg_down:
                conv_stride = 1
                parts.append(
                    nn.AvgPool2d(stride, stride=stride, ceil_mode=True, count_include_pad=False)
                )
            parts.append(
                build_conv_layer(
                    conv_cfg, inplanes, planes * expansion, 1, stride=conv_stride, bias=False
                )
            )
            parts.append(build_norm_layer(norm_cfg, planes * expansion)[1])
            downsample = nn.Sequential(*parts)

        if multi_grid is None:
            first = dilation // 2 if dilation > 1 and contract_dilation else dilation
            dilations = [first] + [dilation] * (num_blocks - 1)
        else:
            dilations = list(multi_grid)
        blocks = [
            block(
                inplanes=inplanes if i == 0 else planes * expansion,
                planes=planes,
                stride=stride if i == 0 else 1,
                dilation=dilations[i],
                downsample=downsample if i == 0 else None,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                **kwargs,
            )
            for i in range(num_blocks)
        ]
        super().__init__(*blocks)
