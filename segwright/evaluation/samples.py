"""Reading data samples given as objects (``SegDataSample``) or as MMEngine-style dicts.

MMEngine's evaluator hands metrics ``data_sample.to_dict()``: pixel fields become
``{'data': tensor}`` and metainfo keys sit at the top level. Metrics written for MMSeg index
those dicts, so our :class:`~segwright.evaluation.evaluator.Evaluator` passes the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from segwright.structures import PixelData, SegDataSample

_MISSING = object()


def sample_to_dict(sample: Any) -> Any:
    """``SegDataSample`` -> ``{'pred_sem_seg': {'data': t}, ..., 'img_path': ...}``.

    Unset (None) fields are left out, as MMEngine leaves out fields never set. Dicts pass
    through unchanged; other objects with a ``to_dict`` method are converted with it.
    """
    if isinstance(sample, Mapping):
        return sample
    if isinstance(sample, SegDataSample):
        out: dict[str, Any] = dict(sample.metainfo)
        for f in dataclasses.fields(sample):
            if f.name == "metainfo":
                continue
            value = getattr(sample, f.name)
            if isinstance(value, PixelData):
                out[f.name] = {"data": value.data}
            elif value is not None:
                out[f.name] = value
        return out
    to_dict = getattr(sample, "to_dict", None)
    return to_dict() if callable(to_dict) else sample


def get_field(sample: Any, name: str, default: Any = _MISSING) -> Any:
    """``sample[name]`` for dicts, ``sample.name`` (fields and metainfo keys) for objects.

    Raises:
        KeyError: ``name`` is absent and no ``default`` was given.
    """
    if isinstance(sample, Mapping):
        value = sample.get(name, _MISSING)
    else:
        value = getattr(sample, name, _MISSING)
        if value is _MISSING and isinstance(getattr(sample, "metainfo", None), Mapping):
            value = sample.metainfo.get(name, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise KeyError(name)
        return default
    return value


def pixel_tensor(value: Any) -> torch.Tensor:
    """The tensor inside a pixel field: ``PixelData``, ``{'data': t}``, a tensor or an array."""
    if isinstance(value, Mapping):
        value = value["data"]
    elif not isinstance(value, (torch.Tensor, np.ndarray)) and hasattr(value, "data"):
        value = value.data
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"Expected a pixel field (PixelData, {{'data': tensor}} or a tensor), got "
            f"{type(value).__name__}."
        )
    return value
