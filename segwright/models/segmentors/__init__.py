"""Segmentors. Importing this package registers them in MODELS."""

from segwright.models.segmentors.base import BaseSegmentor, add_prefix
from segwright.models.segmentors.cascade_encoder_decoder import CascadeEncoderDecoder
from segwright.models.segmentors.encoder_decoder import EncoderDecoder
from segwright.models.segmentors.seg_tta import SegTTAModel

__all__ = ["BaseSegmentor", "CascadeEncoderDecoder", "EncoderDecoder", "SegTTAModel", "add_prefix"]
