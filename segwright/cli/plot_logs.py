"""Plot training curves (loss, val/mIoU, ...) of one or several runs into one PNG.

Each RUN is a work directory (its newest vis_data/scalars.json is used) or a scalars.json
file. One panel per key, one line per run, against the iteration.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help="work dirs or scalars.json files")
    parser.add_argument(
        "--keys",
        nargs="+",
        default=["loss", "val/mIoU"],
        metavar="KEY",
        help="logged values to plot (default: loss val/mIoU)",
    )
    parser.add_argument(
        "--labels", nargs="+", metavar="LABEL", help="legend names of the runs, in order"
    )
    parser.add_argument("-o", "--out", default="curves.png", help="PNG to write")


def run_labels(runs: list[str], files: list[Path]) -> list[str]:
    """Legend names: the work dir's (or the run folder's) name; full paths when they clash."""
    names = []
    for run, file in zip(runs, files):
        path = Path(run)
        if path.is_file():  # <run folder>/vis_data/scalars.json -> <run folder>
            parent = file.parent.parent if file.parent.name == "vis_data" else file.parent
            names.append(parent.name or str(file))
        else:
            names.append(path.resolve().name or str(path))
    if len(set(names)) < len(names):
        names = [str(run) for run in runs]
    return names


def run(args: argparse.Namespace) -> int:
    from segwright.utils.errors import ConfigError
    from segwright.visualization.plots import find_scalars_file, plot_curves, read_scalars

    files = [find_scalars_file(run) for run in args.runs]
    available: set[str] = set()
    per_run: list[set[str]] = []
    for file in files:
        keys = {key for record in read_scalars(file) for key in record} - {"step"}
        per_run.append(keys)
        available |= keys
    unknown = [key for key in args.keys if key not in available]
    if unknown:
        raise ConfigError(
            f"No run logged {', '.join(map(repr, unknown))}. Available keys: "
            f"{', '.join(sorted(available)) or 'none (empty scalars.json)'}. "
            "Choose some with --keys."
        )
    if args.labels and len(args.labels) != len(args.runs):
        raise ConfigError(
            f"--labels names {len(args.labels)} runs but {len(args.runs)} were given."
        )
    labels = list(args.labels) if args.labels else run_labels(args.runs, files)
    out = plot_curves(files, keys=args.keys, out_file=args.out, labels=labels)
    for label, file, keys in zip(labels, files, per_run):
        missing = [key for key in args.keys if key not in keys]
        note = f" (no {', '.join(missing)})" if missing else ""
        print(f"{label}: {file}{note}")
    print(f"plot: {out}")
    return 0
