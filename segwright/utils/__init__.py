"""Floor 1: small helpers with no knowledge of training or segmentation."""

from segwright.utils.errors import (
    CheckpointError,
    ConfigError,
    DatasetError,
    RegistryError,
    SegwrightError,
)

__all__ = ["CheckpointError", "ConfigError", "DatasetError", "RegistryError", "SegwrightError"]
