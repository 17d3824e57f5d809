"""0.x ``lr_config``/``momentum_config`` as MMCV's updater hooks in ``custom_hooks``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.config.legacy.notes import _TranslatorBase
from segwright.utils.errors import ConfigError

#: MMCV's policies, to suggest the right spelling of ``'cosineannealing'`` & co.
_LR_POLICIES = (
    "Fixed",
    "Step",
    "Exp",
    "Poly",
    "Inv",
    "CosineAnnealing",
    "FlatCosineAnnealing",
    "CosineRestart",
    "LinearAnnealing",
    "Cyclic",
    "OneCycle",
)
_MOMENTUM_POLICIES = ("Step", "CosineAnnealing", "LinearAnnealing", "Cyclic", "OneCycle")


def _policy_hook(policy: Any, suffix: str, known: tuple[str, ...], key: str) -> str:
    """MMCV's rule: an all-lower-case policy is ``.title()``-cased, others are kept."""
    if not isinstance(policy, str) or not policy:
        raise ConfigError(
            f"Config key '{key}.policy' must be a policy name such as 'poly', got {policy!r}."
        )
    name = policy.title() if policy == policy.lower() else policy
    if name not in known:
        same = [p for p in known if p.lower() == policy.lower()]
        if same:
            raise ConfigError(
                f"Config key '{key}.policy': {policy!r} becomes {name + suffix!r} under MMCV's "
                f"naming rule (lower-case names are only capitalised), which does not exist. "
                f"Write policy='{same[0]}'."
            )
    return name + suffix


class _ScheduleMixin(_TranslatorBase):
    """``lr_config``/``momentum_config`` -> ``*LrUpdaterHook``/``*MomentumUpdaterHook``."""

    def _updater_hooks(self, iter_based: bool) -> None:
        for key, suffix, known in (
            ("lr_config", "LrUpdaterHook", _LR_POLICIES),
            ("momentum_config", "MomentumUpdaterHook", _MOMENTUM_POLICIES),
        ):
            present = key in self.src
            cfg = self.src.pop(key, None)
            if cfg is None:
                if key == "lr_config" and not present:
                    self.note("lr_config missing: the lr stays constant (as lr_config=None).")
                continue
            if not isinstance(cfg, Mapping):
                raise ConfigError(
                    f"Config key '{key}' must be a dict such as dict(policy='poly', power=0.9), "
                    f"got {cfg!r}."
                )
            args = dict(cfg)
            if "policy" not in args:
                raise ConfigError(
                    f"Config key '{key}' has no 'policy': {dict(cfg)!r}. Add policy='<name>', "
                    "e.g. dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)."
                )
            if "type" in args:
                raise ConfigError(
                    f"Config key '{key}.type' is not read by MMCV (the hook type comes from "
                    "'policy'); remove it."
                )
            hook: dict[str, Any] = dict(type=_policy_hook(args.pop("policy"), suffix, known, key))
            # IterBasedRunner defaults by_epoch=False for lr_config (not momentum_config).
            if iter_based and key == "lr_config":
                hook["by_epoch"] = args.pop("by_epoch", False)
            hook.update(args)
            self.custom_hooks.append(hook)
            self.note(
                f"{key} -> custom_hooks {hook['type']}: MMCV's formula, set before each "
                "iteration (param_scheduler stays empty)."
            )
