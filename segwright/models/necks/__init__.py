"""Necks. Importing this package registers them in MODELS."""

from segwright.models.necks.fpn import FPN
from segwright.models.necks.jpu import JPU

__all__ = ["FPN"]
__all__ += ["JPU"]
