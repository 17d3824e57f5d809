"""``TestTimeAug``: run every combination of alternative transforms on one image."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from typing import Any

from segwright.datasets.transforms.base import BaseTransform
from segwright.datasets.transforms.compose import Compose, build_transform
from segwright.registry import TRANSFORMS, current_build_path, join_path
from segwright.utils.errors import ConfigError, DatasetError


@TRANSFORMS.register_module()
class TestTimeAug(BaseTransform):
    """Apply the product of the stages' alternatives and gather the results (MMCV 2.x).

    ``transforms=[[Resize(r) for r in ratios], [RandomFlip(prob=0.), RandomFlip(prob=1.)],
    [LoadAnnotations()], [PackSegInputs()]]`` yields ``len(ratios) * 2`` views, ordered
    ratio-major (all flips of the first ratio, then the second ratio, ...). The output is one
    dict of lists: ``dict(inputs=[...], data_samples=[...])``.

    Args:
        transforms: A list of stages; each stage a list of alternative transforms.
    """

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, transforms: Sequence[Sequence[Any]]) -> None:
        if (
            not isinstance(transforms, Sequence)
            or isinstance(transforms, str)
            or not transforms
            or not all(isinstance(s, Sequence) and not isinstance(s, str) and s for s in transforms)
        ):
            raise ConfigError(
                "TestTimeAug: transforms must be a non-empty list of non-empty lists, e.g. "
                "[[dict(type='Resize', scale_factor=r, keep_ratio=True) for r in ratios], "
                "[dict(type='RandomFlip', prob=0.), dict(type='RandomFlip', prob=1.)], "
                "[dict(type='PackSegInputs')]]."
            )
        stages = [
            [build_transform(t, key=f"transforms[{i}][{j}]") for j, t in enumerate(stage)]
            for i, stage in enumerate(transforms)
        ]
        parent = current_build_path()
        self.subroutines = []
        for combo in itertools.product(*(list(enumerate(stage)) for stage in stages)):
            subroutine = Compose([t for _, t in combo])
            # the config key of each branch step, for errors while loading a sample
            subroutine.step_keys = [
                join_path(parent, f"transforms[{i}][{j}]") for i, (j, _) in enumerate(combo)
            ]
            self.subroutines.append(subroutine)

    def annotation_settings(self) -> tuple[str, bool | None] | None:
        """The first branch's LoadAnnotations settings (see ``Compose.annotation_settings``)."""
        for subroutine in self.subroutines:
            found = subroutine.annotation_settings()
            if found is not None:
                return found
        return None

    def transform(self, results: dict[str, Any]) -> dict[str, list[Any]]:
        outputs = []
        for subroutine in self.subroutines:
            out = subroutine(copy.deepcopy(results))
            if out is None:
                raise DatasetError(
                    f"TestTimeAug: a branch returned None for {results.get('img_path')}; test "
                    "pipelines must not skip samples."
                )
            outputs.append(out)
        merged: dict[str, list[Any]] = {key: [] for key in outputs[0]}
        for out in outputs:
            for key, value in out.items():
                merged.setdefault(key, []).append(value)
        return merged
