"""Shared pieces of the losses: reductions, element weights and class weights.

The reduction rules follow MMSegmentation 1.x (``weight_reduce_loss``): an element-wise
``weight`` multiplies the loss first; ``reduction='mean'`` with an ``avg_factor`` divides the
*sum* by ``avg_factor + eps`` (eps = float32 machine epsilon, so an all-ignored batch gives 0
instead of NaN); ``'sum'`` together with an ``avg_factor`` is an error.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from segwright.utils.errors import ConfigError

#: Reductions every loss accepts (``reduction=`` and ``reduction_override=``).
REDUCTIONS = ("none", "mean", "sum")

#: float32 machine epsilon, added to the denominators of averages as MMSeg does.
EPS = torch.finfo(torch.float32).eps


def check_reduction(reduction: Any, owner: str) -> str:
    """Return ``reduction`` when it is one of 'none'/'mean'/'sum', else raise a ConfigError."""
    if reduction not in REDUCTIONS:
        raise ConfigError(
            f"{owner}: reduction must be one of {', '.join(map(repr, REDUCTIONS))}, "
            f"got {reduction!r}."
        )
    return reduction


def check_number(value: Any, name: str, owner: str) -> float:
    """Return ``value`` as a float when it is a real number (not a bool), else raise a ConfigError."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise ConfigError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}.")


def resolve_reduction(default: str, override: str | None, owner: str) -> str:
    """The reduction a call uses: ``override`` when given, else the loss's own ``default``."""
    if override is None:
        return default
    if override not in REDUCTIONS:
        raise ValueError(
            f"{owner}: reduction_override must be None or one of "
            f"{', '.join(map(repr, REDUCTIONS))}, got {override!r}."
        )
    return override


