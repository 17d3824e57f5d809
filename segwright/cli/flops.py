"""Count a config's model parameters and FLOPs on one input of a given size.

The model runs once in eval mode on a 1 x C x H x W input with mode='tensor' (for
segmentors: backbone, neck and decode head, i.e. the raw decode-head logits; auxiliary heads
only count parameters), on PyTorch's meta device (shapes only, so large inputs are quick) or,
for models that need real values, on the CPU. FLOPs come from torch.utils.flop_counter, which
counts a multiply-add as 2 FLOPs (so GMACs = GFLOPs / 2) and counts convolutions, matrix
products and attention, not norms, activations, pooling or resizing.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file (.py, .json, .yaml); MMSeg 0.x or 1.x")
    parser.add_argument(
        "--shape",
        nargs="+",
        type=int,
        required=True,
        metavar="SIZE",
        help="input height and width (one value: a square input)",
    )
    parser.add_argument(
        "--in-channels",
        type=int,
        metavar="C",
        help="input channels (default: the backbone's in_channels, else 3)",
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys, e.g. model.decode_head.num_classes=19",
    )


def build_model(cfg: Any) -> Any:
    """The config's ``model`` (with the top-level ``data_preprocessor``), built from MODELS."""
    from segwright.registry import MODELS
    from segwright.utils.errors import ConfigError

    model_cfg = cfg.get("model")
    if model_cfg is None:
        raise ConfigError("The config has no 'model'. Add model=dict(type=..., ...).")
    model_cfg = model_cfg.to_dict() if hasattr(model_cfg, "to_dict") else dict(model_cfg)
    if "data_preprocessor" not in model_cfg and cfg.get("data_preprocessor") is not None:
        preprocessor = cfg.get("data_preprocessor")
        model_cfg["data_preprocessor"] = (
            preprocessor.to_dict() if hasattr(preprocessor, "to_dict") else dict(preprocessor)
        )
    return MODELS.build(model_cfg, key="model")


@dataclass
class ModuleCost:
    """Parameters and FLOPs of one module.

    Attributes:
        name: Attribute name in the model (``backbone``, ...) or ``total``.
        params: All parameters.
        trainable: Parameters with ``requires_grad``.
        flops: FLOPs of the forward pass; None when the forward did not run the module.
    """

    name: str
    params: int
    trainable: int
    flops: int | None


