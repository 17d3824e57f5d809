"""From ``optim_wrapper=dict(...)`` to an optimizer wrapper: parameter groups and ``paramwise_cfg``.

``build_optim_wrapper(model, cfg)`` pops ``constructor`` and ``paramwise_cfg``, builds the
constructor from ``OPTIM_WRAPPER_CONSTRUCTORS`` and calls it on the model. The default
constructor puts every parameter in one group, or, with a ``paramwise_cfg``, gives each
parameter its own group with an lr and weight decay from MMEngine's rules.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS,
    OPTIMIZERS,
    build_path,
    resolve_type,
)
from segwright.utils.errors import ConfigError, RegistryError
from segwright.utils.suggest import did_you_mean

logger = logging.getLogger(__name__)

NORM_TYPES = (
    nn.modules.batchnorm._BatchNorm,
    nn.modules.instancenorm._InstanceNorm,
    nn.GroupNorm,
    nn.LayerNorm,
)
#: Class names of deformable convolutions (MMCV's ops); matched anywhere in a module's MRO so
#: a pure-PyTorch re-implementation with the same name gets the DCN rules.
DCN_CLASS_NAMES = frozenset({"DeformConv2d", "ModulatedDeformConv2d"})

PARAMWISE_KEYS = (
    "custom_keys",
    "bias_lr_mult",
    "bias_decay_mult",
    "norm_decay_mult",
    "dwconv_decay_mult",
    "flat_decay_mult",
    "dcn_offset_lr_mult",
    "bypass_duplicate",
)
_DECAY_KEYS = ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult")


def is_dcn(module: nn.Module) -> bool:
    """Whether ``module`` is a deformable convolution (by class name, see DCN_CLASS_NAMES)."""
    return any(cls.__name__ in DCN_CLASS_NAMES for cls in type(module).__mro__)


def _optimizer_class(optimizer_cfg: Mapping[str, Any]) -> Any | None:
    try:
        return resolve_type(OPTIMIZERS, optimizer_cfg.get("type"))
    except (ConfigError, RegistryError):
        return None  # the build reports it with a full message


def _first_arg_name(cls: Any) -> str:
    """The name of the optimizer's first argument (``params`` for torch; others differ)."""
    try:
        names = list(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return "params"
    return names[0] if names else "params"


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DefaultOptimWrapperConstructor:
    """Build an optimizer (with per-parameter settings) and wrap it.

    ``paramwise_cfg`` keys (MMEngine semantics; an unset multiplier is a rule switched off):

    - ``custom_keys``: ``{substring: dict(lr_mult=, decay_mult=, **any group option)}``. A
      parameter whose ``f'{prefix}.{name}'`` contains a key gets ``lr = lr * lr_mult`` and
      ``weight_decay = weight_decay * decay_mult`` (if the optimizer has a weight decay), plus
      every entry of the dict; all other rules are skipped. The longest key wins; ties go to
      the alphabetically first. A root-level parameter is matched as ``'.weight'``.
    - ``bias_lr_mult``: lr of biases, except in norm layers and in DCN offset layers.
    - ``dcn_offset_lr_mult``: lr of the ``conv_offset`` conv inside a DCN module.
    - weight decay, first matching rule: ``norm_decay_mult`` (norm layers),
      ``bias_decay_mult`` (biases, not in DCN), ``dwconv_decay_mult`` (depth-wise
      ``nn.Conv2d``), ``flat_decay_mult`` (1-D parameters, not in DCN).
    - ``bypass_duplicate``: drop (with a warning) a parameter already in an earlier group.

    Frozen parameters (``requires_grad=False``) are added as bare groups with the optimizer
    defaults and no rule applied, as MMEngine does; they receive no gradient, so no update.
    A multiplier of the lr uses the optimizer config's ``lr``, or the optimizer class's default
    lr when the config has none (where MMEngine would fail).

    Args:
        optim_wrapper_cfg: The ``optim_wrapper`` dict without ``constructor`` and
            ``paramwise_cfg``; must contain ``optimizer``. ``type`` defaults to
            ``'OptimWrapper'``.
        paramwise_cfg: The per-parameter rules above, or None/empty for one group.

    Raises:
        ConfigError: ``optimizer`` is missing; ``paramwise_cfg``/``custom_keys`` are not dicts;
            a ``decay_mult`` is given but the optimizer config has no ``weight_decay``.
    """

    def __init__(
        self,
        optim_wrapper_cfg: Mapping[str, Any],
        paramwise_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(optim_wrapper_cfg, Mapping):
            raise ConfigError(
                f"optim_wrapper must be a dict, got {type(optim_wrapper_cfg).__name__}."
            )
        if "optimizer" not in optim_wrapper_cfg:
            raise ConfigError(
                "optim_wrapper has no 'optimizer' key."
                f"{did_you_mean('optimizer', [str(k) for k in optim_wrapper_cfg])} Keys given: "
                f"{', '.join(map(str, optim_wrapper_cfg)) or '(none)'}. Example: optim_wrapper=dict("
                "type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, "
                "weight_decay=0.0005))."
            )
        self.optim_wrapper_cfg = dict(optim_wrapper_cfg)
        optimizer_cfg = self.optim_wrapper_cfg.pop("optimizer")
        if not isinstance(optimizer_cfg, Mapping):
            raise ConfigError(
                f"optim_wrapper.optimizer must be a dict such as dict(type='SGD', lr=0.01), "
                f"got {type(optimizer_cfg).__name__}."
            )
        self.optimizer_cfg = dict(optimizer_cfg)
        if paramwise_cfg is not None and not isinstance(paramwise_cfg, Mapping):
            raise ConfigError(
                f"optim_wrapper.paramwise_cfg must be None or a dict, got "
                f"{type(paramwise_cfg).__name__}."
            )
        self.paramwise_cfg: dict[str, Any] = dict(paramwise_cfg or {})
        self.base_lr = (
            self.optimizer_cfg["lr"] if "lr" in self.optimizer_cfg else self._default_of("lr")
        )
        self.base_wd = self.optimizer_cfg.get("weight_decay", None)
        self._validate_cfg()

    def _default_of(self, arg: str) -> Any:
        """The optimizer class's default for ``arg`` when the config omits it (else None)."""
        cls = _optimizer_class(self.optimizer_cfg)
        if cls is None:
            return None
        try:
            param = inspect.signature(cls).parameters.get(arg)
        except (TypeError, ValueError):
            return None
        if param is None or not isinstance(param.default, (int, float)):
            return None
        return param.default

    def _validate_cfg(self) -> None:
        cfg = self.paramwise_cfg
        custom_keys = cfg.get("custom_keys", {})
        if not isinstance(custom_keys, Mapping):
            raise ConfigError(
                "optim_wrapper.paramwise_cfg.custom_keys must be a dict "
                f"{{name substring: dict(lr_mult=..., decay_mult=...)}}, got "
                f"{type(custom_keys).__name__}."
            )
        for key, options in custom_keys.items():
            if not isinstance(options, Mapping):
                raise ConfigError(
                    f"optim_wrapper.paramwise_cfg.custom_keys[{key!r}] must be a dict such as "
                    f"dict(lr_mult=10.), got {options!r}."
                )
            if self.base_wd is None and "decay_mult" in options:
                raise ConfigError(
                    f"optim_wrapper.paramwise_cfg.custom_keys[{key!r}] sets decay_mult, but "
                    "optim_wrapper.optimizer has no weight_decay to multiply. Add "
                    "weight_decay=... to the optimizer config."
                )
        given = [k for k in _DECAY_KEYS if k in cfg]
        if given and self.base_wd is None:
            raise ConfigError(
                f"optim_wrapper.paramwise_cfg sets {', '.join(given)}, but "
                "optim_wrapper.optimizer has no weight_decay to multiply. Add weight_decay=... "
                "to the optimizer config."
            )
        if type(self) is DefaultOptimWrapperConstructor:
            for key in cfg:
                if key not in PARAMWISE_KEYS:
                    logger.warning(
                        "optim_wrapper.paramwise_cfg.%s is not used by "
                        "DefaultOptimWrapperConstructor and is ignored.%s Known keys: %s.",
                        key,
                        did_you_mean(str(key), PARAMWISE_KEYS),
                        ", ".join(PARAMWISE_KEYS),
                    )

    def _lr(self, mult: float, rule: str) -> float:
        if self.base_lr is None:
            raise ConfigError(
                f"optim_wrapper.paramwise_cfg {rule} multiplies the learning rate, but "
                "optim_wrapper.optimizer has no lr. Add lr=... to the optimizer config."
            )
        return self.base_lr * mult

    # -- parameter groups ------------------------------------------------------------------

    def add_params(
        self,
        params: list[dict[str, Any]],
        module: nn.Module,
        prefix: str = "",
        is_dcn_module: bool | float | None = None,
    ) -> None:
        """Append one group per direct parameter of ``module``, then recurse into children.

        Args:
            params: The list of param groups, extended in place.
            module: The module whose parameters are added.
            prefix: Dotted name of ``module`` in the model ('' for the root).
            is_dcn_module: Whether ``module``'s parent is a DCN module (controls the
                ``conv_offset`` rules).
        """
        cfg = self.paramwise_cfg
        custom_keys = cfg.get("custom_keys", {})
        # Alphabetical, then (stable) longest first: the first hit is the longest key.
        sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
        bias_lr_mult = cfg.get("bias_lr_mult")
        bias_decay_mult = cfg.get("bias_decay_mult")
        norm_decay_mult = cfg.get("norm_decay_mult")
        dwconv_decay_mult = cfg.get("dwconv_decay_mult")
        flat_decay_mult = cfg.get("flat_decay_mult")
        dcn_offset_lr_mult = cfg.get("dcn_offset_lr_mult")
        bypass_duplicate = cfg.get("bypass_duplicate", False)

        is_norm = isinstance(module, NORM_TYPES)
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups
        seen = {id(p) for group in params for p in group["params"]} if bypass_duplicate else set()

        for name, param in module.named_parameters(recurse=False):
            full_name = f"{prefix}.{name}" if prefix else name
            group: dict[str, Any] = {"params": [param]}
            if bypass_duplicate and id(param) in seen:
                logger.warning(
                    "%s is shared with an earlier parameter group and skipped "
                    "(bypass_duplicate=True).",
                    full_name,
                )
                continue
            seen.add(id(param))
            if not param.requires_grad:
                params.append(group)
                continue

            key = next((k for k in sorted_keys if k in f"{prefix}.{name}"), None)
            if key is not None:
                options = custom_keys[key]
                group["lr"] = self._lr(options.get("lr_mult", 1.0), f"custom_keys[{key!r}]")
                if self.base_wd is not None:
                    group["weight_decay"] = self.base_wd * options.get("decay_mult", 1.0)
                group.update(options)
            else:
                if bias_lr_mult is not None and name == "bias" and not (is_norm or is_dcn_module):
                    group["lr"] = self._lr(bias_lr_mult, "bias_lr_mult")
                if (
                    dcn_offset_lr_mult is not None
                    and "conv_offset" in prefix
                    and is_dcn_module
                    and isinstance(module, nn.Conv2d)
                ):
                    group["lr"] = self._lr(dcn_offset_lr_mult, "dcn_offset_lr_mult")
                if self.base_wd is not None:
                    if is_norm and norm_decay_mult is not None:
                        group["weight_decay"] = self.base_wd * norm_decay_mult
                    elif name == "bias" and not is_dcn_module and bias_decay_mult is not None:
                        group["weight_decay"] = self.base_wd * bias_decay_mult
                    elif is_dwconv and dwconv_decay_mult is not None:
                        group["weight_decay"] = self.base_wd * dwconv_decay_mult
                    elif param.ndim == 1 and not is_dcn_module and flat_decay_mult is not None:
                        group["weight_decay"] = self.base_wd * flat_decay_mult
            params.append(group)
            if logger.isEnabledFor(logging.DEBUG):
                settings = {k: v for k, v in group.items() if k != "params"}
                logger.debug("paramwise_options -- %s: %s", full_name, settings)

        child_is_dcn = is_dcn(module)
        for child_name, child in module.named_children():
            child_prefix = f"{prefix}.{child_name}" if prefix else child_name
            self.add_params(params, child, prefix=child_prefix, is_dcn_module=child_is_dcn)

    # -- building --------------------------------------------------------------------------

    def build_optimizer(self, params: Any) -> torch.optim.Optimizer:
        """Build ``self.optimizer_cfg`` from OPTIMIZERS with ``params`` as its first argument."""
        cls = _optimizer_class(self.optimizer_cfg)
        arg = _first_arg_name(cls) if cls is not None else "params"
        try:
            optimizer = OPTIMIZERS.build(
                self.optimizer_cfg, default_args={arg: params}, key="optim_wrapper.optimizer"
            )
            _warn_zero_lr(optimizer)
            return optimizer
        except ValueError as err:
            if "more than one parameter group" in str(err):
                raise ConfigError(
                    "A parameter is shared by two modules, so it would be in two parameter "
                    "groups, which torch rejects. Set optim_wrapper.paramwise_cfg."
                    "bypass_duplicate=True to keep only its first occurrence."
                ) from err
            raise

    def __call__(self, model: nn.Module) -> Any:
        """Build the optimizer for ``model`` (DDP/DP wrappers are unwrapped) and wrap it."""
        if hasattr(model, "module"):
            model = model.module
        if self.paramwise_cfg:
            params: Any = []
            self.add_params(params, model)
        else:
            params = list(model.parameters())
        optimizer = self.build_optimizer(params)
        wrapper_cfg = dict(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault("type", "OptimWrapper")
        return OPTIM_WRAPPERS.build(
            wrapper_cfg, default_args=dict(optimizer=optimizer), key="optim_wrapper"
        )


def _warn_zero_lr(optimizer: Any) -> None:
    """lr=0 trains nothing; torch and MMEngine accept it, so it is a warning, not an error."""
    groups = getattr(optimizer, "param_groups", [])
    used = [g for g in groups if g.get("params")]
    # Some groups at 0 is a freeze by paramwise_cfg (lr_mult=0); all of them trains nothing.
    if used and all(g.get("lr") == 0 for g in used):
        logger.warning(
            "optim_wrapper.optimizer.lr is 0 for every parameter group: no weight will change "
            "(schedulers scale lr, so they keep it at 0 too). Set optim_wrapper.optimizer.lr."
        )


def build_optim_wrapper(model: nn.Module, cfg: Mapping[str, Any]) -> Any:
    """Build the ``optim_wrapper`` config for ``model`` through its constructor.

    Args:
        model: The model (a DDP wrapper is unwrapped by the default constructor).
        cfg: ``dict(type=..., optimizer=..., paramwise_cfg=..., constructor=..., ...)``;
            ``constructor`` defaults to ``'DefaultOptimWrapperConstructor'``. An MMCV-style
            constructor (``__init__(optimizer_cfg, paramwise_cfg=None)``, ``__call__(model)``
            returning a torch optimizer, as MMSeg 0.x custom constructors are) is accepted
            too: it gets ``optimizer`` and the optimizer it returns is wrapped in ``type``.

    Returns:
        The optimizer wrapper (an :class:`~segwright.engine.optim.wrapper.OptimWrapper`).
    """
    if not isinstance(cfg, Mapping):
        raise ConfigError(
            f"optim_wrapper must be a dict such as dict(type='OptimWrapper', optimizer=dict("
            f"type='SGD', lr=0.01)), got {type(cfg).__name__}."
        )
    wrapper_cfg = copy.deepcopy(dict(cfg))
    constructor_type = wrapper_cfg.pop("constructor", "DefaultOptimWrapperConstructor")
    paramwise_cfg = wrapper_cfg.pop("paramwise_cfg", None)
    with build_path("optim_wrapper.constructor"):
        constructor_cls = resolve_type(OPTIM_WRAPPER_CONSTRUCTORS, constructor_type)
    if _first_arg_name(constructor_cls) == "optimizer_cfg":
        # An MMCV-style constructor (0.x): it builds a torch optimizer, which we wrap.
        constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
            dict(
                type=constructor_type,
                optimizer_cfg=wrapper_cfg.pop("optimizer", None),
                paramwise_cfg=paramwise_cfg,
            ),
            key="optim_wrapper.constructor",
        )
        optimizer = constructor(model.module if hasattr(model, "module") else model)
        wrapper_cfg.setdefault("type", "OptimWrapper")
        return OPTIM_WRAPPERS.build(
            wrapper_cfg, default_args=dict(optimizer=optimizer), key="optim_wrapper"
        )
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor_type, optim_wrapper_cfg=wrapper_cfg, paramwise_cfg=paramwise_cfg),
        key="optim_wrapper.constructor",
    )
    return constructor(model)


