"""Floor 5: the Python API for users."""

from segwright.apis.inference import inference_model, init_model, show_result
from segwright.apis.train import train

__all__ = ["inference_model", "init_model", "show_result", "train"]
