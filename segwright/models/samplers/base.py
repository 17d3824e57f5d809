"""The interface of pixel samplers."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch


class BasePixelSampler(ABC):
    """Chooses which pixels a decode head's losses count, as a weight map.

    A sampler is built by the head with ``context=<the head>`` among its arguments and is
    called on the logits already resized to the label size.
    """

    @abstractmethod
    def sample(self, seg_logit: torch.Tensor, seg_label: torch.Tensor) -> torch.Tensor:
        """Return per-pixel loss weights.

        Shapes:
            seg_logit (N, C, H, W); seg_label (N, 1, H, W) -> weight (N, H, W).
        """