def _fmt_count(n: int) -> str:
    return f"{n:,}"


def describe_param_groups(optimizer: Any) -> str:
    """A table of parameter groups merged by equal (lr, weight_decay), for the start-up log.

    Args:
        optimizer: A torch optimizer or a wrapper with ``.optimizer``.

    Returns:
        Lines: ``lr``, ``weight_decay``, number of groups, tensors, elements and frozen
        tensors per distinct setting, in order of first appearance, then a total line.
    """
    inner = getattr(optimizer, "optimizer", optimizer)
    rows: dict[tuple[Any, Any], list[int]] = {}
    for group in inner.param_groups:
        key = (group.get("lr"), group.get("weight_decay"))
        row = rows.setdefault(key, [0, 0, 0, 0])
        row[0] += 1
        for p in group["params"]:
            row[1] += 1
            row[2] += p.numel()
            row[3] += 0 if p.requires_grad else 1

    def num(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)

    header = ("lr", "weight_decay", "groups", "tensors", "elements", "frozen")
    body = [
        (num(lr), num(wd), str(g), str(t), _fmt_count(e), str(f))
        for (lr, wd), (g, t, e, f) in rows.items()
    ]
    totals = [sum(r[i] for r in rows.values()) for i in range(4)]
    body.append(
        ("total", "", str(totals[0]), str(totals[1]), _fmt_count(totals[2]), str(totals[3]))
    )
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [
        f"{type(inner).__name__}: {totals[0]} parameter group(s), "
        f"{len(rows)} distinct (lr, weight_decay) setting(s)"
    ]
    for r in [header, *body]:
        lines.append("  ".join(cell.rjust(w) for cell, w in zip(r, widths)))
    return "\n".join(lines)
