"""0.x ``lr_config``/``momentum_config`` as ``param_scheduler`` entries with MMCV's numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.config.legacy.notes import _TranslatorBase
from segwright.registry import PARAM_SCHEDULERS, build_path
from segwright.utils.errors import ConfigError
from segwright.utils.suggest import did_you_mean

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


def _policy_name(policy: Any, suffix: str, known: tuple[str, ...], key: str) -> str:
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
                f"Config key '{key}.policy': {policy!r} becomes {name!r} under MMCV's naming "
                f"rule (lower-case names are only capitalised), which does not exist. "
                f"Write policy='{same[0]}'."
            )
        raise ConfigError(
            f"Config key '{key}.policy': unknown policy {policy!r}.{did_you_mean(policy, known)} "
            f"Known policies: {', '.join(known)}. A policy of your own is a parameter scheduler "
            f"now: register it in PARAM_SCHEDULERS and list it in param_scheduler."
        )
    return name


#: Policies whose MMCV hook defaults to ``by_epoch=False`` (they run per iteration).
_PER_ITERATION = ("Cyclic", "OneCycle")


class _ScheduleMixin(_TranslatorBase):
    """``lr_config``/``momentum_config`` -> ``param_scheduler`` entries ``MMCV<Policy>LR``/...``Momentum``.

    MMCV's ``by_epoch`` becomes the scheduler's ``progress``: ``'iter'`` (False), ``'epoch'``
    (True, epoch-based runner) or ``'frozen'`` (True under an ``IterBasedRunner``, which never
    calls ``before_train_epoch``: MMCV leaves the value at its base). ``IterBasedRunner``
    defaults ``by_epoch=False`` for ``lr_config`` (not for ``momentum_config``).
    """

    def _updater_hooks(self, iter_based: bool) -> None:  # name kept: translate.py calls it
        schedulers: list[dict[str, Any]] = []
        for key, suffix, known in (
            ("lr_config", "LR", _LR_POLICIES),
            ("momentum_config", "Momentum", _MOMENTUM_POLICIES),
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
                    f"Config key '{key}.type' is not read by MMCV (the scheduler type comes from "
                    "'policy'); remove it."
                )
            policy = _policy_name(args.pop("policy"), suffix, known, key)
            default_by_epoch = policy not in _PER_ITERATION and not (
                iter_based and key == "lr_config"
            )
            by_epoch = args.pop("by_epoch", default_by_epoch)
            if not isinstance(by_epoch, bool):
                raise ConfigError(
                    f"Config key '{key}.by_epoch' must be True or False, got {by_epoch!r}."
                )
            progress = "iter" if not by_epoch else "frozen" if iter_based else "epoch"
            entry: dict[str, Any] = dict(type=f"MMCV{policy}{suffix}", by_epoch=False)
            if progress != "iter":
                entry["progress"] = progress
            entry.update(args)
            scheduler_cls = PARAM_SCHEDULERS.get(entry["type"])
            check = getattr(scheduler_cls, "check_config", None)
            if check is not None:  # report a bad argument under lr_config.<key>
                with build_path(key):
                    check({k: v for k, v in entry.items() if k != "type"})
            self.made_from[("param_scheduler", len(schedulers))] = (key,)
            schedulers.append(entry)
            self.note(
                f"{key} -> param_scheduler {entry['type']}: MMCV's formula and timing (the value "
                "of iteration i is set before it, warmup on the scheduled value)."
                + (
                    " by_epoch=True under IterBasedRunner: MMCV never updates it, the value "
                    "stays the base value (progress='frozen')."
                    if progress == "frozen"
                    else ""
                )
            )
        if schedulers:
            self.out["param_scheduler"] = schedulers
