"""Saving and loading checkpoints (SPEC §8).

Saves are atomic (written to a temporary file in the same folder, then renamed), so a run
that dies mid-save leaves the last good checkpoint intact. Loading is partial by default:
what fits is loaded, what does not (missing, unexpected or differently shaped keys) is
reported — the fine-tuning case of a head with another ``num_classes``. Inference (``test``,
``infer``, ``init_model``) instead calls :func:`require_fit`: a checkpoint that leaves model
weights at their initial values is refused unless partial loading is asked for.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from segwright.engine.checkpoint_files import atomic_write, remove_stale_temp_files
from segwright.utils.errors import CheckpointError, CheckpointMismatchError

DEFAULT_REVISE_KEYS: tuple[tuple[str, str], ...] = ((r"^module\.", ""),)
_REMOTE = (
    "open-mmlab://",
    "openmmlab://",
    "torchvision://",
    "mmcls://",
    "s3://",
    "pavi://",
)


def save_checkpoint(checkpoint: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (mode 0666 minus the umask); return the path.

    Temp files of this file left by a killed writer (whose pid no longer runs) are removed.
    """
    path = atomic_write(path, lambda handle: torch.save(dict(checkpoint), handle))
    remove_stale_temp_files(path.parent, target=path.name)
    return path


def weights_to_cpu(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a state dict with every tensor on the CPU (keeps ``_metadata``)."""
    result = type(state_dict)() if isinstance(state_dict, dict) else {}
    for key, value in state_dict.items():
        result[key] = value.detach().cpu() if isinstance(value, torch.Tensor) else value
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        result._metadata = metadata  # type: ignore[attr-defined]
    return result


def _download(url: str) -> Path:
    """Fetch an http(s) checkpoint into torch's hub cache (once); clear error when offline."""
    from torch.hub import download_url_to_file, get_dir

    target = Path(get_dir()) / "checkpoints" / Path(url.split("?")[0]).name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        download_url_to_file(url, str(target), progress=False)
    except Exception as exc:
        raise CheckpointError(
            f"Cannot download checkpoint {url}: {type(exc).__name__}: {exc}. Without network "
            "access, download the file elsewhere and give its local path instead."
        ) from None
    return target


def read_checkpoint(
    filename: str | os.PathLike[str], map_location: Any = "cpu", trusted: bool = False
) -> dict[str, Any]:
    """Read a checkpoint file into a dict, with errors that say what to do.

    Loading uses ``torch.load(weights_only=True)``: no code in the file runs. Objects of other
    libraries' classes (MMEngine's message hub, ...) are read as inert placeholders.
    ``trusted=True`` (config key ``trust_checkpoint=True`` or ``--trust-checkpoint``) unpickles
    everything for real instead: only for files you trust.
    """
    name = str(filename)
    if name.startswith(("http://", "https://")):
        path = _download(name)
    elif name.startswith(_REMOTE):
        raise CheckpointError(
            f"Checkpoint {name!r} uses an OpenMMLab model-zoo scheme, which segwright does not "
            "resolve. Download the file yourself and give its local path (load_from=..., "
            "init_cfg=dict(type='Pretrained', checkpoint=...) or pretrained=...)."
        )
    else:
        path = Path(name).expanduser()
    if not path.is_file():
        raise CheckpointError(
            f"Checkpoint not found: {path}. Check the path (load_from / --checkpoint)."
        )
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=not trusted)
    except PermissionError as exc:
        raise CheckpointError(_unreadable(path, exc)) from None
    except pickle.UnpicklingError as exc:
        if trusted or "unsupported global" not in str(exc).lower():
            raise CheckpointError(
                f"Cannot read checkpoint {path}: {exc}. The file may be truncated or not a "
                "PyTorch checkpoint."
            ) from exc
        checkpoint = _read_with_placeholders(path, map_location)
    except ModuleNotFoundError as exc:  # trusted full unpickling of another library's objects
        raise CheckpointError(
            f"Checkpoint {path} pickles objects of the package '{exc.name}', which is not "
            "installed. Read it without trust_checkpoint/--trust-checkpoint (its objects then "
            f"become inert placeholders; the weights load), or install '{exc.name}'."
        ) from None
    except Exception as exc:  # corrupt file, not a torch file, truncated write...
        raise CheckpointError(
            f"Cannot read checkpoint {path}: {type(exc).__name__}: {exc}. The file may be "
            "truncated or not a PyTorch checkpoint."
        ) from exc
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"Checkpoint {path} holds a {type(checkpoint).__name__}, not a dict of weights."
        )
    return checkpoint


