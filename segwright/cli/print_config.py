"""Print the merged config, and with --explain where every key was set.

Bases are merged, --cfg-options applied, an MMSeg 0.x config translated to the 1.x keys a run
uses (each translated key explained by the 0.x file:line it came from; --as-written skips the
translation), and the result printed as Python (default), JSON or YAML. With --format json the JSON stands alone on stdout so scripts can read it. With
--explain every leaf key is shown with the file and line (or the --cfg-options entry) that
set it last. custom_imports are not imported: printing runs no user module.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file (.py, .json, .yaml); MMSeg 0.x or 1.x")
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
    parser.add_argument(
        "--as-written",
        action="store_true",
        help="print an MMSeg 0.x config as merged, without translating it to the 1.x keys a "
        "run uses",
    )


def run(args: argparse.Namespace) -> int:
    from segwright.config import Config, load_config
    from segwright.config.dump import FORMATTERS

    if args.as_written:
        cfg = Config.fromfile(args.config, import_custom_modules=False)
        if args.cfg_options:
            cfg.merge_from_options(args.cfg_options)
    else:
        cfg = load_config(args.config, args.cfg_options, import_custom_modules=False)
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
