"""The ``SegDataPreProcessor`` that 0.x ``Normalize`` and ``Pad`` steps move into (SPEC §13)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.config.legacy.common import _check_keys, _pair
from segwright.utils.errors import ConfigError


class Normalisation:
    """Collects every pipeline's ``Normalize`` and ``Pad`` into one ``SegDataPreProcessor``.

    One preprocessor serves every split, so the splits must agree; training ``Pad`` gives
    ``size``/``size_divisor``, a test ``Pad`` gives ``test_cfg``.
    """

    def __init__(self) -> None:
        self.normalize: dict[str, Any] | None = None
        self.normalize_key = ""
        self.pads: dict[str, tuple[dict[str, Any], str]] = {}
        self.used = False

    def add_normalize(self, step: Mapping[str, Any], key: str) -> None:
        _check_keys(step, ("mean", "std", "to_rgb"), key, "Normalize")
        if "mean" not in step or "std" not in step:
            raise ConfigError(f"Config key '{key}' (Normalize) needs mean and std.")
        args = dict(
            mean=list(step["mean"]), std=list(step["std"]), to_rgb=bool(step.get("to_rgb", True))
        )
        if self.normalize is None:
            self.normalize, self.normalize_key = args, key
        elif self.normalize != args:
            raise ConfigError(
                f"Config key '{key}': Normalize({args}) differs from '{self.normalize_key}' "
                f"({self.normalize}). segwright normalises in model.data_preprocessor, one for "
                "every split; make the pipelines' Normalize steps equal."
            )

    def add_pad(self, step: Mapping[str, Any], key: str, role: str) -> None:
        _check_keys(step, ("size", "size_divisor", "pad_val", "seg_pad_val"), key, "Pad")
        size, divisor = step.get("size"), step.get("size_divisor")
        if (size is None) == (divisor is None):
            raise ConfigError(
                f"Config key '{key}' (Pad) needs exactly one of size=(h, w) and size_divisor."
            )
        args = dict(
            size=None if size is None else tuple(_pair(size)),
            size_divisor=divisor,
            pad_val=step.get("pad_val", 0),
            seg_pad_val=step.get("seg_pad_val", 255),
        )
        if role in self.pads and self.pads[role][0] != args:
            raise ConfigError(
                f"Config key '{key}': Pad({args}) differs from '{self.pads[role][1]}' "
                f"({self.pads[role][0]}); all {role} pipelines must pad alike (the padding moves "
                "into model.data_preprocessor)."
            )
        self.pads[role] = (args, key)
        values = {r: (p["pad_val"], p["seg_pad_val"]) for r, (p, _) in self.pads.items()}
        if len(set(values.values())) > 1:
            raise ConfigError(
                f"Config key '{key}': the train and test Pad steps use different pad_val / "
                f"seg_pad_val {values}; model.data_preprocessor has one of each. Make them equal."
            )

    def to_dict(self) -> dict[str, Any] | None:
        """The ``SegDataPreProcessor`` config, or None when no 0.x pipeline was seen."""
        if not self.used:
            return None
        out: dict[str, Any] = dict(type="SegDataPreProcessor")
        if self.normalize is not None:
            out.update(
                mean=self.normalize["mean"],
                std=self.normalize["std"],
                bgr_to_rgb=self.normalize["to_rgb"],
            )
        pad_val, seg_pad_val = 0, 255  # MMCV's collate pads images with 0 and labels with 255
        train_pad = self.pads.get("train", (None, ""))[0]
        test_pad = self.pads.get("test", (None, ""))[0]
        for pad in (train_pad, test_pad):
            if pad is not None:
                pad_val, seg_pad_val = pad["pad_val"], pad["seg_pad_val"]
        out.update(pad_val=pad_val, seg_pad_val=seg_pad_val)
        if train_pad is not None:
            if train_pad["size"] is not None:
                out["size"] = train_pad["size"]
            else:
                out["size_divisor"] = train_pad["size_divisor"]
        if test_pad is not None:
            out["test_cfg"] = (
                dict(size=test_pad["size"])
                if test_pad["size"] is not None
                else dict(size_divisor=test_pad["size_divisor"])
            )
        return out
