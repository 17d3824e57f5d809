"""Per-pixel values of one image (labels, logits, edge maps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class PixelData:
    """A ``(C, H, W)`` tensor of per-pixel values (labels or logits)."""

    data: torch.Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape[-2:])

    def to(self, *args: Any, **kwargs: Any) -> PixelData:
        return PixelData(self.data.to(*args, **kwargs))

    def cpu(self) -> PixelData:
        return PixelData(self.data.cpu())

    def pin_memory(self) -> PixelData:
        """A copy in page-locked memory (a DataLoader with ``pin_memory=True`` calls it)."""
        return PixelData(self.data.pin_memory())

    def detach(self) -> PixelData:
        return PixelData(self.data.detach())

    def to_dict(self) -> dict[str, Any]:
        """``{'data': tensor}``, the form MMEngine's ``PixelData.to_dict()`` gives metrics."""
        return {"data": self.data}
