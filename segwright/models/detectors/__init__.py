"""Detectors in MMDetection 3.3's shape: a backbone, a neck and heads, three forward modes."""

from segwright.models.detectors.base import BaseDetector
from segwright.models.detectors.two_stage import FasterRCNN, MaskRCNN, TwoStageDetector

__all__ = ["BaseDetector", "FasterRCNN", "MaskRCNN", "TwoStageDetector"]
