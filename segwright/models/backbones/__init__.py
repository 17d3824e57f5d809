"""Backbones. Importing this package registers them in MODELS."""

from segwright.models.backbones.resnet import BasicBlock, Bottleneck, ResNet, ResNetV1c, ResNetV1d

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "ResNetV1c", "ResNetV1d"]
