"""A user-style custom optimizer and optimizer constructor, loaded through ``custom_imports``.

The shipped recipe ``configs/recipes/custom_optimizer.py`` imports this module by name, the way
a user imports their own ``my_project.optim``: importing it runs ``@register_module()``, and
the config then names the classes by ``type``/``constructor``. The names are specific to this
recipe so they never clash with a user's ``MyOptimizer``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from segwright.engine.optim.constructor import DefaultOptimWrapperConstructor
from segwright.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS


@OPTIMIZERS.register_module(internal=True)
class RecipeSGDWithNesterov(torch.optim.SGD):
    """SGD that always uses Nesterov momentum; ``warm_momentum`` shows a custom argument.

    Args:
        params: Parameters or parameter groups.
        lr: Learning rate.
        momentum: Momentum factor; must be > 0 for Nesterov.
        weight_decay: L2 penalty.
        warm_momentum: Kept on the optimizer as ``self.warm_momentum`` (a stand-in for any
            extra setting a custom optimizer reads).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        warm_momentum: float = 0.5,
    ) -> None:
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=True)
        self.warm_momentum = warm_momentum


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(internal=True)
class RecipeBackboneLrConstructor(DefaultOptimWrapperConstructor):
    """Two parameter groups: the backbone at ``backbone_lr_mult`` x lr, everything else at lr.

    ``paramwise_cfg=dict(backbone_lr_mult=0.1)`` sets the factor (default 0.1).
    """

    def add_params(
        self, params: list[dict[str, Any]], module: nn.Module, prefix: str = "", **kwargs: Any
    ) -> None:
        mult = float((self.paramwise_cfg or {}).get("backbone_lr_mult", 0.1))
        backbone = getattr(module, "backbone", None)
        in_backbone = {id(p) for p in backbone.parameters()} if backbone is not None else set()
        trainable = [p for p in module.parameters() if p.requires_grad]
        params.append(
            {"params": [p for p in trainable if id(p) in in_backbone], "lr": self.base_lr * mult}
        )
        params.append({"params": [p for p in trainable if id(p) not in in_backbone]})
