"""``segwright`` entry point: subcommands, and user errors printed as one readable paragraph.

Subcommand modules import torch only inside ``run`` so ``segwright --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
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
#: Another rank of a distributed run died.
EXIT_PEER_LOST = 1


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


def user_message(exc: BaseException | str) -> str:
    """The error's own text; for one raised in a DataLoader worker, without the worker's traceback.

    torch re-raises a worker's exception as ``Caught X in DataLoader worker process N.`` followed
    by the worker's traceback; the user's message is what follows the last ``module.X: ``.
    """
    message = str(exc).strip() or type(exc).__name__
    if isinstance(exc, BaseException) and "Original Traceback (most recent call last):" in message:
        kind = type(exc)
        marker = f"{kind.__module__}.{kind.__qualname__}: "
        if marker in message:
            message = message.rsplit(marker, 1)[1].strip()
    return message


def _print_user_error(exc: BaseException | str) -> None:
    message = user_message(exc)
    print(f"segwright: error: {message}", file=sys.stderr)
    print("(run with --debug to see the traceback)", file=sys.stderr)


def _trust_scope(args: argparse.Namespace) -> contextlib.AbstractContextManager[None]:
    """``--trust-checkpoint`` also lets the files a config names be unpickled (class_weight)."""
    if not getattr(args, "trust_checkpoint", False):
        return contextlib.nullcontext()
    from segwright.engine.safe_unpickle import trusted_pickles

    return trusted_pickles()


def _distributed_failure(exc: BaseException) -> str | None:
    """In a distributed run: the line for a dead peer, else None after telling the peers why."""
    if "torch.distributed" not in sys.modules:
        return None
    from segwright.engine import dist as seg_dist

    try:
        if seg_dist.is_peer_failure(exc):
            return seg_dist.describe_peer_failure(exc)
        seg_dist.report_failure(exc)
    except Exception:  # never hide the original error behind one of ours
        return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from segwright.cli.config_loading import config_key_origins
    from segwright.utils.errors import SegwrightError

    try:
        with _trust_scope(args), config_key_origins():
            result = args._module.run(args)
    except KeyboardInterrupt:
        print("segwright: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        peer_lost = _distributed_failure(exc)  # a dead rank: say which, not gloo's traceback
        user_error = isinstance(
            exc, (SegwrightError, FileNotFoundError, PermissionError, IsADirectoryError)
        )
        if args.debug or not (peer_lost or user_error):
            raise
        _print_user_error(peer_lost or exc)
        return EXIT_PEER_LOST if peer_lost else EXIT_USER_ERROR
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
