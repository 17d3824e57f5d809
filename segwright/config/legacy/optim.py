"""0.x ``optimizer``, ``optimizer_config`` and ``fp16`` as one ``optim_wrapper``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.config.legacy.notes import _TranslatorBase
from segwright.registry import split_scope
from segwright.utils.errors import ConfigError

_OPTIMIZER_HOOK_ARGS = {
    "OptimizerHook": ("grad_clip", "detect_anomalous_params"),
    "GradientCumulativeOptimizerHook": ("grad_clip", "cumulative_iters"),
    "Fp16OptimizerHook": ("grad_clip", "coalesce", "bucket_size_mb", "loss_scale", "distributed"),
    "GradientCumulativeFp16OptimizerHook": (
        "grad_clip",
        "cumulative_iters",
        "coalesce",
        "bucket_size_mb",
        "loss_scale",
        "distributed",
    ),
}
_DECAY_MULTS = ("norm_decay_mult", "dwconv_decay_mult", "bias_decay_mult")


class _OptimMixin(_TranslatorBase):
    """``optimizer``/``optimizer_config``/``fp16`` -> ``optim_wrapper``."""

    def _optimizer(self) -> None:
        optimizer = self.src.pop("optimizer", None)
        optimizer_config_present = "optimizer_config" in self.src
        optimizer_config = self.src.pop("optimizer_config", {})
        fp16 = self.src.pop("fp16", None)
        if optimizer is None:
            if optimizer_config_present or fp16 is not None:
                self.note("optimizer_config/fp16 dropped: the config has no optimizer.")
            return
        if not isinstance(optimizer, Mapping) or "type" not in optimizer:
            raise ConfigError(
                "Config key 'optimizer' must be dict(type='SGD', lr=..., ...); several named "
                f"optimizers are not supported. Got {optimizer!r}."
            )
        optimizer = dict(optimizer)
        paramwise = optimizer.pop("paramwise_cfg", None)
        constructor = optimizer.pop("constructor", None)
        wrapper: dict[str, Any] = dict(type="OptimWrapper", optimizer=optimizer)
        default_constructor = True
        if constructor is not None:
            bare = split_scope(str(constructor))[1]
            if bare == "DefaultOptimizerConstructor":
                constructor = "DefaultOptimWrapperConstructor"
            default_constructor = bare in (
                "DefaultOptimizerConstructor",
                "DefaultOptimWrapperConstructor",
            )
            wrapper["constructor"] = constructor
        if paramwise:
            paramwise = dict(paramwise)
            if default_constructor:
                self._mmcv_decay_defaults(paramwise)
            wrapper["paramwise_cfg"] = paramwise
        if not optimizer_config_present:
            self.note(
                "optimizer_config missing (MMSeg 0.x requires it): taken as dict(), a plain "
                "backward + step."
            )
        self._optimizer_hook(optimizer_config, wrapper)
        self._fp16(fp16, wrapper)
        self.out["optim_wrapper"] = wrapper

    def _mmcv_decay_defaults(self, paramwise: dict[str, Any]) -> None:
        """MMCV's weight-decay multipliers default to 1.0 (MMEngine's skip the rule)."""
        given = [k for k in _DECAY_MULTS if k in paramwise]
        if not given:
            return
        filled = [k for k in _DECAY_MULTS if k not in paramwise]
        for key in filled:
            paramwise[key] = 1.0
        text = (
            f"optimizer.paramwise_cfg: {', '.join(filled)} set to MMCV's default 1.0"
            if filled
            else ""
        )
        if paramwise["dwconv_decay_mult"] != paramwise["bias_decay_mult"]:
            text += (
                ("; " if text else "optimizer.paramwise_cfg: ")
                + "a depth-wise conv's bias now takes bias_decay_mult (MMEngine's rule order), "
                "not dwconv_decay_mult as in MMCV"
            )
        if text:
            self.note(text + ".")

    def _optimizer_hook(self, cfg: Any, wrapper: dict[str, Any]) -> None:
        if cfg is None:
            raise ConfigError(
                "Config key 'optimizer_config' is None: MMCV then registers no optimizer hook, "
                "so it never calls backward() or step() and the model never trains. Use "
                "optimizer_config=dict() (or dict(grad_clip=dict(max_norm=35, norm_type=2)))."
            )
        if not isinstance(cfg, Mapping):
            raise ConfigError(f"Config key 'optimizer_config' must be a dict, got {cfg!r}.")
        kind = split_scope(str(cfg.get("type", "OptimizerHook")))[1]
        if kind not in _OPTIMIZER_HOOK_ARGS:
            raise ConfigError(
                f"Config key 'optimizer_config.type'={cfg['type']!r} cannot be translated; "
                f"segwright knows {', '.join(_OPTIMIZER_HOOK_ARGS)}. Write the 1.x "
                "optim_wrapper (clip_grad, accumulative_counts, AmpOptimWrapper) instead."
            )
        allowed = _OPTIMIZER_HOOK_ARGS[kind]
        unknown = sorted(set(cfg) - set(allowed) - {"type"})
        if unknown:
            raise ConfigError(
                f"Config key 'optimizer_config' ({kind}) has argument(s) {unknown} it does not "
                f"take. Accepted: {', '.join(allowed)}."
            )
        grad_clip = cfg.get("grad_clip")
        if grad_clip is not None:
            if not isinstance(grad_clip, Mapping) or not grad_clip:
                raise ConfigError(
                    "Config key 'optimizer_config.grad_clip' must be None or the arguments of "
                    f"clip_grad_norm_, e.g. dict(max_norm=35, norm_type=2); got {grad_clip!r}."
                )
            wrapper["clip_grad"] = dict(grad_clip)
        if "Cumulative" in kind:
            wrapper["accumulative_counts"] = cfg.get("cumulative_iters", 1)
        if "Fp16" in kind:
            loss_scale = cfg.get("loss_scale", 512.0)
            wrapper["type"] = "AmpOptimWrapper"
            wrapper["loss_scale"] = loss_scale
            self._amp_note(f"optimizer_config ({kind})", loss_scale)
        if cfg.get("detect_anomalous_params"):
            self.note(
                "optimizer_config.detect_anomalous_params dropped: use "
                "model_wrapper_cfg=dict(find_unused_parameters=True) to find unused parameters."
            )
        dropped = [k for k in ("coalesce", "bucket_size_mb", "distributed") if k in cfg]
        if dropped:
            self.note(
                f"optimizer_config {', '.join(dropped)} dropped: DDP all-reduces gradients itself."
            )

    def _amp_note(self, source: str, loss_scale: Any) -> None:
        text = (
            f"{source} -> AmpOptimWrapper(loss_scale={loss_scale!r}): autocast in float16 on "
            "CUDA; on CPU in bfloat16 (dtype left unset: float16 autocast on CPU is slow and "
            "incomplete). MMCV cast only @auto_fp16 methods; autocast chooses per operation."
        )
        if isinstance(loss_scale, int) and not isinstance(loss_scale, bool):
            text += " An int loss_scale, which MMCV rejects, is accepted as a static scale."
        self.note(text)

    def _fp16(self, fp16: Any, wrapper: dict[str, Any]) -> None:
        if fp16 is None:
            return
        if not isinstance(fp16, Mapping) or set(fp16) - {"loss_scale"}:
            raise ConfigError(
                f"Config key 'fp16' must be dict() or dict(loss_scale=...), got {fp16!r}."
            )
        if wrapper["type"] == "AmpOptimWrapper":
            if "loss_scale" in fp16 and fp16["loss_scale"] != wrapper["loss_scale"]:
                self.note(
                    "fp16.loss_scale dropped: optimizer_config's Fp16OptimizerHook sets the "
                    "loss scale (MMSeg 0.30 never read fp16)."
                )
            else:
                self.note("fp16 dropped: a placeholder beside Fp16OptimizerHook.")
            return
        loss_scale = fp16.get("loss_scale", 512.0)
        wrapper["type"] = "AmpOptimWrapper"
        wrapper["loss_scale"] = loss_scale
        self._amp_note("fp16", loss_scale)
        self.note(
            "fp16: MMSeg 0.30's training code ignored this key (it trained in float32); "
            "MMCV/MMDetection read it as mixed precision, which is what it now does."
        )