def count_parameters(module: Any) -> tuple[int, int]:
    """``(all, trainable)`` parameter counts (shared parameters counted once)."""
    params = list(module.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def _run_forward(model: Any, inputs: Any) -> Any:
    from segwright.engine.model import BaseModel

    if isinstance(model, BaseModel):
        return model(inputs, mode="tensor")
    return model(inputs)


def count_flops(model: Any, input_shape: tuple[int, ...], device: str) -> tuple[int, dict]:
    """Total FLOPs of one forward on ``device``, and FLOPs per top-level module that ran.

    Each child's ``forward`` is wrapped on the instance, so calls that bypass ``__call__``
    (``self.decode_head.forward(x)``, as segmentors do) are attributed too.
    """
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    per_child: dict[str, int] = {}
    wrapped: list[tuple[Any, Any]] = []

    def wrap(name: str, child: Any) -> None:
        original = child.forward
        own = child.__dict__.get("forward")  # an instance-level forward to put back

        def forward(*args: Any, **kwargs: Any) -> Any:
            before = counter.get_total_flops()
            try:
                return original(*args, **kwargs)
            finally:
                spent = counter.get_total_flops() - before
                per_child[name] = per_child.get(name, 0) + int(spent)

        child.forward = forward
        wrapped.append((child, own))

    for name, child in model.named_children():
        wrap(name, child)
    # Fused attention kernels (nn.MultiheadAttention's inference fast path, the CPU flash
    # kernel of scaled_dot_product_attention) are ops the counter does not know: take the
    # plain matrix-product path so attention is counted.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:
            _run_forward(model, torch.zeros(input_shape, device=device))
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        for child, own in wrapped:
            if own is None:
                del child.forward  # back to the class's forward
            else:
                child.forward = own
    return int(counter.get_total_flops()), per_child


def measure_costs(model: Any, input_shape: tuple[int, ...]) -> list[ModuleCost]:
    """Parameters and FLOPs of each top-level module of ``model``, then the ``total`` row.

    The model is put in eval mode and run once under ``torch.no_grad`` on zeros of
    ``input_shape``, counted by :class:`torch.utils.flop_counter.FlopCounterMode`. The run
    happens on the ``meta`` device (shapes only: fast, no memory); a model that cannot run
    there (data-dependent code) runs on the CPU instead, with the same counts.
    """
    import copy

    from segwright.utils.errors import SegwrightError

    model.train()  # backbones freeze their frozen_stages in train(); count that
    model.eval()

    try:
        total_flops, per_child = count_flops(copy.deepcopy(model).to("meta"), input_shape, "meta")
    except SegwrightError:
        raise  # the input does not suit the model (e.g. UNet's size divisor): say so
    except Exception:  # code that needs real values (.item(), if tensor): use the CPU
        total_flops, per_child = count_flops(model, input_shape, "cpu")
    costs = []
    for name, child in model.named_children():
        params, trainable = count_parameters(child)
        flops = per_child.get(name)
        if params == 0 and not flops:
            continue  # e.g. a data preprocessor: nothing to report
        costs.append(ModuleCost(name, params, trainable, flops))
    params, trainable = count_parameters(model)
    costs.append(ModuleCost("total", params, trainable, total_flops))
    return costs


def _giga(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e9:.4g}"


def format_costs(costs: list[ModuleCost]) -> str:
    """The per-module table."""
    total_flops = costs[-1].flops or 0
    header = ("module", "parameters", "trainable", "GFLOPs", "GMACs", "FLOPs %")
    rows = [header]
    for cost in costs:
        share = "-"
        if cost.flops is not None and total_flops:
            share = f"{100.0 * cost.flops / total_flops:.1f}"
        rows.append(
            (
                cost.name,
                f"{cost.params:,}",
                f"{cost.trainable:,}",
                _giga(cost.flops),
                _giga(None if cost.flops is None else cost.flops // 2),
                share,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if index == 0 or index == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _input_shape(args: argparse.Namespace, cfg: Any) -> tuple[int, int, int, int]:
    from segwright.utils.errors import ConfigError

    if len(args.shape) not in (1, 2) or min(args.shape) < 1:
        raise ConfigError(
            f"--shape takes the input height and width (or one size for a square), got "
            f"{' '.join(map(str, args.shape))}."
        )
    height, width = (args.shape[0], args.shape[0]) if len(args.shape) == 1 else args.shape
    channels = args.in_channels
    if channels is None:
        backbone = (cfg.get("model") or {}).get("backbone")
        found = backbone.get("in_channels") if hasattr(backbone, "get") else None
        channels = found if isinstance(found, int) and not isinstance(found, bool) else 3
    if channels < 1:
        raise ConfigError(f"--in-channels must be positive, got {channels}.")
    return 1, int(channels), int(height), int(width)


def run(args: argparse.Namespace) -> int:
    from segwright.cli.config_loading import load_config

    cfg, legacy = load_config(args.config, args.cfg_options)
    shape = _input_shape(args, cfg)
    model = build_model(cfg)
    costs = measure_costs(model, shape)
    total = costs[-1]
    not_run = [c.name for c in costs[:-1] if c.flops is None]
    source = f"{args.config} (MMSeg 0.x config, translated)" if legacy else args.config
    print(f"{type(model).__name__} from {source}, input {'x'.join(map(str, shape))}")
    print()
    print(format_costs(costs))
    print()
    print(
        f"Parameters: {total.params:,} ({total.params / 1e6:.2f} M), trainable {total.trainable:,}"
    )
    flops = total.flops or 0
    print(f"FLOPs: {flops:,} = {flops / 1e9:.4g} GFLOPs = {flops / 2e9:.4g} GMACs")
    print(
        "FLOPs count a multiply-add as 2 FLOPs, as torch.utils.flop_counter does (GMACs = "
        "GFLOPs / 2); only convolutions, matrix products and attention are counted."
    )
    if not_run:
        print(
            f"Not run by mode='tensor' (parameters only): {', '.join(not_run)}; auxiliary "
            "heads are used in training only."
        )
    return 0
