"""Building blocks with MMCV's names: conv/norm/activation builders, ConvModule, resize, and
the transformer blocks backbones and heads share (attention, FFN, encoder layer, DropPath)."""

from segwright.models.layers.activation import ACTIVATIONS, build_activation_layer
from segwright.models.layers.attention import EfficientMultiheadAttention, MultiheadAttention
from segwright.models.layers.checkpoint import checkpointed
from segwright.models.layers.conv import (
    CONVS,
    ConvModule,
    DepthwiseSeparableConvModule,
    build_conv_layer,
    build_padding_layer,
)
from segwright.models.layers.drop import DropPath, build_dropout, drop_path_rates
from segwright.models.layers.norm import NORMS, build_norm_layer, infer_abbr, is_norm
from segwright.models.layers.shape_convert import nchw_to_nlc, nlc_to_nchw
from segwright.models.layers.transformer import (
    FFN,
    TransformerEncoderLayer,
    transformer_encoder_layers,
)
from segwright.models.layers.upsample import Upsample
from segwright.models.layers.wrappers import resize

__all__ = [
    "ACTIVATIONS",
    "CONVS",
    "FFN",
    "NORMS",
    "ConvModule",
    "DepthwiseSeparableConvModule",
    "DropPath",
    "EfficientMultiheadAttention",
    "MultiheadAttention",
    "TransformerEncoderLayer",
    "Upsample",
    "build_activation_layer",
    "build_conv_layer",
    "build_dropout",
    "build_norm_layer",
    "build_padding_layer",
    "checkpointed",
    "drop_path_rates",
    "infer_abbr",
    "is_norm",
    "nchw_to_nlc",
    "nlc_to_nchw",
    "resize",
    "transformer_encoder_layers",
]
