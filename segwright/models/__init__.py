"""Floor 4: segmentation and detection models; importing this registers every built-in part."""

from segwright.models import (  # noqa: F401
    backbones,
    dense_heads,
    det_preprocessor,
    detectors,
    heads,
    layers,
    left_out,
    losses,
    necks,
    preprocessor,
    roi_heads,
    samplers,
    segmentors,
    task_modules,
    utils,
)
