"""Export a model's logits to ONNX and check the file against PyTorch with onnxruntime.

The exported graph is the model's mode='tensor' forward (backbone, neck, decode head: the raw
logits at the head's resolution, before resizing and argmax) on a preprocessed float
N x C x H x W input named 'input'; the output is 'logits'. Normalisation (the data
preprocessor's mean/std) is not part of the graph. With --dynamic the batch, height and width
axes are symbolic. After export, onnxruntime runs the file on a fresh random input and the
largest absolute difference from PyTorch is printed; above --atol it is an error.

The exporter: 'dynamo' (torch.export-based; needs the onnxscript package) or 'torchscript'
(the tracing exporter, torch.onnx.export(..., dynamo=False)). 'auto' uses dynamo when
onnxscript is installed and falls back to torchscript if it fails.
Needs onnx and onnxruntime: pip install 'segwright[onnx]'.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from segwright.cli.model_input import add_model_arguments
from segwright.utils.errors import SegwrightError

INSTALL_HINT = "pip install 'segwright[onnx]'"


class ExportVerificationError(SegwrightError, RuntimeError):
    """onnxruntime's output differs from PyTorch's by more than the tolerance."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser, checkpoint="required")
    parser.add_argument("-o", "--out", required=True, help="ONNX file to write")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    parser.add_argument(
        "--dynamic", action="store_true", help="symbolic batch, height and width axes"
    )
    parser.add_argument("--batch-size", type=int, default=1, help="batch size of the export")
    parser.add_argument(
        "--exporter",
        choices=("auto", "dynamo", "torchscript"),
        default="auto",
        help="torch.onnx exporter (default auto: dynamo if onnxscript is installed)",
    )
    parser.add_argument(
        "--atol", type=float, default=1e-4, help="largest allowed |onnxruntime - PyTorch|"
    )


def require_onnx() -> tuple[Any, Any]:
    """The ``onnx`` and ``onnxruntime`` modules, or a ConfigError that says how to install them."""
    from segwright.utils.errors import ConfigError

    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ConfigError(
            f"segwright export needs onnx and onnxruntime ({exc}). Install them with: "
            f"{INSTALL_HINT}"
        ) from None
    return onnx, onnxruntime


def _logits_module(model: Any) -> Any:
    """``model`` as an ``nn.Module`` whose forward(input) is the mode='tensor' forward."""
    from torch import nn

    from segwright.cli.model_input import tensor_forward

    class TensorForward(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, inputs: Any) -> Any:
            out = tensor_forward(self.inner, inputs)
            return tuple(out) if isinstance(out, (list, tuple)) else out

    return TensorForward(model).eval()


def _as_tensors(out: Any) -> list[Any]:
    import torch

    from segwright.utils.errors import ConfigError

    items = list(out) if isinstance(out, (list, tuple)) else [out]
    if not items or not all(isinstance(item, torch.Tensor) for item in items):
        raise ConfigError(
            f"The model's mode='tensor' forward returned {type(out).__name__}; export needs a "
            "tensor (or a tuple of tensors)."
        )
    return items


def _export(
    module: Any,
    example: Any,
    path: Path,
    exporter: str,
    opset: int,
    output_names: list[str],
    dynamic: bool,
) -> None:
    import warnings

    import torch

    dynamic_axes = None
    if dynamic:
        spatial = {0: "batch", 2: "height", 3: "width"}
        dynamic_axes = {"input": spatial}
        for name in output_names:
            dynamic_axes[name] = {0: "batch", 2: f"{name}_height", 3: f"{name}_width"}
    common = dict(input_names=["input"], output_names=output_names, opset_version=opset)
    if exporter == "dynamo":
        dynamic_shapes = None
        if dynamic:
            auto = torch.export.Dim.AUTO
            dynamic_shapes = ({0: auto, 2: auto, 3: auto},)
        torch.onnx.export(
            module,
            (example,),
            str(path),
            dynamo=True,
            dynamic_shapes=dynamic_shapes,
            external_data=False,
            **common,
        )
        return
    with warnings.catch_warnings():
        # torch >= 2.9 warns that the TorchScript-based exporter is the legacy one.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            module,
            (example,),
            str(path),
            dynamo=False,
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
            **common,
        )


