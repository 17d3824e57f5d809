"""Print the merged config, and with --explain where every key was set.

Bases are merged, --cfg-options applied, and the result printed as Python (default), JSON
or YAML. With --format json the JSON stands alone on stdout so scripts can read it. With
--explain every leaf key is shown with the file and line (or the --cfg-options entry) that
set it last. custom_imports are not imported: printing runs no user module.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file (.py, .json, .yaml)")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override keys, e.g. model.decode_head.num_classes=3 'crop_size=(256,256)'",
    )
    parser.add_argument(
        "--format", choices=("py", "json", "yaml"), default="py", help="output format"
    )
    parser.add_argument(
        "--explain", action="store_true", help="show the file:line or option that set each key"
    )


def run(args: argparse.Namespace) -> int:
    from segwright.config import Config
    from segwright.config.dump import FORMATTERS

    cfg = Config.fromfile(args.config, import_custom_modules=False)
    if args.cfg_options:
        cfg.merge_from_options(args.cfg_options)
    if args.explain:
        print(format_explain(cfg))
        return 0
    print(FORMATTERS[args.format](cfg.to_dict()), end="")
    return 0


def format_explain(cfg: object) -> str:
    """``key = value    # source`` lines, values aligned."""
    origins = cfg.explain()  # type: ignore[attr-defined]
    rows = [(f"{o.key} = {o.value!r}", o.source) for o in origins]
    width = min(max((len(left) for left, _ in rows), default=0), 70)
    return "\n".join(f"{left:<{width}}  # {source}" for left, source in rows)
