"""Data fields beside metainfo: the base of :class:`InstanceData` and :class:`DetDataSample`.

The surface is MMEngine 0.10's ``BaseDataElement`` (``set_metainfo``, ``keys``,
``metainfo_keys``, ``items``, ``get``, ``pop``, ``new``, ``clone``, ``to``, ``cpu``, ``numpy``,
``to_dict``, ...) so code written against MMDetection's structures ports unchanged. Fields are
kept in two dicts rather than as plain attributes; attribute access reads them, and a
subclass's properties (``DetDataSample.gt_instances``) validate before storing.

Metainfo is per-image facts (``img_shape``, ``scale_factor``, ...) that indexing and
concatenation carry along unchanged; data fields are what the structure is about. A name is
one or the other, never both.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

_MISSING = object()
_STORES = ("_metainfo_fields", "_data_fields")


class BaseDataElement:
    """Metainfo and data fields, each reachable as an attribute.

    Args:
        metainfo: Per-image facts; deep-copied, as MMEngine does.
        **kwargs: Data fields.

    Example:
        >>> item = BaseDataElement(metainfo=dict(img_shape=(4, 6)), scores=torch.ones(2))
        >>> item.img_shape, item.keys(), item.metainfo_keys()
        ((4, 6), ['scores'], ['img_shape'])
    """

    def __init__(self, *, metainfo: dict[str, Any] | None = None, **kwargs: Any) -> None:
        object.__setattr__(self, "_metainfo_fields", {})
        object.__setattr__(self, "_data_fields", {})
        if metainfo is not None:
            self.set_metainfo(metainfo)
        if kwargs:
            self.set_data(kwargs)

    # -- setting -------------------------------------------------------------------------

    def set_metainfo(self, metainfo: dict[str, Any]) -> None:
        """Add or overwrite metainfo keys (values are deep-copied)."""
        if not isinstance(metainfo, dict):
            raise TypeError(f"metainfo must be a dict, got {type(metainfo).__name__}.")
        for name, value in copy.deepcopy(metainfo).items():
            self.set_field(value, name, field_type="metainfo")

    def set_data(self, data: dict[str, Any]) -> None:
        """Add or overwrite data fields, each through ``setattr`` (so properties validate)."""
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict, got {type(data).__name__}.")
        for name, value in data.items():
            setattr(self, name, value)

    def update(self, other: BaseDataElement) -> None:
        """Take ``other``'s metainfo and data fields, overwriting names both have."""
        self.set_metainfo(dict(other.metainfo_items()))
        self.set_data(dict(other.items()))

    def set_field(
        self,
        value: Any,
        name: str,
        dtype: type | tuple[type, ...] | None = None,
        field_type: str = "data",
    ) -> None:
        """Store ``value`` under ``name`` as a data field or a metainfo key.

        Raises:
            TypeError: ``value`` is not a ``dtype``.
            AttributeError: ``name`` is already used by the other kind of field, or by a method.
        """
        if field_type not in ("data", "metainfo"):
            raise ValueError(f"field_type must be 'data' or 'metainfo', got {field_type!r}.")
        if dtype is not None and not isinstance(value, dtype):
            raise TypeError(
                f"{type(self).__name__}.{name} must be {_type_names(dtype)}, "
                f"got {type(value).__name__}."
            )
        mine, other = (
            ("_data_fields", "_metainfo_fields")
            if field_type == "data"
            else ("_metainfo_fields", "_data_fields")
        )
        if name in self.__dict__[other]:
            kind = "metainfo key" if field_type == "data" else "data field"
            raise AttributeError(
                f"Cannot set {name!r} as a {field_type} field of {type(self).__name__}: it is "
                f"already a {kind}; delete it first."
            )
        taken = hasattr(type(self), name) and not (field_type == "data" and self._is_property(name))
        if name in _STORES or taken:
            raise AttributeError(
                f"Cannot use {name!r} as a field name of {type(self).__name__}: the class "
                "already has an attribute of that name."
            )
        self.__dict__[mine][name] = value

    def __setattr__(self, name: str, value: Any) -> None:
        if self._is_property(name):
            object.__setattr__(self, name, value)  # the property's setter validates
        else:
            self.set_field(value, name)

    __setitem__ = __setattr__

    # -- reading -------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails; the guard keeps copy/pickle (which build an
        # instance without __init__) from recursing.
        if name in _STORES or name.startswith("__"):
            raise AttributeError(name)
        for store in _STORES:
            fields = self.__dict__.get(store, {})
            if name in fields:
                return fields[name]
        raise AttributeError(f"{type(self).__name__} has no data field or metainfo key {name!r}.")

    def __delattr__(self, name: str) -> None:
        if self._is_property(name):
            object.__delattr__(self, name)  # the property's deleter removes the field
            return
        for store in _STORES:
            if name in self.__dict__[store]:
                del self.__dict__[store][name]
                return
        raise AttributeError(f"{type(self).__name__} has no data field or metainfo key {name!r}.")

    __delitem__ = __delattr__

    def __contains__(self, name: str) -> bool:
        return name in self.__dict__["_data_fields"] or name in self.__dict__["_metainfo_fields"]

    def get(self, name: str, default: Any = None) -> Any:
        """The data field or metainfo key ``name``, else ``default``."""
        return getattr(self, name, default)

    def pop(self, name: str, default: Any = _MISSING) -> Any:
        """Remove ``name`` and return its value (``default`` when absent, else KeyError)."""
        for store in _STORES:
            if name in self.__dict__[store]:
                return self.__dict__[store].pop(name)
        if default is _MISSING:
            raise KeyError(f"{name!r} is neither a data field nor a metainfo key.")
        return default

    def keys(self) -> list[str]:
        return list(self.__dict__["_data_fields"])

    def values(self) -> list[Any]:
        return list(self.__dict__["_data_fields"].values())

    def items(self) -> Iterator[tuple[str, Any]]:
        yield from list(self.__dict__["_data_fields"].items())

    def metainfo_keys(self) -> list[str]:
        return list(self.__dict__["_metainfo_fields"])

    def metainfo_values(self) -> list[Any]:
        return list(self.__dict__["_metainfo_fields"].values())

    def metainfo_items(self) -> Iterator[tuple[str, Any]]:
        yield from list(self.__dict__["_metainfo_fields"].items())

    def all_keys(self) -> list[str]:
        return self.metainfo_keys() + self.keys()

    def all_values(self) -> list[Any]:
        return self.metainfo_values() + self.values()

    def all_items(self) -> Iterator[tuple[str, Any]]:
        yield from self.metainfo_items()
        yield from self.items()

    @property
    def metainfo(self) -> dict[str, Any]:
        """A new dict of the metainfo (changing it changes nothing here)."""
        return dict(self.metainfo_items())

    # -- copies and conversions ----------------------------------------------------------

    def new(self, *, metainfo: dict[str, Any] | None = None, **kwargs: Any) -> BaseDataElement:
        """A new element of the same class; metainfo and data default to this one's (shallow)."""
        out = type(self)()
        out.set_metainfo(dict(self.metainfo_items()) if metainfo is None else metainfo)
        out.set_data(kwargs if kwargs else dict(self.items()))
        return out

    def clone(self) -> BaseDataElement:
        """Same class, deep-copied metainfo, the same data objects (MMEngine's ``clone``)."""
        out = type(self)()
        out.set_metainfo(dict(self.metainfo_items()))
        out.set_data(dict(self.items()))
        return out

    def to(self, *args: Any, **kwargs: Any) -> BaseDataElement:
        """Every data field that has ``.to`` moved/cast with the same arguments."""
        return self._map(lambda v: v.to(*args, **kwargs) if hasattr(v, "to") else v)

    def cpu(self) -> BaseDataElement:
        return self._map(lambda v: v.cpu() if _has_method(v, "cpu") else v)

    def cuda(self) -> BaseDataElement:
        return self._map(lambda v: v.cuda() if _has_method(v, "cuda") else v)

    def pin_memory(self) -> BaseDataElement:
        """Tensors (nested elements' too) in page-locked memory; a pinning DataLoader calls it."""
        return self._map(lambda v: v.pin_memory() if _has_method(v, "pin_memory") else v)

    def detach(self) -> BaseDataElement:
        return self._map(lambda v: v.detach() if _has_method(v, "detach") else v)

    def numpy(self) -> BaseDataElement:
        """Tensors become arrays (detached, on the CPU); nested elements convert too."""

        def convert(value: Any) -> Any:
            if isinstance(value, torch.Tensor):
                return value.detach().cpu().numpy()
            return value.numpy() if isinstance(value, BaseDataElement) else value

        return self._map(convert)

    def to_tensor(self) -> BaseDataElement:
        """Arrays become tensors; nested elements convert too."""

        def convert(value: Any) -> Any:
            if isinstance(value, np.ndarray):
                return torch.from_numpy(value)
            return value.to_tensor() if isinstance(value, BaseDataElement) else value

        return self._map(convert)

    def to_dict(self) -> dict[str, Any]:
        """Metainfo keys and data fields in one dict, nested structures as dicts too.

        This is what MMEngine's evaluator hands metrics (``data_sample['img_id']``,
        ``data_sample['pred_instances']['bboxes']``).
        """
        return {k: v.to_dict() if _has_method(v, "to_dict") else v for k, v in self.all_items()}

    def _map(self, fn: Any) -> BaseDataElement:
        out = self.new()
        out.set_data({k: fn(v) for k, v in self.items()})
        return out

    def _is_property(self, name: str) -> bool:
        return isinstance(getattr(type(self), name, None), property)

    def __repr__(self) -> str:
        lines = [f"<{type(self).__name__}("]
        for title, pairs in (
            ("META INFORMATION", self.metainfo_items()),
            ("DATA FIELDS", self.items()),
        ):
            lines += ["", f"    {title}"]
            for k, v in pairs:
                text = repr(v).replace("\n", "\n        ")
                lines.append(f"    {k}: {text}")
        lines.append(f") at {hex(id(self))}>")
        return "\n".join(lines)


def _has_method(value: Any, name: str) -> bool:
    # Classes (not instances) and plain arrays have no such method to call on a value.
    return not isinstance(value, type) and callable(getattr(value, name, None))


def _type_names(dtype: type | tuple[type, ...]) -> str:
    types = dtype if isinstance(dtype, tuple) else (dtype,)
    return " or ".join(t.__name__ for t in types)
