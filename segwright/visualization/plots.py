"""Training curves from runs' ``scalars.json`` files, and confusion-matrix figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def find_scalars_file(run: str | Path) -> Path:
    """A run's ``scalars.json``: the file itself, or the newest one under a work dir."""
    run = Path(run)
    if run.is_file():
        return run
    found = sorted(run.glob("**/vis_data/scalars.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(
            f"No vis_data/scalars.json under {run}; is it a segwright work dir?"
        )
    return found[-1]


def read_scalars(path: str | Path) -> list[dict]:
    """The JSON-lines records of one run."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_curves(
    runs: Sequence[str | Path],
    keys: Sequence[str] = ("loss", "val/mIoU"),
    out_file: str | Path = "curves.png",
    labels: Sequence[str] | None = None,
) -> Path:
    """One panel per key, one line per run, against the logged step (iteration)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    for run_index, run in enumerate(runs):
        records = read_scalars(find_scalars_file(run))
        label = labels[run_index] if labels else Path(run).name
        for axis, key in zip(axes[0], keys):
            points = [(r["step"], r[key]) for r in records if key in r]
            if points:
                steps, values = zip(*points)
                axis.plot(steps, values, marker="o" if len(points) < 20 else None, label=label)
    for axis, key in zip(axes[0], keys):
        axis.set_title(key)
        axis.set_xlabel("iteration")
        axis.grid(alpha=0.3)
        if len(runs) > 1:
            axis.legend()
    fig.tight_layout()
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file


def plot_confusion_matrix(
    matrix: np.ndarray,
    classes: Sequence[str],
    out_file: str | Path = "confusion.png",
    normalize: bool = True,
) -> Path:
    """Rows: ground truth, columns: prediction; cells show row-normalised shares (percent)."""
    plt = _pyplot()
    matrix = np.asarray(matrix, dtype=np.float64)
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) * 100 if normalize else matrix
    size = max(4.0, 0.6 * len(classes) + 2)
    fig, axis = plt.subplots(figsize=(size, size))
    image = axis.imshow(shown, cmap="Blues", vmin=0, vmax=100 if normalize else None)
    axis.set_xticks(range(len(classes)), labels=classes, rotation=45, ha="right")
    axis.set_yticks(range(len(classes)), labels=classes)
    axis.set_xlabel("prediction")
    axis.set_ylabel("ground truth")
    for i in range(len(classes)):
        for j in range(len(classes)):
            colour = "white" if shown[i, j] > (60 if normalize else shown.max() * 0.6) else "black"
            axis.text(
                j, i, f"{shown[i, j]:.0f}", ha="center", va="center", color=colour, fontsize=8
            )
    fig.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
    axis.set_title("confusion matrix (% of each true class)" if normalize else "confusion matrix")
    fig.tight_layout()
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file
