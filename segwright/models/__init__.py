"""Floor 4: segmentation models. Importing this package registers every built-in model part."""

from segwright.models import losses, samplers  # noqa: F401
