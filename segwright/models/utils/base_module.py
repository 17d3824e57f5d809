"""``BaseModule``: an ``nn.Module`` that initialises itself from ``init_cfg`` (MMEngine's order)."""

from __future__ import annotations

import copy
import warnings
from typing import Any

from torch import nn

from segwright.engine.init_cfg import as_cfg_list, is_pretrained_cfg
from segwright.models.utils.weight_init import initialize


class BaseModule(nn.Module):
    """A module with an ``init_cfg`` and an ``init_weights()`` that applies it.

    Order (MMEngine's): this module's non-Pretrained rules, then every direct child that has
    ``init_weights`` (children may overwrite), then Pretrained entries last, so loaded weights
    win. A second call does nothing.

    Args:
        init_cfg: A dict or a list of dicts (see :mod:`segwright.models.utils.weight_init`).
    """

    def __init__(self, init_cfg: Any = None) -> None:
        super().__init__()
        self._is_init = False
        self.init_cfg = copy.deepcopy(init_cfg)

    @property
    def is_init(self) -> bool:
        return self._is_init

    def init_weights(self) -> None:
        if self._is_init:
            warnings.warn(f"init_weights of {type(self).__name__} has been called more than once.")
            return
        cfgs = as_cfg_list(self.init_cfg)
        initialize(self, [c for c in cfgs if not is_pretrained_cfg(c)])
        for child in self.children():
            if hasattr(child, "init_weights") and not getattr(child, "is_init", False):
                child.init_weights()
        initialize(self, [c for c in cfgs if is_pretrained_cfg(c)])
        self._is_init = True


class Sequential(BaseModule, nn.Sequential):
    """``nn.Sequential`` that takes part in ``init_weights``."""

    def __init__(self, *modules: nn.Module, init_cfg: Any = None) -> None:
        nn.Sequential.__init__(self, *modules)
        self._is_init = False
        self.init_cfg = copy.deepcopy(init_cfg)


class ModuleList(BaseModule, nn.ModuleList):
    """``nn.ModuleList`` that takes part in ``init_weights``."""

    def __init__(self, modules: Any = None, init_cfg: Any = None) -> None:
        nn.ModuleList.__init__(self, modules)
        self._is_init = False
        self.init_cfg = copy.deepcopy(init_cfg)
