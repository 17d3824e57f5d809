"""Pack a list of dicts into one NumPy byte buffer so DataLoader workers share it cheaply.

Python objects touched by a forked worker get their reference counts written, which copies
their memory pages; one flat ``uint8`` buffer plus offsets has no such objects (MMEngine's
``serialize_data``).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np


class PackedList:
    """An immutable, indexable list of picklable items stored as bytes."""

    def __init__(self, items: list[Any]) -> None:
        chunks = [np.frombuffer(pickle.dumps(item, protocol=4), dtype=np.uint8) for item in items]
        self._ends = np.cumsum([len(c) for c in chunks], dtype=np.int64)
        self._bytes = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> Any:
        start = 0 if index == 0 else int(self._ends[index - 1])
        end = int(self._ends[index])
        return pickle.loads(memoryview(self._bytes[start:end]))

    @property
    def nbytes(self) -> int:
        return int(self._bytes.nbytes + self._ends.nbytes)
