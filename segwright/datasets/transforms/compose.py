"""``Compose``: run transforms in order; a step returning None stops and returns None.

An error raised by a step while a sample loads names that step's config key
(``train_dataloader.dataset.pipeline[2] (RandomCrop)``) and the sample (index and image file).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from segwright.registry import TRANSFORMS, current_build_path, join_path
from segwright.utils.errors import ConfigError, SegwrightError

# Set on an exception once a Compose named its step, so an outer Compose (TTA) leaves it.
_LOCATED = "_segwright_pipeline_step"


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
        # Each step's config key, for errors while loading (the dataset is built under
        # 'train_dataloader.dataset', so step 2 is 'train_dataloader.dataset.pipeline[2]').
        parent = current_build_path()
        self.step_keys = [join_path(parent, f"pipeline[{i}]") for i in range(len(self.transforms))]

    def __call__(self, data: dict[str, Any]) -> dict[str, Any] | None:
        for index, transform in enumerate(self.transforms):
            try:
                result = transform(data)
            except Exception as exc:  # noqa: BLE001 - re-raised, with the step and sample
                located = self._locate(exc, index, data)
                if located is exc:
                    raise
                raise located from exc
            if result is None:
                return None
            data = result
        return data

    def _locate(self, exc: Exception, index: int, data: Any) -> Exception:
        """``exc`` naming step ``index``'s config key and the sample (same class, or a note)."""
        if getattr(exc, _LOCATED, False):
            return exc
        transform = self.transforms[index]
        keys = getattr(self, "step_keys", None) or []  # pickles from before step_keys
        key = keys[index] if index < len(keys) else f"pipeline[{index}]"
        where = f"{key} ({getattr(transform, '__name__', type(transform).__name__)})"
        message = str(exc)
        idx = data.get("sample_idx") if isinstance(data, Mapping) else None
        path = data.get("img_path") if isinstance(data, Mapping) else None
        sample = f"sample {idx}" if idx is not None else "a sample"
        if isinstance(path, str) and path not in message:
            sample += f" ({path})"
        text = f"while loading {sample} in config key {where}"
        located: Exception = exc
        if isinstance(exc, SegwrightError) and len(exc.args) == 1:
            try:
                located = type(exc)(f"{message} ({text})")
            except Exception:  # noqa: BLE001 - an error class with another signature
                located = exc
        try:
            if located is exc:
                exc.add_note(text[0].upper() + text[1:] + ".")
            setattr(located, _LOCATED, True)
        except Exception:  # noqa: BLE001 - an exception that takes no attributes: as it is
            return exc
        return located

    def annotation_settings(self) -> tuple[str, bool | None] | None:
        """``(imdecode_backend, reduce_zero_label)`` of the first step that loads label maps.

        Steps answer for themselves (``LoadAnnotations``, ``TestTimeAug``), so the label checks
        can ask without importing the transforms. None when no step loads label maps.
        """
        for transform in self.transforms:
            ask = getattr(transform, "annotation_settings", None)
            found = ask() if callable(ask) else None
            if found is not None:
                return found
        return None

    def __iter__(self):
        return iter(self.transforms)

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"
