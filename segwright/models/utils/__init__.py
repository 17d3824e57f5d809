"""Model utilities: weight initialisation and ``BaseModule``."""

from segwright.models.utils.base_module import BaseModule, ModuleList, Sequential
from segwright.models.utils.weight_init import (
    bias_init_with_prob,
    caffe2_xavier_init,
    constant_init,
    initialize,
    kaiming_init,
    load_pretrained,
    normal_init,
    trunc_normal_init,
    uniform_init,
    xavier_init,
)

__all__ = [
    "BaseModule",
    "ModuleList",
    "Sequential",
    "bias_init_with_prob",
    "caffe2_xavier_init",
    "constant_init",
    "initialize",
    "kaiming_init",
    "load_pretrained",
    "normal_init",
    "trunc_normal_init",
    "uniform_init",
    "xavier_init",
]
