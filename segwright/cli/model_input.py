"""What ``benchmark``, ``export`` (and ``infer``) share: loading a config's model, shaping its input.

The model runs with ``mode='tensor'`` on an already preprocessed batch (normalised float
``N x C x H x W``), i.e. what the data preprocessor hands a segmentor; the output is the raw
decode-head logits.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


def add_model_arguments(parser: argparse.ArgumentParser, checkpoint: str) -> None:
    """``CONFIG``, ``CHECKPOINT`` (``checkpoint``: 'required', 'optional'), the input flags."""
    parser.add_argument("config", help="config file (.py, .json, .yaml); MMSeg 0.x or 1.x")
    if checkpoint == "optional":
        parser.add_argument(
            "checkpoint", nargs="?", help="checkpoint file (default: freshly initialised weights)"
        )
    else:
        parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument(
        "--shape",
        nargs="+",
        type=int,
        default=[512, 512],
        metavar="SIZE",
        help="input height and width (one value: a square input; default 512 512)",
    )
    parser.add_argument(
        "--in-channels",
        type=int,
        metavar="C",
        help="input channels (default: the backbone's in_channels, else 3)",
    )
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow checkpoints that pickle Python objects (runs code from the file)",
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="use the checkpoint even when it lacks model weights or has them in another "
        "shape (those keep their initial values; refused by default)",
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys, e.g. model.decode_head.num_classes=19",
    )


def parse_shape(values: Sequence[int]) -> tuple[int, int]:
    """``--shape H W`` (or ``--shape S`` for a square) as ``(H, W)``."""
    from segwright.utils.errors import ConfigError

    if len(values) not in (1, 2) or min(values) < 1:
        raise ConfigError(
            "--shape takes the input height and width (or one size for a square), got "
            f"{' '.join(map(str, values))}."
        )
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def input_channels(cfg: Any, given: int | None = None) -> int:
    """``given``, else the backbone's ``in_channels``, else 3."""
    from segwright.utils.errors import ConfigError

    channels = given
    if channels is None:
        backbone = (cfg.get("model") or {}).get("backbone")
        found = backbone.get("in_channels") if hasattr(backbone, "get") else None
        channels = found if isinstance(found, int) and not isinstance(found, bool) else 3
    if channels < 1:
        raise ConfigError(f"--in-channels must be positive, got {channels}.")
    return int(channels)


def check_device(device: str) -> None:
    """A CUDA device asked for on a machine without one is a user error."""
    import torch

    from segwright.utils.errors import ConfigError

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA device is available here; use --device cpu.")


def load_model(args: argparse.Namespace, device: str = "cpu") -> tuple[Any, Any, bool]:
    """The config's model in eval mode on ``device``, with the checkpoint's weights if any.

    Returns:
        The model, its config, and whether the config was MMSeg 0.x (translated).
    """
    from segwright.cli.config_loading import load_config

    check_device(device)
    cfg, legacy = load_config(args.config, args.cfg_options)
    if cfg.get("model") is None:
        from segwright.utils.errors import ConfigError

        raise ConfigError(f"{args.config} has no 'model'. Add model=dict(type=..., ...).")
    model = init_model_for_command(
        cfg, args.checkpoint, device, args.trust_checkpoint, args.allow_partial
    )
    return model, cfg, legacy


def init_model_for_command(
    config: Any, checkpoint: Any, device: str, trust_checkpoint: bool, allow_partial: bool
) -> Any:
    """``init_model``, with a checkpoint misfit worded for the command line (``--allow-partial``).

    Raises:
        CheckpointMismatchError: the checkpoint does not cover the model and ``allow_partial``
            is false.
    """
    from segwright.apis import init_model
    from segwright.engine.checkpoint import describe_misfit
    from segwright.utils.errors import CheckpointMismatchError

    try:
        return init_model(
            config,
            checkpoint,
            device=device,
            trust_checkpoint=trust_checkpoint,
            allow_partial=allow_partial,
        )
    except CheckpointMismatchError as exc:
        if exc.report is None:
            raise
        fix = "add --allow-partial (the rest keeps its initial values)"
        source = exc.source or str(checkpoint)
        raise CheckpointMismatchError(
            describe_misfit(exc.report, source, fix), exc.report, source
        ) from None


def tensor_forward(model: Any, inputs: Any) -> Any:
    """``model(inputs, mode='tensor')`` for segwright models, ``model(inputs)`` for others."""
    from segwright.engine.model import BaseModel

    if isinstance(model, BaseModel):
        return model(inputs, mode="tensor")
    return model(inputs)
