"""Weight initialisation: MMCV's init functions and MMEngine's ``init_cfg`` semantics.

An ``init_cfg`` is a dict or a list of dicts such as
``dict(type='Kaiming', layer='Conv2d')`` (every ``Conv2d`` below the module),
``dict(type='Normal', std=0.01, override=dict(name='conv_seg'))`` (only that child) or
``dict(type='Pretrained', checkpoint='x.pth', prefix='backbone.')`` (weights from a local file).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from segwright.engine.init_cfg import as_cfg_list, init_type_name, is_pretrained_cfg
from segwright.utils.errors import CheckpointError, ConfigError
from segwright.utils.suggest import did_you_mean

logger = logging.getLogger(__name__)


def _has_tensor(module: nn.Module, name: str) -> bool:
    return isinstance(getattr(module, name, None), torch.Tensor)


def constant_init(module: nn.Module, val: float, bias: float = 0) -> None:
    """Fill ``weight`` with ``val`` and ``bias`` with ``bias``."""
    if _has_tensor(module, "weight"):
        nn.init.constant_(module.weight, val)
    if _has_tensor(module, "bias"):
        nn.init.constant_(module.bias, bias)


def normal_init(module: nn.Module, mean: float = 0, std: float = 1, bias: float = 0) -> None:
    """Normal weights, constant bias."""
    if _has_tensor(module, "weight"):
        nn.init.normal_(module.weight, mean, std)
    if _has_tensor(module, "bias"):
        nn.init.constant_(module.bias, bias)


def trunc_normal_init(
    module: nn.Module, mean: float = 0, std: float = 1, a: float = -2, b: float = 2, bias: float = 0
) -> None:
    """Truncated-normal weights in ``[a, b]``, constant bias."""
    if _has_tensor(module, "weight"):
        nn.init.trunc_normal_(module.weight, mean, std, a, b)
    if _has_tensor(module, "bias"):
        nn.init.constant_(module.bias, bias)


def uniform_init(module: nn.Module, a: float = 0, b: float = 1, bias: float = 0) -> None:
    """Uniform weights in ``[a, b]``, constant bias."""
    if _has_tensor(module, "weight"):
        nn.init.uniform_(module.weight, a, b)
    if _has_tensor(module, "bias"):
        nn.init.constant_(module.bias, bias)


def xavier_init(
    module: nn.Module, gain: float = 1, bias: float = 0, distribution: str = "normal"
) -> None:
    """Xavier (Glorot) weights, constant bias."""
    if distribution not in ("uniform", "normal"):
        raise ConfigError(
            f"Xavier distribution must be 'uniform' or 'normal', got {distribution!r}."
        )
    if _has_tensor(module, "weight"):
        if distribution == "uniform":
            nn.init.xavier_uniform_(module.weight, gain=gain)
        else:
            nn.init.xavier_normal_(module.weight, gain=gain)
    if _has_tensor(module, "bias"):
        nn.init.constant_(module.bias, bias)


def kaiming_init(
    module: nn.Module,
    a: float = 0,
    mode: str = "fan_out",
    nonlinearity: str = "relu",
    bias: float = 0,
    distribution: str = "normal",
) -> None:
    """Kaiming (He) weights, constant bias; MMCV's defaults (``fan_out``, normal)."""
    if distribution not in ("uniform", "normal"):
        raise ConfigError(
            f"Kaiming distribution must be 'uniform' or 'normal', got {distribution!r}."
        )
    if _has_tensor(module, "weight"):
        if distribution == "uniform":
            nn.init.kaiming_uniform_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
        else:
            nn.init.kaiming_normal_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    if _has_tensor(module, "bias"):
        nn.init.constant_(module.bias, bias)


def caffe2_xavier_init(module: nn.Module, bias: float = 0) -> None:
    """Caffe2's XavierFill: Kaiming uniform with ``a=1``, ``fan_in``."""
    kaiming_init(
        module, a=1, mode="fan_in", nonlinearity="leaky_relu", bias=bias, distribution="uniform"
    )


