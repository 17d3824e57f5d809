"""``Albu``: run an albumentations pipeline inside a segwright pipeline (optional dependency)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segwright.datasets.transforms.base import BaseTransform
from segwright.registry import TRANSFORMS
from segwright.utils.errors import ConfigError


def _import_albumentations() -> Any:
    try:
        import albumentations
    except ImportError as exc:
        raise ConfigError(
            "The Albu transform needs the albumentations package, which is not installed. "
            "Install it (pip install albumentations) or remove the Albu step from the pipeline."
        ) from exc
    return albumentations


@TRANSFORMS.register_module()
class Albu(BaseTransform):
    """Wrap albumentations transforms given as dicts (``dict(type='RandomBrightnessContrast',
    p=0.2)``; nested ``transforms`` lists are built too).

    Reads and writes the keys in ``keymap`` (``img`` and ``gt_seg_map`` by default) and
    ``img_shape`` (plus ``pad_shape`` with ``update_pad_shape``).

    Args:
        transforms: albumentations transform configs.
        keymap: segwright key -> albumentations argument name.
        update_pad_shape: Set ``pad_shape`` to the new image shape.
    """

    def __init__(
        self,
        transforms: Sequence[Mapping[str, Any]],
        keymap: Mapping[str, str] | None = None,
        update_pad_shape: bool = False,
    ) -> None:
        self._albu = _import_albumentations()
        if not isinstance(transforms, Sequence) or isinstance(transforms, str):
            raise ConfigError("Albu: transforms must be a list of dict(type=..., ...).")
        self.transforms = list(transforms)
        self.keymap = dict(keymap) if keymap else {"img": "image", "gt_seg_map": "mask"}
        self.update_pad_shape = update_pad_shape
        self._aug = self._albu.Compose([self._build(t) for t in self.transforms])

    def _build(self, cfg: Any) -> Any:
        if not isinstance(cfg, Mapping) or "type" not in cfg:
            raise ConfigError(f"Albu: each transform must be a dict with 'type', got {cfg!r}.")
        args = dict(cfg)
        name = args.pop("type")
        factory = getattr(self._albu, name, None) if isinstance(name, str) else name
        if factory is None:
            raise ConfigError(f"Albu: albumentations has no transform named {name!r}.")
        if "transforms" in args:
            args["transforms"] = [self._build(t) for t in args["transforms"]]
        return factory(**args)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        inputs = {albu_key: results[key] for key, albu_key in self.keymap.items() if key in results}
        outputs = self._aug(**inputs)
        for key, albu_key in self.keymap.items():
            if albu_key in outputs:
                results[key] = outputs[albu_key]
        results["img_shape"] = results["img"].shape[:2]
        if self.update_pad_shape:
            results["pad_shape"] = results["img"].shape
        return results