def _unreadable(path: Path, exc: OSError) -> str:
    """The message for a checkpoint that exists but this user may not read."""
    try:
        info = path.stat()
        mode = f"mode {info.st_mode & 0o777:04o}, owner uid {info.st_uid}"
    except OSError:
        mode = "mode unknown"
    return (
        f"Checkpoint {path} exists but is unreadable: permission denied ({mode}; this process "
        f"runs as uid {os.getuid() if hasattr(os, 'getuid') else '?'}). {exc.strerror or exc}. "
        f"Make it readable (e.g. chmod a+r {path}) or run as its owner."
    )


def _read_with_placeholders(path: Path, map_location: Any) -> Any:
    """Foreign objects (MMEngine's message hub, ...) become inert placeholders; no code runs."""
    from segwright.engine.safe_unpickle import ForeignObject, load_with_placeholders

    trust_hint = (
        "If you trust its source, set trust_checkpoint=True in the config or pass "
        "--trust-checkpoint to unpickle it fully (this runs code from the file)."
    )
    try:
        checkpoint, replaced = load_with_placeholders(path, map_location)
    except Exception as exc:
        raise CheckpointError(
            f"Checkpoint {path} holds pickled Python objects that cannot be read safely "
            f"({type(exc).__name__}: {exc}). {trust_hint}"
        ) from None
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if isinstance(state, dict) and any(isinstance(v, ForeignObject) for v in state.values()):
        raise CheckpointError(
            f"The weights in checkpoint {path} are not plain tensors. {trust_hint}"
        )
    if replaced:
        logging.getLogger("segwright").info(
            f"{path.name}: objects of {', '.join(sorted(set(replaced)))} were read as inert "
            "placeholders (no code from the file ran); the weights are unaffected."
        )
    return checkpoint


@dataclass
class LoadReport:
    """What a partial load did."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    model_keys: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    @property
    def fits_model(self) -> bool:
        """Every model key got its value from the checkpoint (extra checkpoint keys are fine).

        BatchNorm's ``num_batches_tracked`` counters may be absent: they don't affect outputs.
        """
        return not (self.missing or self.mismatched)

    def rows(self) -> list[tuple[str, str, str, str]]:
        """``(key, checkpoint shape, model shape, what happened)`` for every key that did not load."""

        def shape(key: str) -> str:
            return str(tuple(self.shapes[key])) if key in self.shapes else "?"

        rows = [
            (k, str(tuple(c)), str(tuple(m)), "shape differs: kept initial value")
            for k, c, m in self.mismatched
        ]
        rows += [
            (k, "-", shape(k), "missing in checkpoint: kept initial value") for k in self.missing
        ]
        rows += [(k, shape(k), "-", "not in model: ignored") for k in self.unexpected]
        return rows

    def summary(self) -> str:
        """A table of the keys that did not load, after MMEngine's opening line."""
        if self.exact:
            return f"All {len(self.loaded)} keys loaded."
        rows = [("key", "checkpoint", "model", "")] + self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [
            f"The model and loaded state dict do not match exactly: {len(self.loaded)} keys loaded, "
            f"{len(self.mismatched)} with another shape, {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected."
        ]
        for row in rows:
            lines.append(
                "  " + "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3]
            )
        return "\n".join(lines).rstrip()


def extract_state_dict(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """``checkpoint['state_dict']`` when present, else the dict itself."""
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, Mapping):
        raise CheckpointError("The checkpoint's 'state_dict' is not a dict of tensors.")
    return dict(state)


def revise_keys(
    state_dict: Mapping[str, Any], rules: Sequence[tuple[str, str]] = DEFAULT_REVISE_KEYS
) -> dict[str, Any]:
    """Apply ``(regex, replacement)`` rules in order to every key."""
    result = {}
    for key, value in state_dict.items():
        for pattern, replacement in rules:
            key = re.sub(pattern, replacement, key)
        result[key] = value
    return result


