"""Copy the next batch to the GPU while the current step runs (``prefetch_to_device=True``).

A dataloader config with ``prefetch_to_device=True`` builds a :class:`DevicePrefetchLoader`:
the same DataLoader (``len``, ``sampler``, ``batch_sampler``, ``dataset``, persistent workers
and their shutdown are torch's own), whose iterator, on a CUDA device, hands out batch ``i``
already on the device and has started copying batch ``i + 1`` on a side stream. From pinned
memory (``pin_memory``, the default for CUDA runs) that copy overlaps step ``i``. On any other
device the iterator is the DataLoader's own: nothing changes.

Hooks' ``before_train_iter`` then see ``data_batch`` on the device. The built-in samplers seed
each sample's augmentation by its position, so loading one batch early changes no number; with
``num_workers=0`` and a custom sampler of plain indices, a pipeline that draws from the global
generators would interleave its draws differently with the model's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader

from segwright.engine.model import cast_to_device

_END = object()  # the wrapped iterator is exhausted
_UNSTARTED = object()  # nothing loaded yet: the first batch is loaded on the first next()


class DevicePrefetcher(Iterator[Any]):
    """An iterator of batches moved to ``device``, loading and copying one batch ahead.

    On CUDA the copy runs on a side stream; the consumer's stream waits for it
    (``wait_stream``) and the batch's tensors are marked as used there (``record_stream``) so
    the caching allocator does not hand their memory to the next copy too early. On another
    device the batches are cast there (usually a no-op) one ahead, without streams.

    Args:
        iterator: The DataLoader's iterator.
        device: Where the batches go.
    """

    def __init__(self, iterator: Iterator[Any], device: torch.device | str) -> None:
        self._iterator = iterator
        self._device = torch.device(device)
        cuda = self._device.type == "cuda"
        self._stream = torch.cuda.Stream(device=self._device) if cuda else None
        self._next: Any = _UNSTARTED

    def __iter__(self) -> DevicePrefetcher:
        return self

    def __len__(self) -> int:
        return len(self._iterator)  # type: ignore[arg-type]

    def _load(self) -> Any:
        try:
            batch = next(self._iterator)
        except StopIteration:
            return _END
        if self._stream is None:
            return cast_to_device(batch, self._device)
        with torch.cuda.stream(self._stream):
            return cast_to_device(batch, self._device, non_blocking=True)

    def __next__(self) -> Any:
        if self._next is _UNSTARTED:
            self._next = self._load()
        batch = self._next
        if batch is _END:
            raise StopIteration
        if self._stream is not None:
            current = torch.cuda.current_stream(self._device)
            current.wait_stream(self._stream)
            for tensor in _tensors(batch):
                if tensor.device.type == "cuda":
                    tensor.record_stream(current)
        self._next = self._load()  # batch i + 1 starts copying before step i is queued
        return batch


class DevicePrefetchLoader(DataLoader):
    """A DataLoader whose iterator is a :class:`DevicePrefetcher` on CUDA (see the module).

    Args:
        *args, **kwargs: DataLoader's.
        device: The run's device; None or a non-CUDA one leaves iteration unchanged.
    """

    def __init__(self, *args: Any, device: torch.device | str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.device = None if device is None else torch.device(device)

    def __iter__(self) -> Iterator[Any]:
        iterator = super().__iter__()
        if self.device is None or self.device.type != "cuda":
            return iterator
        return DevicePrefetcher(iterator, self.device)


def _tensors(data: Any, seen: set[int] | None = None) -> Iterator[torch.Tensor]:
    """Every tensor in a batch: in dicts, lists, tuples and objects' attributes (data samples)."""
    seen = set() if seen is None else seen
    if id(data) in seen:
        return
    seen.add(id(data))
    if isinstance(data, torch.Tensor):
        yield data
    elif isinstance(data, Mapping):
        for value in data.values():
            yield from _tensors(value, seen)
    elif isinstance(data, (list, tuple)):
        for value in data:
            yield from _tensors(value, seen)
    elif hasattr(data, "__dict__") and not isinstance(data, type):
        yield from _tensors(vars(data), seen)
