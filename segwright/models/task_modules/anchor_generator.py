"""Anchors on feature-map grids, as MMDetection 3.3's ``AnchorGenerator``.

Checkpoint compatibility depends on the order: the RPN's conv channel ``a`` at location
``(y, x)`` predicts for anchor ``(y * W + x) * A + a``, where the A base anchors of a
location run over ratios (outer) and scales (inner) when ``scale_major=True``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch

from segwright.registry import TASK_UTILS
from segwright.utils.errors import ConfigError

Device = str | torch.device


def _pair(value: Any, name: str) -> tuple[float, float]:
    """``8`` -> ``(8, 8)``; ``(w, h)`` as is."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, Sequence) and len(value) == 2:
        return (value[0], value[1])
    raise ConfigError(f"AnchorGenerator: each of {name} must be a number or (w, h), got {value!r}.")


def _number_list(values: Any, name: str) -> list[float]:
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        raise ConfigError(f"AnchorGenerator: {name} must be a non-empty list, got {values!r}.")
    for value in values:
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise ConfigError(f"AnchorGenerator: {name} must hold numbers, got {values!r}.")
    return list(values)


@TASK_UTILS.register_module()
class AnchorGenerator:
    """Standard anchor generator of two-stage detectors (RPN).

    Per level, a base anchor of size ``base_size * scale`` (default base size: the smaller
    stride) is reshaped by each ratio (``h / w``): ``w = base * scale / sqrt(r)``,
    ``h = base * scale * sqrt(r)``, centred at ``center_offset * base_size`` (or
    ``centers[i]``). The grid shifts it by ``(x * stride_w, y * stride_h)``.

    Args:
        strides: Per level, a stride or ``(stride_w, stride_h)``.
        ratios: Height / width ratios.
        scales: Anchor scales; or give ``octave_base_scale`` and ``scales_per_octave``.
        base_sizes: Per level base size; default the smaller of each level's strides.
        scale_major: Base anchors ordered ratio-major, scale-minor (True) or the reverse.
        octave_base_scale: RetinaNet-style scales ``octave_base_scale * 2**(i / n)``.
        scales_per_octave: The ``n`` above.
        centers: Per level ``(x, y)`` centre of the base anchors; excludes ``center_offset``.
        center_offset: Centre at ``center_offset * base_size``, in [0, 1].
        use_box_type: Must be False: priors are plain tensors here.

    Raises:
        ConfigError: Inconsistent or missing arguments.
    """

    def __init__(
        self,
        strides: Sequence[int | Sequence[int]],
        ratios: Sequence[float],
        scales: Sequence[float] | None = None,
        base_sizes: Sequence[float] | None = None,
        scale_major: bool = True,
        octave_base_scale: float | None = None,
        scales_per_octave: int | None = None,
        centers: Sequence[Sequence[float]] | None = None,
        center_offset: float = 0.0,
        use_box_type: bool = False,
    ) -> None:
        if isinstance(strides, (int, float)) or not isinstance(strides, Sequence) or not strides:
            raise ConfigError(
                f"AnchorGenerator: strides must be a non-empty list (one per level), got {strides!r}."
            )
        if center_offset != 0 and centers is not None:
            raise ConfigError(
                "AnchorGenerator: give centers or a non-zero center_offset, not both "
                f"(got centers={centers!r}, center_offset={center_offset})."
            )
        if not 0 <= center_offset <= 1:
            raise ConfigError(
                f"AnchorGenerator: center_offset must be in [0, 1], got {center_offset}."
            )
        if centers is not None and len(centers) != len(strides):
            raise ConfigError(
                f"AnchorGenerator: centers needs one (x, y) per level ({len(strides)}), "
                f"got {centers!r}."
            )
        if use_box_type:
            raise ConfigError(
                "AnchorGenerator: use_box_type=True is not supported; priors are plain "
                "(N, 4) tensors. Remove use_box_type."
            )
        self.strides = [_pair(stride, "strides") for stride in strides]
        if base_sizes is None:
            self.base_sizes = [min(stride) for stride in self.strides]
        else:
            self.base_sizes = _number_list(base_sizes, "base_sizes")
            if len(self.base_sizes) != len(self.strides):
                raise ConfigError(
                    f"AnchorGenerator: base_sizes needs one entry per level ({len(self.strides)}), "
                    f"got {list(base_sizes)!r}."
                )
        octave = octave_base_scale is not None and scales_per_octave is not None
        if octave == (scales is not None):
            raise ConfigError(
                "AnchorGenerator: set either scales, or both octave_base_scale and "
                f"scales_per_octave (got scales={scales!r}, octave_base_scale="
                f"{octave_base_scale!r}, scales_per_octave={scales_per_octave!r})."
            )
        if scales is not None:
            scale_values = _number_list(scales, "scales")
        else:
            assert octave_base_scale is not None and scales_per_octave is not None
            scale_values = [
                2 ** (i / scales_per_octave) * octave_base_scale for i in range(scales_per_octave)
            ]
        self.scales = torch.tensor(scale_values, dtype=torch.float32)
        self.ratios = torch.tensor(_number_list(ratios, "ratios"), dtype=torch.float32)
        self.octave_base_scale = octave_base_scale
        self.scales_per_octave = scales_per_octave
        self.scale_major = bool(scale_major)
        self.centers = centers
        self.center_offset = center_offset
        self.use_box_type = False
        self.base_anchors = self.gen_base_anchors()

    # -- sizes -------------------------------------------------------------------------------

    @property
    def num_levels(self) -> int:
        """How many feature levels the generator serves."""
        return len(self.strides)

    @property
    def num_base_priors(self) -> list[int]:
        """Anchors per location, per level (``len(ratios) * len(scales)``)."""
        return [anchors.size(0) for anchors in self.base_anchors]

    @property
    def num_base_anchors(self) -> list[int]:
        """Old name of :attr:`num_base_priors`."""
        return self.num_base_priors

    # -- base anchors ------------------------------------------------------------------------

    def gen_base_anchors(self) -> list[torch.Tensor]:
        """The anchors of location (0, 0) on every level.

        Shapes:
            -> a list of (A, 4) per level.
        """
        anchors = []
        for level, base_size in enumerate(self.base_sizes):
            center = None if self.centers is None else self.centers[level]
            anchors.append(
                self.gen_single_level_base_anchors(base_size, self.scales, self.ratios, center)
            )
        return anchors

    def gen_single_level_base_anchors(
        self,
        base_size: float,
        scales: torch.Tensor,
        ratios: torch.Tensor,
        center: Sequence[float] | None = None,
    ) -> torch.Tensor:
        """Base anchors of one level (see the class docstring for the formula).

        Shapes:
            scales (S,); ratios (R,) -> (R * S, 4).
        """
        if center is None:
            x_center = self.center_offset * base_size
            y_center = self.center_offset * base_size
        else:
            x_center, y_center = center
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        if self.scale_major:
            ws = (base_size * w_ratios[:, None] * scales[None, :]).reshape(-1)
            hs = (base_size * h_ratios[:, None] * scales[None, :]).reshape(-1)
        else:
            ws = (base_size * scales[:, None] * w_ratios[None, :]).reshape(-1)
            hs = (base_size * scales[:, None] * h_ratios[None, :]).reshape(-1)
        return torch.stack(
            [x_center - 0.5 * ws, y_center - 0.5 * hs, x_center + 0.5 * ws, y_center + 0.5 * hs],
            dim=-1,
        )

    # -- grids -------------------------------------------------------------------------------

    def _check_levels(self, featmap_sizes: Sequence[Any]) -> None:
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(
                f"AnchorGenerator: got {len(featmap_sizes)} feature map sizes for "
                f"{self.num_levels} levels (strides {self.strides})."
            )

    def grid_priors(
        self,
        featmap_sizes: Sequence[tuple[int, int]],
        dtype: torch.dtype = torch.float32,
        device: Device = "cpu",
    ) -> list[torch.Tensor]:
        """All anchors of every level, location-major (row by row), base anchors inner.

        Shapes:
            featmap_sizes: one (H, W) per level -> a list of (H * W * A, 4).
        """
        self._check_levels(featmap_sizes)
        return [
            self.single_level_grid_priors(size, level, dtype=dtype, device=device)
            for level, size in enumerate(featmap_sizes)
        ]

    def single_level_grid_priors(
        self,
        featmap_size: tuple[int, int],
        level_idx: int,
        dtype: torch.dtype = torch.float32,
        device: Device = "cpu",
    ) -> torch.Tensor:
        """The anchors of one level.

        Shapes:
            featmap_size (H, W) -> (H * W * A, 4).
        """
        base_anchors = self.base_anchors[level_idx].to(device).to(dtype)
        feat_h, feat_w = featmap_size
        stride_w, stride_h = self.strides[level_idx]
        shift_x = torch.arange(0, feat_w, device=device).to(dtype) * stride_w
        shift_y = torch.arange(0, feat_h, device=device).to(dtype) * stride_h
        shift_yy, shift_xx = torch.meshgrid(shift_y, shift_x, indexing="ij")
        shift_xx, shift_yy = shift_xx.reshape(-1), shift_yy.reshape(-1)
        shifts = torch.stack([shift_xx, shift_yy, shift_xx, shift_yy], dim=-1)
        return (base_anchors[None, :, :] + shifts[:, None, :]).reshape(-1, 4)

    def sparse_priors(
        self,
        prior_idxs: torch.Tensor,
        featmap_size: tuple[int, int],
        level_idx: int,
        dtype: torch.dtype = torch.float32,
        device: Device = "cpu",
    ) -> torch.Tensor:
        """The anchors at the given flat indices of one level's grid.

        Shapes:
            prior_idxs (K,) into the (H * W * A) grid of ``grid_priors`` -> (K, 4).
        """
        height, width = featmap_size
        num_base = self.num_base_priors[level_idx]
        base_id = prior_idxs % num_base
        x = (prior_idxs // num_base) % width * self.strides[level_idx][0]
        y = (prior_idxs // width // num_base) % height * self.strides[level_idx][1]
        priors = torch.stack([x, y, x, y], 1).to(dtype).to(device)
        return priors + self.base_anchors[level_idx][base_id, :].to(device)

    def valid_flags(
        self,
        featmap_sizes: Sequence[tuple[int, int]],
        pad_shape: Sequence[int],
        device: Device = "cpu",
    ) -> list[torch.Tensor]:
        """Which anchors sit on locations inside the padded image (``ceil(pad / stride)``).

        Shapes:
            featmap_sizes: one (H, W) per level; pad_shape (h, w[, c]) -> a list of
            (H * W * A,) bool.
        """
        self._check_levels(featmap_sizes)
        pad_h, pad_w = pad_shape[:2]
        flags = []
        for level, (feat_h, feat_w) in enumerate(featmap_sizes):
            stride_w, stride_h = self.strides[level]
            valid_h = min(int(math.ceil(pad_h / stride_h)), feat_h)
            valid_w = min(int(math.ceil(pad_w / stride_w)), feat_w)
            flags.append(
                self.single_level_valid_flags(
                    (feat_h, feat_w), (valid_h, valid_w), self.num_base_priors[level], device
                )
            )
        return flags

    def single_level_valid_flags(
        self,
        featmap_size: tuple[int, int],
        valid_size: tuple[int, int],
        num_base_anchors: int,
        device: Device = "cpu",
    ) -> torch.Tensor:
        """Flags of one level: True for locations in the top-left ``valid_size`` corner.

        Shapes:
            featmap_size (H, W); valid_size (h, w) -> (H * W * num_base_anchors,) bool.
        """
        feat_h, feat_w = featmap_size
        valid_h, valid_w = valid_size
        if valid_h > feat_h or valid_w > feat_w:
            raise ValueError(
                f"AnchorGenerator: valid size {valid_size} exceeds the feature map {featmap_size}."
            )
        valid_x = torch.arange(feat_w, device=device) < valid_w
        valid_y = torch.arange(feat_h, device=device) < valid_h
        valid = (valid_y[:, None] & valid_x[None, :]).reshape(-1)
        return valid[:, None].expand(valid.size(0), num_base_anchors).reshape(-1)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(strides={self.strides}, ratios={self.ratios.tolist()}, "
            f"scales={self.scales.tolist()}, base_sizes={self.base_sizes}, "
            f"scale_major={self.scale_major}, center_offset={self.center_offset}, "
            f"centers={self.centers})"
        )
