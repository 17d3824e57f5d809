"""Building blocks with MMCV's names: conv/norm/activation builders, ConvModule, resize."""

from segwright.models.layers.activation import ACTIVATIONS, build_activation_layer
from segwright.models.layers.conv import (
    CONVS,
    ConvModule,
    DepthwiseSeparableConvModule,
    build_conv_layer,
    build_padding_layer,
)
from segwright.models.layers.norm import NORMS, build_norm_layer, infer_abbr, is_norm
from segwright.models.layers.wrappers import resize

__all__ = [
    "ACTIVATIONS",
    "CONVS",
    "NORMS",
    "ConvModule",
    "DepthwiseSeparableConvModule",
    "build_activation_layer",
    "build_conv_layer",
    "build_norm_layer",
    "build_padding_layer",
    "infer_abbr",
    "is_norm",
    "resize",
]
