"""MMSeg 0.x ``lr_config`` / ``momentum_config`` -> hook configs for ``custom_hooks`` (SPEC §5).

MMCV's runner maps ``policy`` to a hook type: an all-lower-case name is ``.title()``-cased
(``'poly'`` -> ``'Poly'``), any other is kept (``'CosineAnnealing'``), then the suffix
``LrUpdaterHook`` / ``MomentumUpdaterHook`` is added. So ``'cosineannealing'`` becomes the
unknown ``'Cosineannealing'``; we fail there too, but suggest the right spelling.

Iteration-based runs: MMCV's ``IterBasedRunner.register_training_hooks`` makes ``by_epoch=False``
the default of ``lr_config`` (not of ``momentum_config``); pass ``iter_based=True`` to
:func:`lr_config_to_hook` for the same. The hooks then act exactly as under MMCV. (An
IterBasedRunner never calls ``before_train_epoch``; our ``IterBasedTrainLoop`` calls it once at
epoch 0, which leaves a ``by_epoch=True`` policy at its epoch-0 value, the base value, as
MMCV's frozen one. Only a warmup on such a policy differs: MMCV applies none there.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.engine.hooks.hook import Hook
from segwright.registry import HOOKS
from segwright.utils.errors import ConfigError
from segwright.utils.suggest import did_you_mean


def _hook_type(policy: Any, suffix: str, key: str) -> str:
    if not isinstance(policy, str) or not policy:
        raise ConfigError(
            f"Config key '{key}.policy' must be a policy name such as 'poly' or "
            f"'CosineAnnealing', got {policy!r}."
        )
    name = policy.title() if policy == policy.lower() else policy
    hook_type = name + suffix
    if HOOKS.get(hook_type) is not None:
        return hook_type
    policies = sorted(
        n[: -len(suffix)] for n in HOOKS.names() if n.endswith(suffix) and n != suffix
    )
    same_letters = [p for p in policies if p.lower() == policy.lower()]
    if same_letters and policy == name:
        hint = f" Policy names with capitals are used as written; write policy='{same_letters[0]}'."
    elif same_letters:
        hint = (
            f" An all-lower-case policy is only capitalised ('{policy}' -> '{name}'), as in "
            f"MMCV; write policy='{same_letters[0]}'."
        )
    else:
        hint = did_you_mean(policy, policies)
    raise ConfigError(
        f"Config key '{key}.policy': unknown policy {policy!r} (no hook {hook_type!r}).{hint} "
        f"Known policies: {', '.join(policies)}."
    )


def _to_hook(config: Any, suffix: str, key: str, defaults: Mapping[str, Any]) -> Any:
    if config is None or isinstance(config, Hook):
        return config
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"Config key '{key}' must be a dict such as dict(policy='poly', power=0.9), got "
            f"{type(config).__name__}: {config!r}."
        )
    args = dict(config)
    if "policy" not in args:
        raise ConfigError(
            f"Config key '{key}' has no 'policy': {dict(config)!r}. Add policy='<name>', e.g. "
            f"{key}=dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)."
        )
    hook_type = _hook_type(args.pop("policy"), suffix, key)
    for name, value in defaults.items():
        args.setdefault(name, value)
    hook_cfg = {"type": hook_type, **args}
    HOOKS.build(hook_cfg, key=key)  # validates now: errors name '<key>.<argument>'
    return hook_cfg


def lr_config_to_hook(lr_config: Any, iter_based: bool = False) -> Any:
    """Turn a 0.x ``lr_config`` into the config of its ``<Policy>LrUpdaterHook``.

    Args:
        lr_config: ``dict(policy=..., **policy arguments)``; None and built hooks pass through.
        iter_based: The run is iteration-based (MMCV ``IterBasedRunner``): ``by_epoch``
            defaults to False.

    Returns:
        ``dict(type='<Policy>LrUpdaterHook', ...)`` for ``custom_hooks`` (priority VERY_HIGH
        is the class default), or ``lr_config`` itself when it is None or a hook.

    Raises:
        ConfigError: Unknown policy or bad argument; the message names ``lr_config.<key>``.
    """
    defaults = {"by_epoch": False} if iter_based else {}
    return _to_hook(lr_config, "LrUpdaterHook", "lr_config", defaults)


def momentum_config_to_hook(momentum_config: Any) -> Any:
    """Turn a 0.x ``momentum_config`` into the config of its ``<Policy>MomentumUpdaterHook``.

    ``by_epoch`` keeps the hook's own default even for iteration-based runs, as in MMCV.

    Returns:
        ``dict(type='<Policy>MomentumUpdaterHook', ...)`` (priority HIGH is the class
        default), or ``momentum_config`` itself when it is None or a hook.

    Raises:
        ConfigError: Unknown policy or bad argument; the message names
            ``momentum_config.<key>``.
    """
    return _to_hook(momentum_config, "MomentumUpdaterHook", "momentum_config", {})


__all__ = ["lr_config_to_hook", "momentum_config_to_hook"]
