"""``LogStore``: the run's scalar history and runtime info (MMEngine's MessageHub, smaller).

Hooks write scalars (losses, lr, times, metrics) here; the logger hook reads windowed means
from it. Its state goes into checkpoints so best scores and kept-checkpoint ids survive resume.

Tensor values stay on their device until someone reads them: they are copied there
(:class:`DeviceValues`), and the first read of any history (the logger, once per interval)
brings every value not read yet to the host at once, with one transfer per device and dtype.
So a training iteration that only records its losses waits for nothing on the host side.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch


class _Copy:
    """The stacked device copies behind one or more :class:`DeviceValues` and, once read, their
    numbers (by position)."""

    __slots__ = ("groups", "numbers")

    def __init__(self, groups: list[tuple[Any, torch.Tensor]], size: int) -> None:
        self.groups = groups  # (positions, stacked tensor) per device and dtype
        self.numbers: list[float] | None = None if groups else [0.0] * size


class DeviceValues(dict):
    """Named 0-dim tensors copied on their device now, to be read on the host later, many at once.

    A dict of the copies (views of one ``torch.stack`` per device and dtype: one kernel in the
    usual case, no sync), so it can stand for the tensors it was made from. The copy keeps the
    numbers safe from tensors that are reused in place, such as the outputs of a replayed CUDA
    graph. A tensor of several elements stands as its mean in float32, as :func:`to_float`
    reads it. :func:`read_all` brings any number of them to the host with one ``tolist()`` per
    device and dtype: one host-device sync however many values wait.
    """

    __slots__ = ("_copy",)

    def __init__(self, tensors: Mapping[str, torch.Tensor]) -> None:
        values = list(tensors.values())
        dtype = values[0].dtype if values else None
        if dtype is not None and all(t.dtype is dtype and t.dim() == 0 for t in values):
            try:  # the usual case (the losses of one step): one kernel
                stacked = torch.stack(values).detach()
            except RuntimeError:  # on several devices: grouped below
                pass
            else:
                super().__init__(zip(tensors, stacked.unbind()))
                self._copy = _Copy([(range(len(values)), stacked)], len(values))
                return
        groups: dict[tuple[torch.device, torch.dtype], tuple[list[int], list[torch.Tensor]]] = {}
        for index, value in enumerate(values):
            value = value.detach()
            value = value.reshape(()) if value.numel() == 1 else value.float().mean()
            positions, members = groups.setdefault((value.device, value.dtype), ([], []))
            positions.append(index)
            members.append(value)
        views: list[Any] = [None] * len(values)
        stacks = []
        for positions, members in groups.values():
            stacked = torch.stack(members)
            stacks.append((positions, stacked))
            for position, view in zip(positions, stacked.unbind()):
                views[position] = view
        super().__init__(zip(tensors, views))
        self._copy = _Copy(stacks, len(values))

    def renamed(self, prefix: str) -> DeviceValues:
        """The same copies (nothing copied again) under ``prefix + key``."""
        other = DeviceValues.__new__(DeviceValues)
        dict.__init__(other, ((prefix + key, value) for key, value in self.items()))
        other._copy = self._copy
        return other

    def numbers(self) -> list[float]:
        """The values on the host, in key order (read now when :func:`read_all` has not)."""
        if self._copy.numbers is None:
            read_all([self])
        return self._copy.numbers  # type: ignore[return-value]

    def as_floats(self) -> dict[str, float]:
        return dict(zip(self, self.numbers()))


def read_all(items: Iterable[DeviceValues]) -> None:
    """Bring the numbers of every unread item to the host: one ``tolist()`` per device and dtype."""
    buckets: dict[tuple[torch.device, torch.dtype], list[tuple[_Copy, Any, torch.Tensor]]] = {}
    for item in items:
        copy = item._copy
        if copy.numbers is not None:
            continue
        copy.numbers = [0.0] * len(item)
        for positions, stacked in copy.groups:
            key = (stacked.device, stacked.dtype)
            buckets.setdefault(key, []).append((copy, positions, stacked))
        copy.groups = []  # the device memory goes with the views once the dict goes
    for parts in buckets.values():
        tensors = [stacked for _, _, stacked in parts]
        numbers = (torch.cat(tensors) if len(tensors) > 1 else tensors[0]).tolist()
        offset = 0
        for copy, positions, _ in parts:
            for position in positions:
                copy.numbers[position] = float(numbers[offset])  # type: ignore[index]
                offset += 1


def to_float(value: Any) -> float:
    """A number or a tensor (its mean when it has several elements) as a float; reads now."""
    if isinstance(value, torch.Tensor):
        return DeviceValues({"": value}).numbers()[0]
    return float(value)


class ScalarHistory:
    """Values of one scalar with their sample counts.

    Args:
        read_pending: Called before the first read of entries still on the device (the owning
            :class:`LogStore` reads all of its unread values then); without it, tensors are read
            when they arrive.
    """

    def __init__(self, read_pending: Callable[[], None] | None = None) -> None:
        self._values: list[Any] = []  # floats, and (DeviceValues, index) from `_first_unread` on
        self.counts: list[int] = []
        self._read_pending = read_pending
        self._first_unread: int | None = None

    def update(self, value: float | tuple[DeviceValues, int], count: int = 1) -> None:
        if type(value) is tuple:
            if self._read_pending is None:
                value = value[0].numbers()[value[1]]
            elif self._first_unread is None:
                self._first_unread = len(self._values)
        self._values.append(value)
        self.counts.append(count)

    def trim(self, keep: int) -> None:
        """Forget all but the last ``keep`` values."""
        removed = len(self._values) - keep
        if removed > 0:
            del self._values[:removed]
            del self.counts[:removed]
            if self._first_unread is not None:
                self._first_unread = max(self._first_unread - removed, 0)

    @property
    def values(self) -> list[float]:
        if self._first_unread is not None:
            if self._read_pending is not None:
                self._read_pending()
            values = self._values
            for index in range(self._first_unread, len(values)):
                entry = values[index]
                if type(entry) is tuple:
                    values[index] = entry[0].numbers()[entry[1]]
            self._first_unread = None
        return self._values

    def current(self) -> float:
        return self.values[-1]

    def mean(self, window: int | None = None) -> float:
        """Count-weighted mean of the last ``window`` values (all when None)."""
        values = self.values[-window:] if window else self.values
        counts = self.counts[-window:] if window else self.counts
        return sum(v * c for v, c in zip(values, counts)) / max(sum(counts), 1)


class LogStore:
    """Scalars by name, plus free-form runtime info (iter, epoch, best score, ...).

    Tensor values are kept on their device until a history is read (see the module doc); at
    most ``MAX_UNREAD`` updates wait, so a run that never logs still reads them now and then.
    """

    #: keep at most this many values per scalar (enough for any window)
    MAX_HISTORY = 1000
    #: read the values waiting on the device once this many updates hold some
    MAX_UNREAD = 1000

    def __init__(self) -> None:
        self.scalars: dict[str, ScalarHistory] = defaultdict(
            lambda: ScalarHistory(self.read_pending)
        )
        self.info: dict[str, Any] = {}
        self._unread: list[DeviceValues] = []

    def update_scalar(self, key: str, value: Any, count: int = 1) -> None:
        if isinstance(value, torch.Tensor):
            self.update_scalars({key: value}, count)
        else:
            self._append(key, float(value), count)

    def update_scalars(self, values: Mapping[str, Any], count: int = 1) -> None:
        """Append one value per key; tensors are copied on their device, not read (no sync).

        A :class:`DeviceValues` is a copy already: it is kept as it is.
        """
        if isinstance(values, DeviceValues):
            self._unread.append(values)
            for index, key in enumerate(values):
                self._append(key, (values, index), count)
        else:
            tensors = {k: v for k, v in values.items() if isinstance(v, torch.Tensor)}
            copied = DeviceValues(tensors) if tensors else None
            if copied is not None:
                self._unread.append(copied)
            index = 0
            for key, value in values.items():
                if isinstance(value, torch.Tensor):
                    self._append(key, (copied, index), count)
                    index += 1
                else:
                    self._append(key, float(value), count)
        if len(self._unread) >= self.MAX_UNREAD:
            self.read_pending()

    def _append(self, key: str, entry: float | tuple[DeviceValues, int], count: int) -> None:
        history = self.scalars[key]
        history.update(entry, count)
        if len(history.counts) > self.MAX_HISTORY:
            history.trim(self.MAX_HISTORY // 2)

    def read_pending(self) -> None:
        """Bring every value still on a device to the host (one transfer per device and dtype)."""
        if self._unread:
            read_all(self._unread)
            self._unread = []

    def update_info(self, key: str, value: Any) -> None:
        self.info[key] = value

    def get_info(self, key: str, default: Any = None) -> Any:
        return self.info.get(key, default)

    def state_dict(self) -> dict[str, Any]:
        return {"info": dict(self.info)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.info.update(state.get("info", {}))
