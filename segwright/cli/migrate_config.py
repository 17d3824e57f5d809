"""Rewrite an MMSeg 0.x config (MMCV runner) as a native 1.x-style config file.

segwright runs 0.x configs unchanged by translating them when a run starts; this command
writes that translation out, with a comment at the top for everything that changed meaning.
The output has no _base_ files: every value is written out.
"""

from __future__ import annotations

import argparse
import textwrap


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="the MMSeg 0.x config file (.py, .json, .yaml)")
    parser.add_argument(
        "-o", "--output", help="where to write the new .py config (default: print it)"
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override keys of the 0.x config before translating it",
    )


def migrated_text(source: str, values: dict, notes: list[str]) -> str:
    """The translated config as Python source, the notes as a comment block at the top."""
    from segwright.config.dump import to_python

    lines = [
        "# Translated from an MMSeg 0.x config by `segwright migrate-config`:",
        f"#   {source}",
    ]
    if notes:
        lines.append("# What changed meaning, or was dropped:")
        for note in notes:
            wrapped = textwrap.wrap(note, width=96, break_on_hyphens=False) or [""]
            lines.append(f"# - {wrapped[0]}")
            lines.extend(f"#   {rest}" for rest in wrapped[1:])
    else:
        lines.append("# Nothing changed meaning.")
    return "\n".join(lines) + "\n\n" + to_python(values)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from segwright.config import load_config
    from segwright.utils.errors import ConfigError

    # The same loading as a run: what this writes is what `segwright train` would run.
    cfg = load_config(args.config, args.cfg_options, import_custom_modules=False)
    report = cfg.load_report
    if not report.legacy:
        raise ConfigError(
            f"{args.config} is not an MMSeg 0.x config (it has no 0.x keys such as optimizer, "
            "lr_config, runner or data, or it already has optim_wrapper/train_dataloader); "
            "nothing to migrate."
        )
    notes = report.notes
    text = migrated_text(args.config, cfg.to_dict(), notes)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote {args.output} ({len(notes)} note(s)).")
    else:
        print(text, end="")
    return 0