def reduce_loss(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce an element-wise loss with 'none' (as is), 'mean' or 'sum'."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"Unknown reduction {reduction!r}; expected one of {REDUCTIONS}.")


def weight_reduce_loss(
    loss: torch.Tensor,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply an element-wise weight, then reduce (MMSeg's ``weight_reduce_loss``).

    Args:
        loss: Element-wise loss.
        weight: Element-wise weight with as many dimensions as ``loss`` (size 1 or equal in
            each dimension, e.g. a per-pixel mask of shape (N, 1, H, W) for a (N, C, H, W) loss).
        reduction: 'none', 'mean' or 'sum'.
        avg_factor: With 'mean', the loss is ``sum / (avg_factor + eps)`` instead of a plain mean.

    Raises:
        ValueError: ``weight`` does not fit ``loss``, or ``avg_factor`` is given with 'sum'.
    """
    if weight is not None:
        if weight.dim() != loss.dim() or any(
            w not in (1, s) for w, s in zip(weight.shape, loss.shape)
        ):
            raise ValueError(
                f"The loss weight of shape {tuple(weight.shape)} does not fit the element-wise "
                f"loss of shape {tuple(loss.shape)}: it needs the same number of dimensions, "
                "each of size 1 or equal to the loss's."
            )
        loss = loss * weight
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == "mean":
        if isinstance(avg_factor, torch.Tensor) and not avg_factor.is_floating_point():
            # a count kept on the device (reading it would sync): the float of `count + EPS`
            # that a Python int gives, rounded to the loss's precision as torch rounds a scalar
            return loss.sum() / (avg_factor.double() + EPS).to(loss.dtype)
        return loss.sum() / (avg_factor + EPS)
    if reduction == "none":
        return loss
    raise ValueError(f"avg_factor cannot be used with reduction={reduction!r}; use 'mean'.")


# -- class weights ----------------------------------------------------------------------------


def _as_float_list(values: Any, source: str) -> list[float]:
    """Turn a 1-D sequence / array of numbers into a list of floats, or raise a ConfigError."""
    array = np.asarray(values)
    if array.dtype == object or array.ndim != 1 or not np.issubdtype(array.dtype, np.number):
        raise ConfigError(
            f"class_weight from {source} must be a flat list of numbers (one per class), "
            f"got {values!r}."
        )
    result = [float(v) for v in array.tolist()]
    if not all(math.isfinite(v) for v in result):
        raise ConfigError(f"class_weight from {source} contains a non-finite value: {result}.")
    return result


def _read_text_weights(path: Path) -> list[float]:
    text = path.read_text(encoding="utf-8").replace(",", " ")
    try:
        return [float(token) for token in text.split()]
    except ValueError as err:
        raise ConfigError(
            f"class_weight file {str(path)!r} must hold numbers separated by spaces, commas or "
            f"newlines: {err}."
        ) from None


def load_class_weight_file(path: str | os.PathLike[str]) -> list[float]:
    """Read per-class weights from a file (relative paths are resolved from the working dir).

    Formats, chosen by the extension:

    * ``.npy`` -- a 1-D NumPy array, read with ``allow_pickle=False``;
    * ``.json`` -- a list of numbers;
    * ``.yaml`` / ``.yml`` -- a list of numbers (safe loader);
    * ``.txt`` / ``.csv`` -- numbers separated by whitespace, commas or newlines;
    * ``.pkl`` / ``.pickle`` -- a pickled list or array, for MMSeg compatibility, read only
      with ``--trust-checkpoint`` (``trust_checkpoint=True``): unpickling runs code stored in
      the file. Prefer ``.npy`` or ``.json``.

    Raises:
        ConfigError: The file is missing, has an unknown extension, does not hold a flat
            list of numbers, or is a pickle read without ``--trust-checkpoint``.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(
            f"class_weight file {str(path)!r} does not exist (resolved to {str(file.resolve())!r}). "
            "Give a list of numbers or the path of a .npy/.json/.yaml/.txt file."
        )
    suffix = file.suffix.lower()
    source = f"file {str(path)!r}"
    if suffix == ".npy":
        try:
            values: Any = np.load(file, allow_pickle=False)
        except ValueError as err:
            raise ConfigError(
                f"class_weight {source} could not be read as a plain NumPy array ({err}). "
                "Save it with np.save(path, np.asarray(weights, dtype=np.float32))."
            ) from None
    elif suffix == ".json":
        with file.open(encoding="utf-8") as handle:
            values = json.load(handle)
    elif suffix in (".yaml", ".yml"):
        import yaml

        with file.open(encoding="utf-8") as handle:
            values = yaml.safe_load(handle)
    elif suffix in (".txt", ".csv"):
        values = _read_text_weights(file)
    elif suffix in (".pkl", ".pickle"):
        from segwright.engine.safe_unpickle import pickles_trusted

        if not pickles_trusted():  # unpickling runs code stored in the file
            raise ConfigError(
                f"class_weight {source} is a pickle, and unpickling runs code stored in the "
                "file, so it is read only when you trust it: pass --trust-checkpoint (or set "
                "trust_checkpoint=True in the config). Better, save the weights as .npy "
                "(np.save), .json or .txt, which hold numbers only."
            )
        with file.open("rb") as handle:
            values = pickle.load(handle)  # noqa: S301
    else:
        raise ConfigError(
            f"class_weight {source} has an unsupported extension {suffix!r}; "
            "use .npy, .json, .yaml, .txt or .pkl."
        )
    return _as_float_list(values, source)


def get_class_weight(class_weight: Any) -> list[float] | None:
    """Normalise a ``class_weight`` config value: None, a list/tuple/array, or a file path.

    Returns:
        The weights as a list of floats, or None.
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, (str, os.PathLike)):
        return load_class_weight_file(class_weight)
    if isinstance(class_weight, torch.Tensor):
        class_weight = class_weight.detach().cpu().numpy()
    if isinstance(class_weight, (Sequence, np.ndarray)):
        return _as_float_list(class_weight, "the config")
    raise ConfigError(
        "class_weight must be None, a list of numbers or the path of a weights file, "
        f"got {type(class_weight).__name__}: {class_weight!r}."
    )


def check_class_weight_length(
    class_weight: Sequence[float] | None, num_classes: int, owner: str
) -> None:
    """Raise a ConfigError when ``class_weight`` does not have one entry per predicted channel."""
    if class_weight is not None and len(class_weight) != num_classes:
        raise ConfigError(
            f"{owner}: class_weight has {len(class_weight)} entries but the prediction has "
            f"{num_classes} channels (out_channels). Give exactly one weight per class."
        )


class NamedLoss(nn.Module):
    """A loss with MMSeg's ``loss_name``: the log key; same-named losses are summed by the head."""

    def set_loss_name(self, loss_name: Any) -> None:
        if not isinstance(loss_name, str):
            raise ConfigError(
                f"{type(self).__name__}: loss_name must be a string, got {loss_name!r}."
            )
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """The log key of this loss; losses with the same name are summed by the head."""
        return self._loss_name
