"""Segmentation losses (registered in MODELS) and the pixel accuracy of the decode heads.

Each loss has MMSegmentation's class name and ``forward(cls_score, label, weight=None,
avg_factor=None, reduction_override=None, ignore_index=255, **kwargs)``, and a ``loss_name``
property used as its log key.
"""

from segwright.models.losses.accuracy import Accuracy, accuracy
from segwright.models.losses.boundary import BoundaryLoss
from segwright.models.losses.cross_entropy import (
    CrossEntropyLoss,
    binary_cross_entropy,
    cross_entropy,
    mask_cross_entropy,
)
from segwright.models.losses.det_cross_entropy import DetCrossEntropyLoss
from segwright.models.losses.det_dice import DetDiceLoss, det_dice_loss
from segwright.models.losses.det_focal import DetFocalLoss, det_sigmoid_focal_loss
from segwright.models.losses.dice import DiceLoss, dice_loss
from segwright.models.losses.dice_v030 import DiceLossV030, dice_loss_v030
from segwright.models.losses.focal import FocalLoss, sigmoid_focal_loss
from segwright.models.losses.l1 import L1Loss, l1_loss
from segwright.models.losses.lovasz import LovaszLoss, lovasz_hinge, lovasz_softmax
from segwright.models.losses.ohem_cross_entropy import OhemCrossEntropy
from segwright.models.losses.smooth_l1 import SmoothL1Loss, smooth_l1_loss
from segwright.models.losses.tversky import TverskyLoss, tversky_loss
from segwright.models.losses.utils import (
    get_class_weight,
    load_class_weight_file,
    reduce_loss,
    weight_reduce_loss,
)

__all__ = [
    "Accuracy",
    "BoundaryLoss",
    "CrossEntropyLoss",
    "DetCrossEntropyLoss",
    "DetDiceLoss",
    "DetFocalLoss",
    "det_dice_loss",
    "det_sigmoid_focal_loss",
    "DiceLoss",
    "DiceLossV030",
    "FocalLoss",
    "L1Loss",
    "LovaszLoss",
    "OhemCrossEntropy",
    "SmoothL1Loss",
    "TverskyLoss",
    "accuracy",
    "binary_cross_entropy",
    "cross_entropy",
    "dice_loss",
    "dice_loss_v030",
    "get_class_weight",
    "l1_loss",
    "load_class_weight_file",
    "lovasz_hinge",
    "lovasz_softmax",
    "mask_cross_entropy",
    "reduce_loss",
    "sigmoid_focal_loss",
    "smooth_l1_loss",
    "tversky_loss",
    "weight_reduce_loss",
]