def mit_default_init(
    module: nn.Module, norm_types: tuple[type[nn.Module], ...] = (nn.LayerNorm,)
) -> None:
    """MMSeg's init of MiT, MSCAN and Twins without ``init_cfg``: truncated-normal Linear
    layers (std 0.02), unit ``norm_types``, convs normal with std ``sqrt(2 / fan_out)``."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            trunc_normal_init(m, std=0.02, bias=0.0)
        elif isinstance(m, norm_types):
            constant_init(m, val=1.0, bias=0.0)
        elif isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            normal_init(m, mean=0.0, std=math.sqrt(2.0 / fan_out), bias=0.0)


def bias_init_with_prob(prior_prob: float) -> float:
    """The bias whose sigmoid equals ``prior_prob``."""
    return float(-math.log((1 - prior_prob) / prior_prob))


# init_cfg type -> (function, argument names it takes besides the module)
_INITS: dict[str, tuple[Callable[..., None], tuple[str, ...]]] = {
    "Constant": (constant_init, ("val", "bias")),
    "Normal": (normal_init, ("mean", "std", "bias")),
    "TruncNormal": (trunc_normal_init, ("mean", "std", "a", "b", "bias")),
    "Uniform": (uniform_init, ("a", "b", "bias")),
    "Xavier": (xavier_init, ("gain", "bias", "distribution")),
    "Kaiming": (kaiming_init, ("a", "mode", "nonlinearity", "bias", "distribution")),
    "Caffe2Xavier": (caffe2_xavier_init, ("bias",)),
}


def _class_names(module: nn.Module) -> set[str]:
    return {cls.__name__ for cls in type(module).__mro__}


def _apply_init(module: nn.Module, cfg: Mapping[str, Any], whole_module: bool) -> None:
    """Apply one non-Pretrained init dict to ``module``'s layers."""
    name = init_type_name(cfg)
    if name not in _INITS:
        raise ConfigError(
            f"Unknown init_cfg type {cfg.get('type')!r}.{did_you_mean(name, _INITS)} "
            f"Known: {', '.join(sorted(_INITS))}, Pretrained."
        )
    func, arg_names = _INITS[name]
    args = {k: v for k, v in cfg.items() if k in arg_names}
    unknown = set(cfg) - set(arg_names) - {"type", "layer", "override", "bias_prob"}
    if unknown:
        raise ConfigError(
            f"init_cfg {dict(cfg)!r} has unknown key(s) {sorted(unknown)}; "
            f"{name} takes {', '.join(arg_names)}, layer, override, bias_prob."
        )
    if cfg.get("bias_prob") is not None:
        args["bias"] = bias_init_with_prob(cfg["bias_prob"])
    layers = cfg.get("layer")
    layers = [layers] if isinstance(layers, str) else list(layers or [])
    if not whole_module and not layers:
        return  # e.g. dict(type='Normal', override=...) touches only the override
    for sub in module.modules():
        if whole_module or _class_names(sub) & set(layers):
            func(sub, **args)


def _apply_override(module: nn.Module, cfg: Mapping[str, Any]) -> None:
    overrides = cfg.get("override")
    if overrides is None:
        return
    if isinstance(overrides, Mapping):
        overrides = [overrides]
    parent = {k: v for k, v in cfg.items() if k not in ("override", "layer")}
    for override in overrides:
        override = dict(override)
        name = override.pop("name", None)
        if name is None:
            raise ConfigError(f"init_cfg override {override!r} needs a 'name' (a child module).")
        if "type" not in override:
            override = {**parent, **override}
        child = getattr(module, name, None)
        if not isinstance(child, nn.Module):
            raise ConfigError(
                f"init_cfg override names {name!r}, but {type(module).__name__} has no such "
                "child module."
            )
        if init_type_name(override) == "Pretrained":
            load_pretrained(child, **{k: v for k, v in override.items() if k != "type"})
        else:
            _apply_init(child, override, whole_module=True)


def initialize(module: nn.Module, init_cfg: Any) -> None:
    """Apply ``init_cfg`` (dict or list) to ``module``: layer rules, then overrides."""
    for cfg in as_cfg_list(init_cfg):
        if is_pretrained_cfg(cfg):
            load_pretrained(module, **{k: v for k, v in cfg.items() if k != "type"})
            continue
        _apply_init(module, cfg, whole_module=False)
        _apply_override(module, cfg)


def load_pretrained(
    module: nn.Module,
    checkpoint: str | None = None,
    prefix: str | None = None,
    map_location: Any = "cpu",
) -> None:
    """Load weights from a local checkpoint file into ``module`` (non-strict, reported).

    Without ``prefix`` the keys must be relative to ``module`` (a leading ``module.`` is
    stripped). With ``prefix`` only keys starting with it are kept, and it is stripped.

    Raises:
        CheckpointError: No file, a remote address, or no key under ``prefix``.
    """
    from segwright.engine.checkpoint import (  # engine is a floor below; imported lazily
        extract_state_dict,
        load_checkpoint,
        load_state_dict,
        read_checkpoint,
    )

    if not checkpoint:
        raise ConfigError("init_cfg type 'Pretrained' needs checkpoint='path/to/file.pth'.")
    if prefix is None:
        _, report = load_checkpoint(module, checkpoint, map_location=map_location)
    else:
        if not prefix.endswith("."):
            prefix += "."
        state = extract_state_dict(read_checkpoint(checkpoint, map_location))
        kept = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if not kept:
            raise CheckpointError(
                f"No key of checkpoint {checkpoint} starts with prefix {prefix!r} "
                f"(its keys start with e.g. {sorted(state)[:3]}). Fix init_cfg's prefix."
            )
        report = load_state_dict(module, kept)
    log = logger.info if report.exact else logger.warning
    log("Loaded %s into %s: %s", checkpoint, type(module).__name__, report.summary())
