"""Export a model's logits to ONNX and check the file against PyTorch with onnxruntime.

The exported graph is the model's mode='tensor' forward (backbone, neck, decode head: the raw
logits at the head's resolution, before resizing and argmax) on a preprocessed float
N x C x H x W input named 'input'; the output is 'logits'. Normalisation (the data
preprocessor's mean/std) is not part of the graph. With --dynamic the batch, height and width
axes are symbolic (refused up front for models whose graph cannot follow the input size:
PSPNet's and UPerNet's pyramid pooling). After export, onnxruntime runs the file on a fresh
random input (with --dynamic, also on another batch size and size) and the largest absolute
difference from PyTorch is printed; above --atol it is an error. The file is written under a
temporary name and moved to --out only once every check passes; on failure nothing is left.

The exporter: 'dynamo' (torch.export-based; needs the onnxscript package) or 'torchscript'
(the tracing exporter, torch.onnx.export(..., dynamo=False)). 'auto' uses dynamo when
onnxscript is installed and falls back to torchscript if it fails.
Needs onnx and onnxruntime: pip install 'segwright[onnx]'.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
from pathlib import Path
from typing import Any

from segwright.cli.model_input import add_model_arguments
from segwright.utils.errors import SegwrightError

INSTALL_HINT = "pip install 'segwright[onnx]'"


class ExportError(SegwrightError, RuntimeError):
    """The model cannot be exported as asked, or the exported file does not run."""


class ExportVerificationError(ExportError):
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


def dynamic_export_blockers(model: Any) -> list[str]:
    """Why ``model``'s logits graph cannot have symbolic height and width (empty: it can).

    ONNX has no adaptive pooling: the exporters turn ``AdaptiveAvgPool2d(k)`` with ``k > 1``
    into a pool whose window is fixed for the traced input size (the TorchScript exporter
    refuses it outright with dynamic axes). PSPNet's ``PSPHead`` and UPerNet's ``UPerHead``
    pool to 1, 2, 3 and 6 bins, so their graphs cannot follow another size.
    """
    from torch import nn

    blockers = []
    for part in ("backbone", "neck", "decode_head"):
        module = getattr(model, part, None)
        if not isinstance(module, nn.Module):
            continue
        for name, sub in module.named_modules():
            if not isinstance(sub, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
                continue
            size = sub.output_size
            sizes = size if isinstance(size, (tuple, list)) else (size, size)
            if all(s == 1 for s in sizes):  # global pooling exports with symbolic sizes
                continue
            where = f"{part}.{name}" if name else part
            blockers.append(f"{part} {type(module).__name__} ({where} is {sub})")
    return blockers


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def _refuse_dynamic(model: Any, config: str) -> None:
    blockers = dynamic_export_blockers(model)
    if not blockers:
        return
    shown = "; ".join(blockers[:2]) + (
        f"; and {len(blockers) - 2} more" if len(blockers) > 2 else ""
    )
    raise ExportError(
        f"--dynamic cannot export the model of {config}: it uses adaptive pooling to a fixed "
        f"number of bins ({shown}). ONNX has no adaptive pooling, so the exported pooling "
        "window would be fixed for the traced input size and the graph would not run (or "
        "give wrong logits) at other sizes; this holds for PSPNet (PSPHead) and UPerNet "
        "(UPerHead). Export without --dynamic, once per input size you will run "
        "(--shape H W --batch-size N)."
    )


def _export_and_check(
    args: argparse.Namespace, module: Any, example: Any, path: Path, names: list[str]
) -> tuple[str, float, list[Any]]:
    """Export to ``path`` and check it; return (exporter, max abs diff, checked inputs)."""
    import torch

    onnx, _ = require_onnx()
    try:
        used = export_onnx(module, example, path, args.exporter, args.opset, names, args.dynamic)
        onnx.checker.check_model(str(path))
    except SegwrightError:
        raise
    except Exception as exc:  # noqa: BLE001 - exporter errors are many and untyped
        raise ExportError(
            f"torch.onnx could not export the model of {args.config} ({_first_line(exc)}). "
            "Try another --opset or --exporter"
            + (", or drop --dynamic" if args.dynamic else "")
            + "; run with --debug for the exporter's traceback."
        ) from exc
    generator = torch.Generator().manual_seed(1)
    batch, channels, height, width = example.shape
    checks = [torch.randn(example.shape, generator=generator)]
    if args.dynamic:
        # another batch size and size (+32 keeps the size divisors of common backbones)
        other = (batch + 1, channels, height + 32, width + 32)
        checks.append(torch.randn(other, generator=generator))
    diff = 0.0
    for x in checks:
        try:
            diff = max(diff, compare_with_onnxruntime(path, module, x, names))
        except SegwrightError:
            raise
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
            shape = "x".join(map(str, x.shape))
            dynamic = (
                " The graph does not follow the input size: some size was fixed at export."
                if args.dynamic and x is not checks[0]
                else ""
            )
            raise ExportError(
                f"onnxruntime could not run the exported model of {args.config} on a {shape} "
                f"input ({_first_line(exc)}).{dynamic} Nothing was written to {args.out}. "
                "Try another --opset or --exporter"
                + (", or export without --dynamic" if args.dynamic else "")
                + "; run with --debug for the traceback."
            ) from exc
    return used, diff, checks


def run(args: argparse.Namespace) -> int:
    import torch

    from segwright.cli.model_input import input_channels, load_model, parse_shape
    from segwright.utils.errors import ConfigError

    require_onnx()
    height, width = parse_shape(args.shape)
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}.")
    if not args.atol >= 0:
        raise ConfigError(f"--atol must be a non-negative number, got {args.atol}.")
    if args.opset < 7:
        raise ConfigError(f"--opset must be at least 7, got {args.opset}.")
    model, cfg, legacy = load_model(args, device="cpu")
    if args.dynamic:
        _refuse_dynamic(model, args.config)
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
    # Written beside --out (same file system, so the final rename is atomic) and moved into
    # place only once every check has passed: a failed export never leaves a file behind.
    # (Not mkstemp: its 0600 mode would stick to the final file.)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        used, diff, checks = _export_and_check(args, module, example, tmp, names)
        checked = " and ".join("x".join(map(str, x.shape)) for x in checks)
        if diff > args.atol:
            raise ExportVerificationError(
                f"onnxruntime and PyTorch disagree on the export of {args.config}: max abs "
                f"diff {diff:.3e} > --atol {args.atol:g} (inputs {checked}). Nothing was "
                f"written to {out}. Try another --opset or --exporter, or raise --atol if the "
                "difference is acceptable."
            )
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
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
    print(f"max abs diff onnxruntime vs PyTorch: {diff:.3e} (inputs {checked}; atol {args.atol:g})")
    return 0
