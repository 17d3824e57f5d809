"""Layer-wise learning-rate decay for ConvNeXt and ViT-style (BEiT, MAE) backbones.

MMSegmentation's ``LearningRateDecayOptimizerConstructor``: the deeper a parameter sits from
the head, the smaller its lr. With ``L = num_layers + 2`` and a parameter's layer id ``i``,
``lr = base_lr * decay_rate ** (L - i - 1)``, so heads (the top id) keep the base lr.
``custom_keys`` and the other ``paramwise_cfg`` rules of the default constructor do not apply.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from torch import nn

from segwright.engine.optim.constructor import DefaultOptimWrapperConstructor
from segwright.registry import OPTIM_WRAPPER_CONSTRUCTORS
from segwright.utils.errors import ConfigError

logger = logging.getLogger(__name__)

DECAY_TYPES = ("layer_wise", "stage_wise", "layer_wise_vit")
_TOKENS = ("backbone.cls_token", "backbone.mask_token", "backbone.pos_embed")


def _index(name: str, position: int) -> int:
    return int(name.split(".")[position])


def layer_id_convnext(name: str, max_layer_id: int) -> int:
    """Layer id of a ConvNeXt parameter for ``decay_type='layer_wise'``.

    Tokens and the stem (downsample 0) are 0; stage 0 is 1; stage 1 and downsample 1 are 2;
    downsample 2 is 3; stage 2 block ``b`` is ``3 + b // 3``; stage 3 and downsample 3 are
    ``max_layer_id``; everything outside the backbone is ``max_layer_id + 1``.
    """
    if name in _TOKENS:
        return 0
    if name.startswith("backbone.downsample_layers"):
        stage = _index(name, 2)
        return {0: 0, 1: 2, 2: 3}.get(stage, max_layer_id)
    if name.startswith("backbone.stages"):
        stage, block = _index(name, 2), _index(name, 3)
        if stage == 0:
            return 1
        if stage == 1:
            return 2
        if stage == 2:
            return 3 + block // 3
        return max_layer_id
    return max_layer_id + 1


def stage_id_convnext(name: str, max_stage_id: int) -> int:
    """Layer id of a ConvNeXt parameter for ``decay_type='stage_wise'``.

    Tokens and downsample layers are 0, stage ``s`` is ``s + 1``, the rest ``max_stage_id - 1``.
    """
    if name in _TOKENS or name.startswith("backbone.downsample_layers"):
        return 0
    if name.startswith("backbone.stages"):
        return _index(name, 2) + 1
    return max_stage_id - 1


def layer_id_vit(name: str, max_layer_id: int) -> int:
    """Layer id of a ViT/BEiT/MAE parameter: tokens and patch embedding 0, ``backbone.layers.i``
    is ``i + 1``, the rest ``max_layer_id - 1``."""
    if name in _TOKENS or name.startswith("backbone.patch_embed"):
        return 0
    if name.startswith("backbone.layers"):
        return _index(name, 2) + 1
    return max_layer_id - 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LearningRateDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """Layer-wise lr decay for a model with a ConvNeXt, BEiT or MAE ``backbone``.

    ``paramwise_cfg``: ``num_layers`` (required), ``decay_rate`` (required) and
    ``decay_type``: ``'layer_wise'`` (default) or ``'layer_wise_vit'`` (ConvNeXt or ViT
    rules by the backbone's class name), or ``'stage_wise'`` (ConvNeXt only).

    One group per (layer id, decay/no decay). No decay (weight_decay 0) for 1-D parameters,
    names ending in ``.bias`` and the names ``pos_embed``/``cls_token``. Groups carry
    ``lr_scale``, ``group_name`` and ``param_names`` as in MMSegmentation. Frozen parameters
    are left out.

    Raises:
        ConfigError: a required key is missing, ``decay_type`` is unknown, the model has no
            ``backbone``, or the backbone is not ConvNeXt/BEiT/MAE.
    """

    def _validate_cfg(self) -> None:
        for key in ("num_layers", "decay_rate"):
            if key not in self.paramwise_cfg:
                raise ConfigError(
                    f"optim_wrapper.paramwise_cfg needs {key!r} for "
                    f"{type(self).__name__}, e.g. paramwise_cfg=dict(num_layers=12, "
                    "decay_rate=0.9, decay_type='stage_wise')."
                )
        decay_type = self.paramwise_cfg.get("decay_type", "layer_wise")
        if decay_type not in DECAY_TYPES:
            raise ConfigError(
                f"optim_wrapper.paramwise_cfg.decay_type must be one of {', '.join(DECAY_TYPES)},"
                f" got {decay_type!r}."
            )
        if self.base_lr is None:
            raise ConfigError(
                f"{type(self).__name__} scales optim_wrapper.optimizer.lr, which is not set."
            )

    def _layer_id(self, name: str, backbone_name: str, num_layers: int) -> int:
        decay_type = self.paramwise_cfg.get("decay_type", "layer_wise")
        is_convnext = "ConvNeXt" in backbone_name
        is_vit = "BEiT" in backbone_name or "MAE" in backbone_name
        if decay_type == "stage_wise":
            if is_convnext:
                return stage_id_convnext(name, num_layers)
        elif is_convnext:
            return layer_id_convnext(name, self.paramwise_cfg["num_layers"])
        elif is_vit:
            return layer_id_vit(name, num_layers)
        supported = "ConvNeXt" if decay_type == "stage_wise" else "ConvNeXt, BEiT or MAE"
        raise ConfigError(
            f"decay_type={decay_type!r} of {type(self).__name__} needs a {supported} backbone "
            f"(by class name), got {backbone_name}."
        )

    def add_params(self, params: list[dict[str, Any]], module: nn.Module, **kwargs: Any) -> None:
        """Group the trainable parameters of the whole model by layer id and decay."""
        backbone = getattr(module, "backbone", None)
        if backbone is None:
            raise ConfigError(
                f"{type(self).__name__} needs a model with a 'backbone' attribute, got "
                f"{type(module).__name__}."
            )
        backbone_name = type(backbone).__name__
        num_layers = self.paramwise_cfg["num_layers"] + 2
        decay_rate = self.paramwise_cfg["decay_rate"]
        groups: dict[str, dict[str, Any]] = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            if param.ndim == 1 or name.endswith(".bias") or name in ("pos_embed", "cls_token"):
                kind, weight_decay = "no_decay", 0.0
            else:
                kind, weight_decay = "decay", self.base_wd
            layer_id = self._layer_id(name, backbone_name, num_layers)
            group_name = f"layer_{layer_id}_{kind}"
            if group_name not in groups:
                scale = decay_rate ** (num_layers - layer_id - 1)
                group = {
                    "params": [],
                    "param_names": [],
                    "lr_scale": scale,
                    "group_name": group_name,
                    "lr": scale * self.base_lr,
                }
                if weight_decay is not None:
                    group["weight_decay"] = weight_decay
                groups[group_name] = group
            groups[group_name]["params"].append(param)
            groups[group_name]["param_names"].append(name)
        for group_name, group in groups.items():
            logger.debug(
                "%s: lr=%.4g lr_scale=%.4g params=%s",
                group_name,
                group["lr"],
                group["lr_scale"],
                group["param_names"],
            )
        params.extend(groups.values())


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimizerConstructor(LearningRateDecayOptimizerConstructor):
    """Deprecated BEiT spelling: ``layer_decay_rate`` becomes ``decay_rate`` and
    ``decay_type`` is forced to ``'layer_wise_vit'``."""

    def __init__(
        self, optim_wrapper_cfg: Mapping[str, Any], paramwise_cfg: Mapping[str, Any] | None
    ) -> None:
        cfg = dict(paramwise_cfg or {})
        if "layer_decay_rate" not in cfg and "decay_rate" not in cfg:
            raise ConfigError(
                "LayerDecayOptimizerConstructor needs optim_wrapper.paramwise_cfg."
                "layer_decay_rate (and num_layers)."
            )
        logger.warning(
            "LayerDecayOptimizerConstructor is deprecated (as in MMSegmentation): use "
            "constructor='LearningRateDecayOptimizerConstructor' with paramwise_cfg="
            "dict(decay_rate=..., decay_type='layer_wise_vit', num_layers=...)."
        )
        if "layer_decay_rate" in cfg:
            cfg["decay_rate"] = cfg.pop("layer_decay_rate")
        cfg["decay_type"] = "layer_wise_vit"
        super().__init__(optim_wrapper_cfg, cfg)
