"""``Compose``: run transforms in order; a step returning None stops and returns None."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from segwright.registry import TRANSFORMS
from segwright.utils.errors import ConfigError


def build_transform(cfg: Any, key: str) -> Callable[[dict[str, Any]], Any]:
    """A transform from a config dict, or a callable passed through."""
    if isinstance(cfg, Mapping):
        return TRANSFORMS.build(cfg, key=key)
    if callable(cfg):
        return cfg
    raise ConfigError(
        f"Pipeline step {key} must be a dict(type=...) or a callable, got {type(cfg).__name__} "
        f"{cfg!r}."
    )


@TRANSFORMS.register_module()
class Compose:
    """A pipeline: each transform gets the previous one's dict.

    A transform that returns None means "skip this sample"; the dataset then fetches another
    index (MMEngine semantics).

    Args:
        transforms: Config dicts or callables, in order.
    """

    def __init__(self, transforms: Sequence[Any] | Mapping[str, Any] | Callable | None) -> None:
        if transforms is None:
            transforms = []
        elif isinstance(transforms, Mapping) or callable(transforms):
            transforms = [transforms]
        elif isinstance(transforms, str) or not isinstance(transforms, Sequence):
            raise ConfigError(
                f"pipeline must be a list of transform dicts, got {type(transforms).__name__}."
            )
        self.transforms = [
            build_transform(t, key=f"pipeline[{i}]") for i, t in enumerate(transforms)
        ]

    def __call__(self, data: dict[str, Any]) -> dict[str, Any] | None:
        for transform in self.transforms:
            data = transform(data)
            if data is None:
                return None
        return data

    def __iter__(self):
        return iter(self.transforms)

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"
