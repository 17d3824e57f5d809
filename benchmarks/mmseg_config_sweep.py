"""How many of MMSegmentation's own config files build in segwright, family by family.

A developer tool for issue 18's real-config sweep, not a test: it reads the config tree that
MMSegmentation's wheel ships (``mmseg/.mim/configs``), loads every method config with
segwright's :func:`~segwright.config.load.load_config` (0.x trees are translated as users'
files are), builds the model on the ``meta`` device (shapes only, nothing allocated, nothing
downloaded: ``pretrained``/``init_cfg`` checkpoints are not read) and prints one row per family
with the first error of each kind. The count goes into ``benchmarks/RESULTS.md``.

Failures are counted in two kinds: "model not yet supported" (the registry knows no such model
type: a family whose parts are not written yet) and "translation/loading" (everything else:
the config does not load or translate, or a known part refuses its arguments). A 0.x config
keeps its ``model.pretrained`` (moved to the backbone, read only by ``init_weights``, which the
sweep never calls) and imports its translated ``custom_imports``, as its users' runs do; 1.x
configs drop ``pretrained`` and import nothing, as before.
``--pipelines`` also builds every dataloader's transforms and the ``tta_pipeline``.

Usage::

    .venv/bin/python benchmarks/mmseg_config_sweep.py [--configs DIR] [--family NAME ...]
        [--tree-version LABEL] [--pipelines]

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


#: Failure kinds, in the order the summary lists them.
UNSUPPORTED = "model not yet supported"
FAILED = "translation/loading"


def failure_kind(reason: str) -> str:
    """:data:`UNSUPPORTED` for an unknown or left-out model type (VPD, SAN), else :data:`FAILED`."""
    unknown = reason.startswith("RegistryError: Unknown model type")
    return UNSUPPORTED if unknown or "which segwright leaves out" in reason else FAILED


def _plain(value):
    return value.to_dict() if hasattr(value, "to_dict") else copy.deepcopy(value)


def _build_pipelines(cfg) -> None:
    """Build each dataloader's transforms and the ``tta_pipeline`` (raises what a run would)."""
    from segwright.registry import TRANSFORMS

    pipelines = [cfg.get("tta_pipeline")]
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        dataset = (cfg.get(name) or {}).get("dataset") or {}
        while isinstance(dataset, dict) and "dataset" in dataset:  # RepeatDataset and kin
            dataset = dataset["dataset"]
        datasets = dataset.get("datasets", [dataset]) if isinstance(dataset, dict) else dataset
        pipelines += [d.get("pipeline") for d in datasets if isinstance(d, dict)]
    for pipeline in pipelines:
        for step in _plain(pipeline) or []:
            TRANSFORMS.build(step)


def build_one(path: Path, pipelines: bool = False) -> tuple[str | None, bool]:
    """``(None, legacy)`` when the config loads and its model builds; else a one-line reason."""
    from segwright.config.load import load_config
    from segwright.registry import MODELS, default_scope

    legacy = False
    try:
        cfg = load_config(str(path), import_custom_modules=False)
        legacy = bool(cfg.load_report and cfg.load_report.legacy)
        model = _plain(cfg.model)
        if legacy:
            cfg.import_custom_modules()  # its translated custom_imports, as a 0.x user's run
        else:
            model.pop("pretrained", None)
        with default_scope(cfg.get("default_scope") or "mmseg"):
            try:
                with torch.device("meta"):
                    MODELS.build(copy.deepcopy(model))
            except (RuntimeError, NotImplementedError):  # an init that reads values: real CPU
                MODELS.build(model)
            if pipelines:
                _build_pipelines(cfg)
    except Exception as error:  # noqa: BLE001  (a sweep reports every failure, it never stops)
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return f"{type(error).__name__}: {first[:160]}", legacy
    return None, legacy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=Path, default=default_tree())
    parser.add_argument("--family", nargs="*", help="only these family folders")
    parser.add_argument("--tree-version", help="a label for the tree, e.g. 0.30.0 or 1.2.2")
    parser.add_argument(
        "--pipelines", action="store_true", help="also build the dataloaders' transforms"
    )
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
    total = built = legacy_count = 0
    total_in_scope = built_in_scope = 0
    kinds: collections.Counter = collections.Counter()
    label = f" (MMSegmentation {args.tree_version})" if args.tree_version else ""
    print(f"tree: {args.configs}{label}")
    print(f"{'family':<16} {'built':>9}  {'unsup':>5} {'fail':>4}  first failure")
    for family, paths in families.items():
        reasons: collections.Counter = collections.Counter()
        ok = 0
        for path in paths:
            reason, legacy = build_one(path, args.pipelines)
            legacy_count += legacy
            if reason is None:
                ok += 1
            else:
                reasons[reason] += 1
        by_kind = collections.Counter()
        for reason, n in reasons.items():
            by_kind[failure_kind(reason)] += n
        kinds.update(by_kind)
        total += len(paths)
        built += ok
        if family not in LEFT_OUT:
            total_in_scope += len(paths)
            built_in_scope += ok
        # A translation/loading failure is the one to read first: it is ours to fix.
        failed = [r for r, _ in reasons.most_common() if failure_kind(r) == FAILED]
        first = failed[0] if failed else (reasons.most_common(1)[0][0] if reasons else "")
        print(
            f"{family:<16} {ok:>4}/{len(paths):<4}  {by_kind[UNSUPPORTED]:>5} "
            f"{by_kind[FAILED]:>4}  {first}"
        )
    print(f"0.x configs (translated on loading): {legacy_count}/{total}")
    print(f"failed: {kinds[UNSUPPORTED]} {UNSUPPORTED}, {kinds[FAILED]} {FAILED}")
    print(f"built: {built}/{total} configs; outside VPD and SAN: {built_in_scope}/{total_in_scope}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
