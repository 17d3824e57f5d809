"""Necks. Importing this package registers them in MODELS."""

from segwright.models.necks.featurepyramid import Feature2Pyramid
from segwright.models.necks.fpn import FPN
from segwright.models.necks.ic_neck import ICNeck
from segwright.models.necks.jpu import JPU
from segwright.models.necks.mla_neck import MLANeck
from segwright.models.necks.multilevel_neck import MultiLevelNeck

__all__ = ["FPN", "Feature2Pyramid", "JPU", "MLANeck", "MultiLevelNeck"]
__all__ += ["ICNeck"]
