"""Necks. Importing this package registers them in MODELS."""

from segwright.models.necks.fpn import FPN
from segwright.models.necks.jpu import JPU
from segwright.models.necks.multilevel_neck import MultiLevelNeck
from segwright.models.necks.mla_neck import MLANeck
from segwright.models.necks.featurepyramid import Feature2Pyramid
from segwright.models.necks.ic_neck import ICNeck

__all__ = ["FPN"]
__all__ += ["JPU"]
__all__ += ["MultiLevelNeck", "MLANeck", "Feature2Pyramid"]
__all__ += ["ICNeck"]
