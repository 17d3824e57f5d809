"""MMSegmentation names that are not plain segwright objects: 0.x builders, ``CustomDataset``,
and the typing aliases of ``mmseg.utils``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from segwright.config import ConfigDict
from segwright.datasets import BaseSegDataset
from segwright.registry import MODELS
from segwright.structures import SegDataSample

ConfigType = ConfigDict | dict
OptConfigType = ConfigType | None
MultiConfig = ConfigType | list[ConfigType]
OptMultiConfig = MultiConfig | None
SampleList = list[SegDataSample]
OptSampleList = SampleList | None
TensorDict = dict[str, torch.Tensor]
TensorList = list[torch.Tensor]
ForwardResults = dict[str | torch.Tensor] | list[SegDataSample] | tuple[torch.Tensor] | torch.Tensor


def build_backbone(cfg: Mapping[str, Any]) -> Any:
    """MMSeg 0.x ``build_backbone``: ``MODELS.build(cfg)``."""
    return MODELS.build(cfg, key="backbone")


def build_neck(cfg: Mapping[str, Any]) -> Any:
    """MMSeg 0.x ``build_neck``: ``MODELS.build(cfg)``."""
    return MODELS.build(cfg, key="neck")


def build_head(cfg: Mapping[str, Any]) -> Any:
    """MMSeg 0.x ``build_head``: ``MODELS.build(cfg)``."""
    return MODELS.build(cfg, key="decode_head")


def build_loss(cfg: Mapping[str, Any]) -> Any:
    """MMSeg 0.x ``build_loss``: ``MODELS.build(cfg)``."""
    return MODELS.build(cfg, key="loss_decode")


def build_segmentor(cfg: Mapping[str, Any], train_cfg: Any = None, test_cfg: Any = None) -> Any:
    """MMSeg 0.x ``build_segmentor``; ``train_cfg``/``test_cfg`` fill the model's own."""
    defaults = {k: v for k, v in (("train_cfg", train_cfg), ("test_cfg", test_cfg)) if v}
    return MODELS.build(cfg, default_args=defaults or None, key="model")


class CustomDataset(BaseSegDataset):
    """MMSeg 0.x ``CustomDataset`` for user subclasses: it is :class:`BaseSegDataset`, and a
    subclass's 0.x ``CLASSES``/``PALETTE`` class attributes become its ``METAINFO``.

    A 0.x config's dataset keys (``img_dir``, ``ann_dir``, ``split``...) are translated by the
    config floor before the dataset is built, as for every 0.x dataset.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        classes, palette = cls.__dict__.get("CLASSES"), cls.__dict__.get("PALETTE")
        if classes is None and palette is None:
            return
        metainfo = dict(cls.METAINFO)
        if classes is not None:
            metainfo["classes"] = tuple(classes)
        if palette is not None:
            metainfo["palette"] = [list(color) for color in palette]
        cls.METAINFO = metainfo
