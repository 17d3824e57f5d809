"""Pixel samplers (registered in TASK_UTILS): per-pixel loss weights chosen by a decode head."""

from segwright.models.samplers.base import BasePixelSampler
from segwright.models.samplers.ohem import OHEMPixelSampler

__all__ = ["BasePixelSampler", "OHEMPixelSampler"]
