"""Decode heads. Importing this package registers them in MODELS."""

from segwright.models.heads.ann_head import ANNHead
from segwright.models.heads.apc_head import APCHead
from segwright.models.heads.aspp_head import ASPPHead, ASPPModule
from segwright.models.heads.cascade_decode_head import BaseCascadeDecodeHead
from segwright.models.heads.cc_head import CCHead
from segwright.models.heads.da_head import DAHead
from segwright.models.heads.ddr_head import DDRHead
from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.heads.dm_head import DMHead
from segwright.models.heads.dnl_head import DNLHead
from segwright.models.heads.dpt_head import DPTHead
from segwright.models.heads.ema_head import EMAHead
from segwright.models.heads.enc_head import EncHead
from segwright.models.heads.fcn_head import FCNHead
from segwright.models.heads.fpn_head import FPNHead
from segwright.models.heads.gc_head import GCHead
from segwright.models.heads.ham_head import LightHamHead
from segwright.models.heads.isa_head import ISAHead
from segwright.models.heads.knet_head import (
    IterativeDecodeHead,
    KernelUpdateHead,
    KernelUpdator,
)
from segwright.models.heads.lraspp_head import LRASPPHead
from segwright.models.heads.mask2former_head import Mask2FormerHead
from segwright.models.heads.maskformer_head import MaskFormerHead
from segwright.models.heads.msdeformattn_pixel_decoder import MSDeformAttnPixelDecoder
from segwright.models.heads.nl_head import NLHead
from segwright.models.heads.ocr_head import OCRHead
from segwright.models.heads.pid_head import PIDHead
from segwright.models.heads.pixel_decoder import PixelDecoder, TransformerEncoderPixelDecoder
from segwright.models.heads.point_head import PointHead
from segwright.models.heads.psa_head import PSAHead
from segwright.models.heads.psp_head import PSPHead
from segwright.models.heads.segformer_head import SegformerHead
from segwright.models.heads.segmenter_mask_head import SegmenterMaskTransformerHead
from segwright.models.heads.sep_aspp_head import (
    DepthwiseSeparableASPPHead,
    DepthwiseSeparableASPPModule,
)
from segwright.models.heads.sep_fcn_head import DepthwiseSeparableFCNHead
from segwright.models.heads.setr_mla_head import SETRMLAHead
from segwright.models.heads.setr_up_head import SETRUPHead
from segwright.models.heads.stdc_head import STDCHead
from segwright.models.heads.uper_head import UPerHead
from segwright.models.layers.ppm import PPM

__all__ = [
    "ANNHead",
    "APCHead",
    "ASPPHead",
    "ASPPModule",
    "BaseCascadeDecodeHead",
    "BaseDecodeHead",
    "CCHead",
    "DAHead",
    "DDRHead",
    "DMHead",
    "DepthwiseSeparableASPPHead",
    "DepthwiseSeparableASPPModule",
    "DepthwiseSeparableFCNHead",
    "DNLHead",
    "DPTHead",
    "EncHead",
    "EMAHead",
    "FCNHead",
    "GCHead",
    "ISAHead",
    "IterativeDecodeHead",
    "KernelUpdateHead",
    "KernelUpdator",
    "LightHamHead",
    "LRASPPHead",
    "Mask2FormerHead",
    "MaskFormerHead",
    "MSDeformAttnPixelDecoder",
    "PixelDecoder",
    "TransformerEncoderPixelDecoder",
    "NLHead",
    "OCRHead",
    "FPNHead",
    "PPM",
    "PIDHead",
    "PSAHead",
    "PointHead",
    "PSPHead",
    "SegformerHead",
    "SegmenterMaskTransformerHead",
    "SETRMLAHead",
    "SETRUPHead",
    "STDCHead",
    "UPerHead",
]
