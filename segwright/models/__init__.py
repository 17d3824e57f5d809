"""Floor 4: segmentation models. Importing this package registers every built-in model part."""

from segwright.models import (  # noqa: F401
    backbones,
    heads,
    layers,
    losses,
    necks,
    preprocessor,
    samplers,
    segmentors,
    utils,
)
