"""Point sampling (MMCV 2.1's ``point_sample``) and PointRend's uncertain-point selection.

``point_sample`` reads a feature map at points given in ``[0, 1] x [0, 1]`` image coordinates
(x first), bilinearly or nearest, with zeros outside the map, through ``F.grid_sample`` as MMCV
does, so results match it bit for bit. The two point pickers are PointRend's: at training, the
most uncertain of ``oversample_ratio`` times more random points plus fresh random ones; at test,
the most uncertain cells of a regular grid.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def point_sample(
    input: torch.Tensor,  # noqa: A002 - MMCV's argument name
    points: torch.Tensor,
    align_corners: bool = False,
    **kwargs: object,
) -> torch.Tensor:
    """Sample ``input`` at normalised points.

    Args:
        input: Feature map.
        points: ``(x, y)`` in ``[0, 1]``; 0 and 1 are the outer edges of the border pixels
            (their centres with ``align_corners=True``).
        align_corners: As in ``F.grid_sample``.
            Points are cast to the input's dtype.
        **kwargs: ``mode`` ('bilinear' or 'nearest') and ``padding_mode`` of ``F.grid_sample``.

    Shapes:
        input (N, C, H, W); points (N, P, 2) -> (N, C, P), or (N, Hg, Wg, 2) -> (N, C, Hg, Wg).
    """
    if points.dim() not in (3, 4) or points.size(-1) != 2:
        raise ValueError(
            f"point_sample: points must be (N, P, 2) or (N, Hg, Wg, 2), got {tuple(points.shape)}."
        )
    grid = points.unsqueeze(2) if points.dim() == 3 else points
    grid = grid.to(input.dtype)  # grid_sample needs one dtype (MMCV raises on a mix)
    out = F.grid_sample(input, grid * 2.0 - 1.0, align_corners=align_corners, **kwargs)  # type: ignore[arg-type]
    return out.squeeze(3) if points.dim() == 3 else out


def calculate_uncertainty(seg_logits: torch.Tensor) -> torch.Tensor:
    """Minus the margin between the two largest logits: highest where the class is least sure.

    Shapes:
        (N, C, ...) -> (N, 1, ...).
    """
    top2 = seg_logits.topk(2, dim=1).values
    return (top2[:, 1] - top2[:, 0]).unsqueeze(1)


def get_uncertain_point_coords_with_randomness(
    seg_logits: torch.Tensor,
    uncertainty_func: Callable[[torch.Tensor], torch.Tensor],
    num_points: int,
    oversample_ratio: float,
    importance_sample_ratio: float,
) -> torch.Tensor:
    """PointRend's training points, with MMSeg 1.2.2's random draws in the same order.

    ``int(num_points * oversample_ratio)`` uniform points are drawn and their *interpolated*
    logits scored (scoring the coarse map first would miss the uncertainty between two confident
    cells); the ``int(importance_sample_ratio * num_points)`` most uncertain are kept and the
    rest of the ``num_points`` are drawn uniformly again.

    Shapes:
        seg_logits (N, C, H, W) -> (N, num_points, 2) ``(x, y)`` in ``[0, 1]``.
    """
    if oversample_ratio < 1:
        raise ValueError(f"oversample_ratio must be >= 1, got {oversample_ratio}.")
    if not 0 <= importance_sample_ratio <= 1:
        raise ValueError(
            f"importance_sample_ratio must be in [0, 1], got {importance_sample_ratio}."
        )
    n = seg_logits.shape[0]
    num_sampled = int(num_points * oversample_ratio)
    coords = torch.rand(n, num_sampled, 2, device=seg_logits.device)
    uncertainty = uncertainty_func(point_sample(seg_logits, coords))
    num_uncertain = int(importance_sample_ratio * num_points)
    num_random = num_points - num_uncertain
    idx = uncertainty[:, 0, :].topk(num_uncertain, dim=1).indices
    coords = coords.gather(1, idx.unsqueeze(2).expand(n, num_uncertain, 2))
    if num_random > 0:
        extra = torch.rand(n, num_random, 2, device=seg_logits.device)
        coords = torch.cat([coords, extra], dim=1)
    return coords


def get_uncertain_point_coords_on_grid(
    uncertainty_map: torch.Tensor, num_points: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``num_points`` most uncertain cells of the map and their centres.

    Returns:
        ``(indices, coords)``: flat indices (N, P) into ``H * W`` and the cell centres
        (N, P, 2) as ``(x, y)`` in ``[0, 1]``, with ``P = min(num_points, H * W)``.

    Shapes:
        uncertainty_map (N, 1, H, W).
    """
    n, _, height, width = uncertainty_map.shape
    num_points = min(height * width, num_points)
    indices = uncertainty_map.view(n, height * width).topk(num_points, dim=1).indices
    coords = torch.zeros(n, num_points, 2, dtype=torch.float, device=uncertainty_map.device)
    coords[:, :, 0] = 0.5 / width + (indices % width).float() * (1.0 / width)
    coords[:, :, 1] = 0.5 / height + (indices // width).float() * (1.0 / height)
    return indices, coords
