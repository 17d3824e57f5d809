"""Per-instance fields of one image (boxes, labels, scores, masks), all of one length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from segwright.structures.data_element import BaseDataElement


class InstanceData(BaseDataElement):
    """Data fields that describe the same instances, so they share their first dimension.

    MMEngine 0.10's ``InstanceData``: a field is anything with ``__len__`` (tensors, arrays,
    lists, :class:`~segwright.structures.masks.BitmapMasks`, ...). Indexing with an int, a
    slice, a bool mask or integer indices indexes every field and returns a new
    ``InstanceData`` with the same metainfo; an int keeps the dimension (length 1).

    Two deliberate differences from MMEngine, both about the length check: it also applies
    while the fields are empty (MMEngine lets a length-5 field join length-0 ones), and
    replacing the only field by one of another length is allowed (nothing disagrees).

    Example:
        >>> inst = InstanceData(bboxes=torch.zeros(3, 4), labels=torch.tensor([0, 2, 1]))
        >>> len(inst[inst.labels > 0])
        2
    """

    def set_field(
        self,
        value: Any,
        name: str,
        dtype: type | tuple[type, ...] | None = None,
        field_type: str = "data",
    ) -> None:
        if field_type == "data":
            self._check_length(name, value)
        super().set_field(value, name, dtype=dtype, field_type=field_type)

    def _check_length(self, name: str, value: Any) -> None:
        try:
            length = len(value)
        except TypeError:
            raise TypeError(
                f"InstanceData.{name} must have a length (a tensor with a first dimension, an "
                f"array, a list, masks, ...), got {type(value).__name__}."
            ) from None
        others = {k: len(v) for k, v in self.items() if k != name}
        if any(n != length for n in others.values()):
            listed = ", ".join(f"{k}={n}" for k, n in others.items())
            raise ValueError(
                f"InstanceData.{name} has length {length}, but the other fields have "
                f"{next(iter(others.values()))} instances ({listed}); every field must have one "
                "entry per instance."
            )

    def __len__(self) -> int:
        values = self.values()
        return len(values[0]) if values else 0

    def __getitem__(self, item: Any) -> InstanceData:
        """Index every field; a str returns that field's value instead."""
        if isinstance(item, str):
            return getattr(self, item)
        if isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray):
            item = torch.from_numpy(item.astype(np.int64) if item.dtype != np.bool_ else item)
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            n = len(self)
            if not -n <= item < n:
                raise IndexError(f"Index {item} is out of range for {n} instances.")
            item = slice(int(item), None, n)  # keeps the dimension
        out = type(self)(metainfo=self.metainfo)
        if isinstance(item, slice):
            for k, v in self.items():
                out[k] = v[item]
            return out
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                "InstanceData can be indexed by a field name, an int, a slice, a bool mask or "
                f"integer indices (tensor, array or list), got {type(item).__name__}."
            )
        if item.dim() != 1 or item.is_floating_point() or item.is_complex():
            raise TypeError(
                "InstanceData index tensors must be 1-D bool masks or integer indices, got "
                f"dtype {item.dtype} with shape {tuple(item.shape)}."
            )
        if item.dtype == torch.bool:
            if len(item) != len(self):
                raise IndexError(
                    f"A bool mask of length {len(item)} cannot index {len(self)} instances."
                )
            indices = item.nonzero().view(-1)
        else:
            indices = item.long()
        for k, v in self.items():
            out[k] = _take(k, v, item, indices)
        return out

    @classmethod
    def cat(cls, instances_list: Sequence[InstanceData]) -> InstanceData:
        """Concatenate the fields of several ``InstanceData`` with the same keys.

        The metainfo of the first is kept; a single input is returned as is (MMEngine).

        Raises:
            ValueError: the list is empty, or the inputs' keys differ.
        """
        if len(instances_list) == 0:
            raise ValueError("InstanceData.cat needs at least one InstanceData.")
        for inst in instances_list:
            if not isinstance(inst, InstanceData):
                raise TypeError(f"InstanceData.cat takes InstanceData, got {type(inst).__name__}.")
        if len(instances_list) == 1:
            return instances_list[0]
        first = instances_list[0]
        keys = set(first.all_keys())
        for inst in instances_list[1:]:
            if set(inst.all_keys()) != keys:
                raise ValueError(
                    "InstanceData.cat needs the same metainfo keys and data fields in every "
                    f"input: {sorted(keys)} vs {sorted(inst.all_keys())}."
                )
        out = type(first)(metainfo=first.metainfo)
        for k in first.keys():
            out[k] = _concat(k, [inst.get(k) for inst in instances_list])
        return out


def _take(name: str, value: Any, item: torch.Tensor, indices: torch.Tensor) -> Any:
    """``value`` at ``item`` (a bool mask or integer indices; ``indices`` the same as ints)."""
    if isinstance(value, torch.Tensor):
        return value[item.to(value.device)]
    if isinstance(value, np.ndarray):
        return value[item.cpu().numpy()]
    if isinstance(value, (str, list, tuple)):
        picked = [value[i] for i in indices.tolist()]
        if isinstance(value, str):
            return "".join(picked)
        return type(value)(picked)
    if hasattr(value, "__getitem__"):
        # Instance masks (BitmapMasks, PolygonMasks) index with an integer array.
        return value[indices.cpu().numpy()]
    raise TypeError(f"InstanceData.{name} ({type(value).__name__}) cannot be indexed.")


def _concat(name: str, values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(values, dim=0)
    if isinstance(first, np.ndarray):
        return np.concatenate(values, axis=0)
    if isinstance(first, (str, list, tuple)):
        out = first[:]
        for v in values[1:]:
            out = out + v
        return out
    if hasattr(first, "cat"):
        return first.cat(values)
    raise TypeError(
        f"InstanceData.{name} ({type(first).__name__}) cannot be concatenated: it is not a "
        "tensor, an array, a list or an object with a `cat` method."
    )
