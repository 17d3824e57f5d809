"""Necks. Importing this package registers them in MODELS."""

from segwright.models.necks.fpn import FPN

__all__ = ["FPN"]
