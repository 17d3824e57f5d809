"""Decode heads. Importing this package registers them in MODELS."""

from segwright.models.heads.aspp_head import ASPPHead, ASPPModule
from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.heads.fcn_head import FCNHead
from segwright.models.heads.psp_head import PPM, PSPHead
from segwright.models.heads.segformer_head import SegformerHead
from segwright.models.heads.sep_aspp_head import (
    DepthwiseSeparableASPPHead,
    DepthwiseSeparableASPPModule,
)
from segwright.models.heads.uper_head import UPerHead

__all__ = [
    "ASPPHead",
    "ASPPModule",
    "BaseDecodeHead",
    "DepthwiseSeparableASPPHead",
    "DepthwiseSeparableASPPModule",
    "FCNHead",
    "PPM",
    "PSPHead",
    "SegformerHead",
    "UPerHead",
]
