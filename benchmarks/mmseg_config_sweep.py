"""How many of MMSegmentation's own config files build in segwright, family by family.

A developer tool for issue 18's real-config sweep, not a test: it reads the config tree that
MMSegmentation's wheel ships (``mmseg/.mim/configs``), loads every method config with
segwright's :func:`~segwright.config.load.load_config` (0.x trees are translated as users'
files are), builds the model on the ``meta`` device (shapes only, nothing allocated, nothing
downloaded: ``pretrained``/``init_cfg`` checkpoints are not read) and prints one row per family
with the first error of each kind. The count goes into ``benchmarks/RESULTS.md``.

Usage::

    .venv/bin/python benchmarks/mmseg_config_sweep.py [--configs DIR] [--family NAME ...]

``--configs`` defaults to ``$MMSEG_CONFIGS``, then to the tree inside the reference venv that
``../shared/tools/mmseg-reference/setup.sh`` builds (``$MMSEG_REFERENCE_VENV``, default
``/tmp/mmseg-ref-venv``).
"""

from __future__ import annotations

import argparse
import collections
import copy
import logging
import os
import sys
import warnings
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import torch

#: Families the issue leaves out on purpose (they need Stable Diffusion / CLIP weights).
LEFT_OUT = {"vpd", "san"}


def default_tree() -> Path | None:
    if os.environ.get("MMSEG_CONFIGS"):
        return Path(os.environ["MMSEG_CONFIGS"])
    venv = Path(os.environ.get("MMSEG_REFERENCE_VENV", "/tmp/mmseg-ref-venv"))
    found = sorted(venv.glob("lib/python3*/site-packages/mmseg/.mim/configs"))
    return found[0] if found else None


def method_configs(tree: Path, families: list[str] | None) -> dict[str, list[Path]]:
    """Family folder -> its config files (``_base_`` and dataset-only trees excluded)."""
    out: dict[str, list[Path]] = collections.defaultdict(list)
    for path in sorted(tree.rglob("*.py")):
        parts = path.relative_to(tree).parts
        if parts[0] == "_base_" or len(parts) < 2 or parts[0] == "dsdl":
            continue
        if families and parts[0] not in families:
            continue
        out[parts[0]].append(path)
    return out


def build_one(path: Path) -> str | None:
    """None when the config loads and its model builds; else a one-line reason."""
    from segwright.config.load import load_config
    from segwright.registry import MODELS, default_scope

    try:
        cfg = load_config(str(path), import_custom_modules=False)
        model = cfg.model.to_dict() if hasattr(cfg.model, "to_dict") else dict(cfg.model)
        model.pop("pretrained", None)
        with default_scope(cfg.get("default_scope") or "mmseg"):
            try:
                with torch.device("meta"):
                    MODELS.build(copy.deepcopy(model))
            except (RuntimeError, NotImplementedError):  # an init that reads values: real CPU
                MODELS.build(model)
    except Exception as error:  # noqa: BLE001  (a sweep reports every failure, it never stops)
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return f"{type(error).__name__}: {first[:160]}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=Path, default=default_tree())
    parser.add_argument("--family", nargs="*", help="only these family folders")
    args = parser.parse_args(argv)
    if args.configs is None or not args.configs.is_dir():
        print(
            "No MMSegmentation config tree found. Build the reference venv with "
            "../shared/tools/mmseg-reference/setup.sh, or pass --configs DIR "
            "(a folder holding MMSeg's configs, e.g. <site-packages>/mmseg/.mim/configs).",
            file=sys.stderr,
        )
        return 2
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    families = method_configs(args.configs, args.family)
    total = built = 0
    total_in_scope = built_in_scope = 0
    print(f"tree: {args.configs}")
    print(f"{'family':<16} {'built':>9}  first failure")
    for family, paths in families.items():
        reasons = collections.Counter()
        ok = 0
        for path in paths:
            reason = build_one(path)
            if reason is None:
                ok += 1
            else:
                reasons[reason] += 1
        total += len(paths)
        built += ok
        if family not in LEFT_OUT:
            total_in_scope += len(paths)
            built_in_scope += ok
        first = reasons.most_common(1)[0][0] if reasons else ""
        print(f"{family:<16} {ok:>4}/{len(paths):<4}  {first}")
    print(f"built: {built}/{total} configs; outside VPD and SAN: {built_in_scope}/{total_in_scope}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
