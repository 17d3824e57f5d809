"""Compute loss class weights from the pixel counts of a config's training label maps.

Reads the label maps of train_dataloader.dataset (all of them, or --num-samples spread over
the dataset) as the dataset decodes them (reduce_zero_label, class subsets), counts pixels
per class leaving ignore_index out, and prints a per-class table and a class_weight=[...]
line to paste into loss_decode. Methods: 'median' is median-frequency balancing (Eigen &
Fergus: w_c = median(freq) / freq_c, freq_c = pixels of c / labelled pixels of the images
where c appears); 'log' is ENet's inverse log frequency (w_c = 1 / ln(1.02 + p_c), p_c = share
of c among all labelled pixels). A class that never appears gets weight 0.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file (.py, .json, .yaml); MMSeg 0.x or 1.x")
    parser.add_argument(
        "--num-samples",
        type=int,
        metavar="N",
        help="read N label maps spread over the dataset (default: all)",
    )
    parser.add_argument(
        "--method",
        choices=("median", "log"),
        default="median",
        help="median-frequency balancing (default) or ENet's inverse log frequency",
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys, e.g. train_dataloader.dataset.data_root=data/x",
    )


def build_train_dataset(cfg: Any) -> Any:
    """``train_dataloader.dataset`` of a config, built from DATASETS."""
    from segwright.registry import DATASETS
    from segwright.utils.errors import ConfigError

    loader = cfg.get("train_dataloader") or {}
    dataset_cfg = loader.get("dataset") if hasattr(loader, "get") else None
    if dataset_cfg is None:
        raise ConfigError(
            "The config has no train_dataloader.dataset to read label maps from. Add "
            "train_dataloader=dict(dataset=dict(type=..., ...))."
        )
    if hasattr(dataset_cfg, "to_dict"):
        dataset_cfg = dataset_cfg.to_dict()
    return DATASETS.build(dataset_cfg, key="train_dataloader.dataset")


def format_table(stats: Any, frequencies: Any, weights: Any, method: str) -> str:
    """One row per class: pixels, share of labelled pixels, maps, frequency, weight."""
    total = max(stats.labelled_pixels, 1)
    freq_name = "freq_c" if method == "median" else "p_c"
    header = ("id", "class", "pixels", "share %", "maps", freq_name, "weight")
    rows = [header]
    for index, name in enumerate(stats.classes):
        pixels = int(stats.pixels[index])
        rows.append(
            (
                str(index),
                name,
                f"{pixels:,}",
                f"{100.0 * pixels / total:.2f}",
                str(int(stats.maps_with_class[index])),
                f"{float(frequencies[index]):.4f}",
                f"{float(weights[index]):.4f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].rjust(widths[0]), row[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(row[2:], widths[2:])]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import warnings

    from segwright.cli.config_loading import load_config
    from segwright.datasets.class_weights import (
        class_frequencies,
        compute_class_weights,
        count_class_pixels,
        format_class_weight,
    )

    cfg, legacy = load_config(args.config, args.cfg_options)
    dataset = build_train_dataset(cfg)
    stats = count_class_pixels(dataset, args.num_samples)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        weights = compute_class_weights(stats, args.method)
    label = "median-frequency balancing" if args.method == "median" else "inverse log frequency"
    left_out = f"{stats.ignored_pixels:,} ignored (ignore_index={stats.ignore_index})"
    if stats.invalid_pixels:
        left_out += f", {stats.invalid_pixels:,} with values outside 0..{stats.num_classes - 1}"
    if legacy:
        print(f"{args.config}: MMSeg 0.x config, translated.")
    print(
        f"{type(dataset).__name__}: {stats.num_maps} label map(s) read, "
        f"{stats.labelled_pixels:,} labelled pixels, {left_out}."
    )
    print(f"Method: {label} ({args.method}).")
    print()
    print(format_table(stats, class_frequencies(stats, args.method), weights, args.method))
    print()
    for warning in caught:
        print(f"warning: {warning.message}")
    if stats.invalid_pixels:
        print(
            "warning: some pixels hold values that are neither a class nor ignore_index; they "
            "were left out (the label check before training reports which files)."
        )
    print("Paste into loss_decode, e.g. dict(type='CrossEntropyLoss', ..., class_weight=[...]):")
    print(format_class_weight(weights))
    return 0
