"""Backbones. Importing this package registers them in MODELS."""

from segwright.models.backbones.beit import BEiT
from segwright.models.backbones.bisenetv1 import BiSeNetV1
from segwright.models.backbones.bisenetv2 import BiSeNetV2
from segwright.models.backbones.cgnet import CGNet
from segwright.models.backbones.convnext import ConvNeXt
from segwright.models.backbones.ddrnet import DDRNet
from segwright.models.backbones.erfnet import ERFNet
from segwright.models.backbones.fast_scnn import FastSCNN
from segwright.models.backbones.hrnet import HRModule, HRNet
from segwright.models.backbones.icnet import ICNet
from segwright.models.backbones.mae import MAE
from segwright.models.backbones.mit import MixVisionTransformer
from segwright.models.backbones.mobilenet_v2 import MobileNetV2
from segwright.models.backbones.mobilenet_v3 import MobileNetV3
from segwright.models.backbones.mscan import MSCAN
from segwright.models.backbones.pidnet import PIDNet
from segwright.models.backbones.poolformer import PoolFormer
from segwright.models.backbones.resnest import ResNeSt
from segwright.models.backbones.resnet import BasicBlock, Bottleneck, ResNet, ResNetV1c, ResNetV1d
from segwright.models.backbones.stdc import STDCContextPathNet, STDCNet
from segwright.models.backbones.swin import SwinTransformer
from segwright.models.backbones.twins import PCPVT, SVT
from segwright.models.backbones.unet import UNet
from segwright.models.backbones.vit import VisionTransformer

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "ResNetV1c", "ResNetV1d"]
__all__ += ["MixVisionTransformer", "MobileNetV2", "UNet"]
__all__ += ["HRModule", "HRNet", "ResNeSt"]
__all__ += ["BEiT", "MAE", "VisionTransformer"]
__all__ += ["BiSeNetV1", "BiSeNetV2", "STDCContextPathNet", "STDCNet"]
__all__ += ["PIDNet"]
__all__ += ["CGNet", "DDRNet", "ERFNet", "FastSCNN", "ICNet", "MobileNetV3"]
__all__ += ["ConvNeXt", "MSCAN", "PCPVT", "PoolFormer", "SVT", "SwinTransformer"]
