"""Small helpers the dense heads share: unpacking samples, regrouping targets, anchor borders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from segwright.utils.errors import ConfigError


def unpack_gt_instances(
    batch_data_samples: Sequence[Any],
) -> tuple[list[Any], list[Any | None], list[dict[str, Any]]]:
    """Split samples into ground truths, ignored instances (or None) and metainfo dicts.

    Raises:
        ValueError: A sample has no ``gt_instances``.
    """
    gt_instances, ignored, metas = [], [], []
    for index, sample in enumerate(batch_data_samples):
        if "gt_instances" not in sample:
            raise ValueError(
                f"Data sample {index} has no gt_instances; a dense head's loss needs boxes and "
                "labels per image (an image without objects has empty (0, 4) boxes)."
            )
        gt_instances.append(sample.gt_instances)
        ignored.append(sample.ignored_instances if "ignored_instances" in sample else None)
        metas.append(sample.metainfo)
    return gt_instances, ignored, metas


def meta_shape(img_meta: Mapping[str, Any], key: str, owner: str) -> tuple[int, int]:
    """``img_meta[key]`` (``(h, w[, c])``) as ``(h, w)``.

    Raises:
        ValueError: The key is missing or does not hold a shape.
    """
    shape = img_meta.get(key)
    if shape is None:
        raise ValueError(
            f"{owner}: the image metainfo has no {key!r} (it has {sorted(img_meta)}); the "
            "detection pipeline's Resize/Pad and PackDetInputs set it."
        )
    if isinstance(shape, torch.Tensor):
        shape = shape.tolist()
    if not isinstance(shape, Sequence) or len(shape) < 2:
        raise ValueError(f"{owner}: metainfo {key!r} must be (h, w[, c]), got {shape!r}.")
    return int(shape[0]), int(shape[1])


def meta_scale_factor(img_meta: Mapping[str, Any], owner: str) -> tuple[float, float]:
    """``img_meta['scale_factor']`` as ``(w_scale, h_scale)``; ``(1.0, 1.0)`` when absent.

    A test pipeline without ``Resize`` sets no scale factor: the network sees the image at its
    original size (MMDetection 2.x's formatting filled in 1.0 the same way). A single number
    scales both sides; MMDetection 2.x's ``[w, h, w, h]`` arrays give their first two values.

    Raises:
        ValueError: The value is not a number or a sequence of them.
    """
    value = img_meta.get("scale_factor")
    if value is None:
        return 1.0, 1.0
    try:
        flat = torch.as_tensor(value, dtype=torch.float64).flatten().tolist()
    except (TypeError, ValueError, RuntimeError):
        flat = []
    if not flat:
        raise ValueError(
            f"{owner}: metainfo 'scale_factor' must be (w_scale, h_scale) or one number, got "
            f"{value!r}."
        )
    return flat[0], flat[1] if len(flat) > 1 else flat[0]


def anchor_inside_flags(
    flat_anchors: torch.Tensor,
    valid_flags: torch.Tensor,
    img_shape: tuple[int, int],
    allowed_border: float = 0,
) -> torch.Tensor:
    """Valid anchors that lie inside the image, up to ``allowed_border`` pixels over its edge.

    A negative ``allowed_border`` keeps every valid anchor. The right and bottom edges are
    exclusive (``x2 < w + border``), as in MMDetection.

    Shapes:
        flat_anchors (N, 4); valid_flags (N,) bool -> (N,) bool.
    """
    if allowed_border < 0:
        return valid_flags
    img_h, img_w = img_shape[:2]
    return (
        valid_flags
        & (flat_anchors[:, 0] >= -allowed_border)
        & (flat_anchors[:, 1] >= -allowed_border)
        & (flat_anchors[:, 2] < img_w + allowed_border)
        & (flat_anchors[:, 3] < img_h + allowed_border)
    )


def unmap(
    data: torch.Tensor, count: int, inds: torch.Tensor, fill: float | int = 0
) -> torch.Tensor:
    """Scatter ``data`` (rows for the True entries of ``inds``) into ``count`` rows of ``fill``.

    Shapes:
        data (M, ...); inds (count,) bool with M True entries -> (count, ...).
    """
    out = data.new_full((count, *data.shape[1:]), fill)
    out[inds.bool()] = data
    return out


def images_to_levels(
    per_image: Sequence[torch.Tensor], num_level_anchors: Sequence[int]
) -> list[torch.Tensor]:
    """Per-image targets over all levels -> per-level targets over the batch.

    Shapes:
        per_image: B tensors (sum(n_l), ...) -> one (B, n_l, ...) per level.
    """
    stacked = torch.stack(list(per_image), 0)
    return list(stacked.split(list(num_level_anchors), dim=1))


def cfg_value(cfg: Mapping[str, Any], key: str, owner: str, where: str) -> Any:
    """``cfg[key]``, or a ConfigError that names the missing key and where it belongs."""
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"{owner}: {where} must be a dict, got {type(cfg).__name__}.")
    if key not in cfg:
        raise ConfigError(
            f"{owner}: {where} has no {key!r} (it has {sorted(cfg)}). Add it, e.g. as in "
            "MMDetection's configs/_base_/models/mask-rcnn_r50_fpn.py."
        )
    return cfg[key]
