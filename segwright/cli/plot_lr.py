"""Plot the learning rate (and momentum) of every parameter group over a config's training run.

Nothing is trained: the model is built only for its parameter groups, and the schedulers
(param_scheduler; a 0.x lr_config/momentum_config is translated into MMCV-policy schedulers) are
stepped iteration by iteration. The value shown for iteration i is the one in force while iteration i trains.
Groups with identical curves share one line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

#: At most this many distinct curves get a legend entry.
MAX_LEGEND = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file (.py, .json, .yaml); MMSeg 0.x or 1.x")
    parser.add_argument(
        "-o", "--out", help="PNG to write (default: lr.png unless only --json is given)"
    )
    parser.add_argument(
        "--json", help="also write the values: {'lr': [[...]], 'momentum': [[...]]}"
    )
    parser.add_argument(
        "--epoch-length",
        type=int,
        metavar="N",
        help="iterations per epoch (default: len(train dataloader), when it can be built)",
    )
    parser.add_argument(
        "--num-iters", type=int, metavar="N", help="show only the first N iterations"
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys, e.g. train_cfg.max_iters=1000",
    )


def _curves(series: list[list[float]]) -> list[tuple[str, list[float]]]:
    """Distinct curves with a label naming the groups that follow them."""
    members: dict[tuple[float, ...], list[int]] = {}
    for index, values in enumerate(series):
        members.setdefault(tuple(values), []).append(index)
    curves = []
    for values, groups in members.items():
        if len(groups) == 1:
            label = f"group {groups[0]}"
        elif groups == list(range(groups[0], groups[-1] + 1)):
            label = f"groups {groups[0]}-{groups[-1]}"
        else:
            shown = ", ".join(map(str, groups[:6]))
            label = f"groups {shown}{', ...' if len(groups) > 6 else ''} ({len(groups)})"
        curves.append((label, list(values)))
    return curves


def plot_schedule(values: dict[str, list[list[float]]], path: Path, title: str = "") -> None:
    """Draw lr (and momentum, when there is any) against iterations into a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [("learning rate", values["lr"])]
    if values.get("momentum"):
        panels.append(("momentum", values["momentum"]))
    figure = Figure(figsize=(9, 3.2 * len(panels) + 0.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, series) in zip(axes, panels):
        curves = _curves(series)
        for index, (label, ys) in enumerate(curves):
            ax.plot(range(len(ys)), ys, label=label if index < MAX_LEGEND else None, lw=1.4)
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        if len(curves) > 1:
            extra = len(curves) - MAX_LEGEND
            ax.legend(
                fontsize="small",
                title=f"+{extra} more curves" if extra > 0 else None,
                loc="best",
            )
    axes[-1].set_xlabel("iteration")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def _summary(values: dict[str, list[list[float]]]) -> str:
    lrs = values["lr"]
    if not lrs or not lrs[0]:
        return "no iterations"
    first = lrs[0]
    peak = max(first)
    return (
        f"{len(first)} iterations, {len(lrs)} param group(s); group 0 lr: start {first[0]:.4e}, "
        f"peak {peak:.4e} (iteration {first.index(peak)}), last {first[-1]:.4e}"
    )


def run(args: argparse.Namespace) -> int:
    from segwright.config import load_config
    from segwright.engine.schedule_preview import preview_schedule

    cfg: Any = load_config(args.config, args.cfg_options)  # an MMSeg 0.x config is translated
    values = preview_schedule(cfg, num_iters=args.num_iters, epoch_length=args.epoch_length)
    print(_summary(values))
    if args.json:
        json_path = Path(args.json)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(values))
        print(f"values: {json_path}")
    out = args.out or (None if args.json else "lr.png")
    if out:
        plot_schedule(values, Path(out), title=Path(args.config).name)
        print(f"plot: {out}")
    return 0