def load_state_dict(
    module: nn.Module, state_dict: Mapping[str, Any], strict: bool = False
) -> LoadReport:
    """Copy what fits into ``module``; shape-mismatched tensors keep their current value."""
    module = getattr(module, "module", module)  # DDP / DataParallel
    own = module.state_dict()
    report = LoadReport()
    fitting = {}
    for key, value in state_dict.items():
        if isinstance(value, torch.Tensor):
            report.shapes[key] = tuple(value.shape)
        if key not in own:
            report.unexpected.append(key)
        elif isinstance(value, torch.Tensor) and tuple(value.shape) != tuple(own[key].shape):
            report.mismatched.append((key, tuple(value.shape), tuple(own[key].shape)))
        else:
            fitting[key] = value
    report.model_keys = list(own)
    report.missing = [k for k in own if k not in state_dict and "num_batches_tracked" not in k]
    report.shapes.update({k: tuple(own[k].shape) for k in report.missing})
    module.load_state_dict(fitting, strict=False)
    report.loaded = sorted(fitting)
    if strict and not report.exact:
        raise CheckpointError(report.summary())
    return report


def load_checkpoint(
    model: nn.Module,
    filename: str | os.PathLike[str],
    map_location: Any = "cpu",
    strict: bool = False,
    revise: Sequence[tuple[str, str]] = DEFAULT_REVISE_KEYS,
    trusted: bool = False,
) -> tuple[dict[str, Any], LoadReport]:
    """Load weights from a file into ``model`` (partial unless ``strict``); return (checkpoint, report)."""
    checkpoint = read_checkpoint(filename, map_location, trusted=trusted)
    state_dict = revise_keys(extract_state_dict(checkpoint), revise)
    report = load_state_dict(model, state_dict, strict=strict)
    return checkpoint, report


def _first(items: Sequence[str], limit: int = 10, sep: str = ", ") -> str:
    shown = sep.join(items[:limit])
    return f"{shown}{sep}... ({len(items) - limit} more)" if len(items) > limit else shown


def _count(items: Sequence[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def describe_misfit(report: LoadReport, source: str, fix: str) -> str:
    """Why ``report`` does not fit the model, which keys are affected, and ``fix`` (a sentence)."""

    def counted(keys: Sequence[str]) -> list[str]:
        return [k for k in keys if not k.endswith("num_batches_tracked")]

    total = len(counted(report.model_keys))
    loaded = len(counted(report.loaded))
    parts = [
        f"Checkpoint {source} does not fit the model: {loaded} of {total} keys of the model "
        "were loaded."
    ]
    if report.missing:
        parts.append(
            f"Missing from the checkpoint: {_count(report.missing, 'model key')} "
            f"({_first(report.missing)})."
        )
    if report.mismatched:
        shapes = [f"{k}: checkpoint {tuple(c)}, model {tuple(m)}" for k, c, m in report.mismatched]
        parts.append(
            f"Another shape in the checkpoint: {_count(shapes, 'key')} ({_first(shapes, sep='; ')})."
        )
    if report.unexpected:  # ignored either way; shown because a prefix mismatch shows up here
        parts.append(
            f"Not in the model (ignored): {_count(report.unexpected, 'checkpoint key')} "
            f"({_first(report.unexpected, 5)})."
        )
    parts.append(
        "With these weights at their initial values the predictions would be meaningless. "
        "Check that the config is the one the checkpoint was trained with (model type, backbone "
        f"depth, num_classes, ...). To load only what fits anyway, {fix}."
    )
    return " ".join(parts)


def require_fit(report: LoadReport, source: str | os.PathLike[str], fix: str) -> None:
    """Raise :class:`CheckpointMismatchError` unless every model key was loaded.

    Args:
        report: What :func:`load_state_dict` did.
        source: The checkpoint's name, for the message.
        fix: How to load partially anyway, e.g. "pass --allow-partial".

    Raises:
        CheckpointMismatchError: keys of the model are missing from the checkpoint or have
            another shape there.
    """
    if report.fits_model:
        return
    source = str(source)
    raise CheckpointMismatchError(describe_misfit(report, source, fix), report, source)


def find_last_checkpoint(work_dir: str | os.PathLike[str]) -> Path | None:
    """The checkpoint named in ``work_dir/last_checkpoint``, else the newest ``*.pth`` by number."""
    work_dir = Path(work_dir)
    pointer = work_dir / "last_checkpoint"
    if pointer.is_file():
        target = Path(pointer.read_text().strip())
        if target.is_file():
            return target
    candidates = []
    for path in work_dir.glob("*.pth"):
        match = re.search(r"(\d+)\.pth$", path.name)
        if match and not path.name.startswith("best_"):
            candidates.append((int(match.group(1)), path))
    return max(candidates)[1] if candidates else None
