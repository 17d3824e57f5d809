"""What an assigner decided for each prior, as MMDetection 3.3's ``AssignResult``."""

from __future__ import annotations

from typing import Any

import torch


class AssignResult:
    """The ground truth assigned to each prior (anchor or proposal).

    ``gt_inds`` codes the decision per prior: 0 negative (background), -1 ignored,
    ``k > 0`` positive for ground truth ``k - 1``.

    Args:
        num_gts: Number of ground-truth boxes the priors were matched against.
        gt_inds: The assigned ground-truth index per prior, coded as above.
        max_overlaps: The best overlap of each prior with any ground truth.
        labels: The class of the assigned ground truth per prior (-1 when unassigned), or None.

    Shapes:
        gt_inds (N,) long; max_overlaps (N,); labels (N,) long.
    """

    def __init__(
        self,
        num_gts: int,
        gt_inds: torch.Tensor,
        max_overlaps: torch.Tensor,
        labels: torch.Tensor | None,
    ) -> None:
        self.num_gts = num_gts
        self.gt_inds = gt_inds
        self.max_overlaps = max_overlaps
        self.labels = labels
        self._extra_properties: dict[str, Any] = {}

    @property
    def num_preds(self) -> int:
        """Number of priors."""
        return len(self.gt_inds)

    def set_extra_property(self, key: str, value: Any) -> None:
        """Attach a user-defined value (the name must not clash with :attr:`info`)."""
        if key in self.info:
            raise KeyError(f"AssignResult already has {key!r}; pick another name.")
        self._extra_properties[key] = value

    def get_extra_property(self, key: str) -> Any:
        """A value attached with :meth:`set_extra_property`, else None."""
        return self._extra_properties.get(key)

    @property
    def info(self) -> dict[str, Any]:
        """The fields (and extra properties) as a dict."""
        return {
            "num_gts": self.num_gts,
            "num_preds": self.num_preds,
            "gt_inds": self.gt_inds,
            "max_overlaps": self.max_overlaps,
            "labels": self.labels,
            **self._extra_properties,
        }

    def add_gt_(self, gt_labels: torch.Tensor) -> None:
        """Prepend the ground truths themselves as priors assigned to themselves (overlap 1).

        Shapes:
            gt_labels (G,): every field grows from (N,) to (G + N,).
        """
        num = len(gt_labels)
        own = torch.arange(1, num + 1, dtype=torch.long, device=gt_labels.device)
        self.gt_inds = torch.cat([own, self.gt_inds])
        self.max_overlaps = torch.cat([self.max_overlaps.new_ones(num), self.max_overlaps])
        if self.labels is not None:
            self.labels = torch.cat([gt_labels, self.labels])

    def __repr__(self) -> str:
        def shape(t: torch.Tensor | None) -> Any:
            return None if t is None else tuple(t.shape)

        return (
            f"<{type(self).__name__}(num_gts={self.num_gts}, gt_inds.shape={shape(self.gt_inds)}, "
            f"max_overlaps.shape={shape(self.max_overlaps)}, labels.shape={shape(self.labels)})>"
        )
