"""``segwright`` entry point: subcommands, and user errors printed as one readable paragraph.

Subcommand modules import torch only inside ``run`` so ``segwright --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand name -> module under segwright.cli defining ``add_arguments(parser)`` and ``run(args)``.
COMMANDS = {
    "print-config": "print_config",
    "train": "train",
    "test": "test",
    "infer": "infer",
    "demo": "demo",
    "plot-lr": "plot_lr",
    "migrate-config": "migrate_config",
    "flops": "flops",
    "class-weights": "class_weights",
    "plot-logs": "plot_logs",
    "browse-dataset": "browse_dataset",
    "benchmark": "benchmark",
    "export": "export",
}

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segwright",
        description="Config-driven semantic segmentation on PyTorch; runs MMSegmentation configs.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when something goes wrong"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"segwright.cli.{module_name}")
        doc = (module.__doc__ or "").strip().splitlines()[0]
        command = sub.add_parser(name, help=doc, description=(module.__doc__ or "").strip())
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def _print_user_error(exc: BaseException) -> None:
    message = str(exc).strip() or type(exc).__name__
    print(f"segwright: error: {message}", file=sys.stderr)
    print("(run with --debug to see the traceback)", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from segwright.utils.errors import SegwrightError

    try:
        result = args._module.run(args)
    except SegwrightError as exc:
        if args.debug:
            raise
        _print_user_error(exc)
        return EXIT_USER_ERROR
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        if args.debug:
            raise
        _print_user_error(exc)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("segwright: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