def export_onnx(
    module: Any,
    example: Any,
    path: Path,
    exporter: str,
    opset: int,
    output_names: list[str],
    dynamic: bool,
) -> str:
    """Write the ONNX file; return the exporter that did it (``dynamo`` or ``torchscript``)."""
    from segwright.utils.errors import ConfigError

    has_onnxscript = importlib.util.find_spec("onnxscript") is not None
    if exporter == "dynamo" and not has_onnxscript:
        raise ConfigError(
            "--exporter dynamo needs the onnxscript package (pip install onnxscript); or use "
            "--exporter torchscript."
        )
    if exporter == "auto":
        if has_onnxscript:
            try:
                _export(module, example, path, "dynamo", opset, output_names, dynamic)
                return "dynamo"
            except Exception as exc:  # noqa: BLE001 - any failure: try the other exporter
                print(
                    f"The dynamo exporter failed ({type(exc).__name__}: {exc}); using torchscript."
                )
        exporter = "torchscript"
    _export(module, example, path, exporter, opset, output_names, dynamic)
    return exporter


def compare_with_onnxruntime(
    path: Path, module: Any, inputs: Any, output_names: list[str]
) -> float:
    """Largest |onnxruntime - PyTorch| over all outputs for ``inputs``."""
    import numpy as np
    import torch

    _, ort = require_onnx()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    got = session.run(output_names, {"input": inputs.numpy()})
    with torch.no_grad():
        expected = _as_tensors(module(inputs))
    diff = 0.0
    for name, ours, theirs in zip(output_names, expected, got):
        if tuple(ours.shape) != tuple(theirs.shape):
            raise ExportVerificationError(
                f"onnxruntime's {name} has shape {tuple(theirs.shape)}, PyTorch's "
                f"{tuple(ours.shape)}; the exported graph does not fit this input."
            )
        diff = max(diff, float(np.max(np.abs(ours.numpy().astype(np.float64) - theirs))))
    return diff


def run(args: argparse.Namespace) -> int:
    import torch

    from segwright.cli.model_input import input_channels, load_model, parse_shape
    from segwright.utils.errors import ConfigError

    onnx, _ = require_onnx()
    height, width = parse_shape(args.shape)
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}.")
    if not args.atol >= 0:
        raise ConfigError(f"--atol must be a non-negative number, got {args.atol}.")
    if args.opset < 7:
        raise ConfigError(f"--opset must be at least 7, got {args.opset}.")
    model, cfg, legacy = load_model(args, device="cpu")
    module = _logits_module(model)
    channels = input_channels(cfg, args.in_channels)
    generator = torch.Generator().manual_seed(0)
    shape = (args.batch_size, channels, height, width)
    example = torch.randn(shape, generator=generator)
    with torch.no_grad():
        outputs = _as_tensors(module(example))
    names = ["logits"] if len(outputs) == 1 else [f"logits_{i}" for i in range(len(outputs))]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    used = export_onnx(module, example, out, args.exporter, args.opset, names, args.dynamic)
    onnx.checker.check_model(str(out))
    checks = [torch.randn(shape, generator=generator)]
    if args.dynamic:
        # another batch size and size (+32 keeps the size divisors of common backbones)
        other = (args.batch_size + 1, channels, height + 32, width + 32)
        checks.append(torch.randn(other, generator=generator))
    diff = max(compare_with_onnxruntime(out, module, x, names) for x in checks)
    source = f"{args.config} (MMSeg 0.x config, translated)" if legacy else args.config
    print(f"{type(model).__name__} from {source}, weights: {args.checkpoint}")
    print(
        f"Exported with the {used} exporter, opset {args.opset}, to {out} "
        f"({out.stat().st_size / 1e6:.2f} MB)"
    )
    axes = " (batch, height, width dynamic)" if args.dynamic else ""
    print(f"input: 'input' {'x'.join(map(str, shape))} float32{axes}")
    for name, tensor in zip(names, outputs):
        print(f"output: '{name}' {'x'.join(map(str, tensor.shape))}")
    checked = " and ".join("x".join(map(str, x.shape)) for x in checks)
    if diff > args.atol:
        raise ExportVerificationError(
            f"onnxruntime and PyTorch disagree on {out}: max abs diff {diff:.3e} > --atol "
            f"{args.atol:g} (inputs {checked}). The file is kept; try another --opset or "
            "--exporter, or raise --atol if the difference is acceptable."
        )
    print(f"max abs diff onnxruntime vs PyTorch: {diff:.3e} (inputs {checked}; atol {args.atol:g})")
    return 0
