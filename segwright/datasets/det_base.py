"""``BaseDetDataset``: MMDetection 3.3's detection dataset arguments on the shared base.

A sample is ``dict(img_path, img_id, seg_map_path, height, width, instances, sample_idx)``;
each instance is ``dict(ignore_flag, bbox=[x1, y1, x2, y2], bbox_label, mask)``. Subclasses
(:class:`~segwright.datasets.coco.CocoDataset`) read their annotation file in
``load_data_list``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from typing import Any

from segwright.datasets.dataset_base import BaseDataset
from segwright.datasets.transforms.base import check_backend_args
from segwright.registry import DATASETS
from segwright.utils.errors import ConfigError, DatasetError
from segwright.utils.palette import auto_palette


@DATASETS.register_module()
class BaseDetDataset(BaseDataset):
    """A detection / instance segmentation dataset (MMDetection 3.3's arguments).

    Args:
        ann_file: Annotation file, relative to ``data_root``.
        metainfo: ``classes`` (names or a text file), ``palette``, and any extra keys.
        data_root: Folder the other paths are relative to.
        data_prefix: Folders: ``img`` (MMDet's key; ``img_path`` is read too) and, for
            semantic labels, ``seg``.
        filter_cfg: ``dict(filter_empty_gt=..., min_size=...)`` (see the subclass).
        indices: Keep the first N samples (an int) or the given indices.
        serialize_data: Pack the sample list into one byte buffer (cheap for workers).
        pipeline: Transform configs or callables.
        test_mode: Test/val dataset: no filtering, and a pipeline returning None is an error.
        lazy_init: Defer reading the annotations until :meth:`full_init` or the first access.
        max_refetch: How many other samples to try when the pipeline returns None.
        seg_map_suffix: Ending of the semantic label maps (``data_prefix['seg']``).
        proposal_file: Precomputed proposals; not supported (Mask R-CNN makes its own).
        file_client_args: Removed in MMDet 3.x; use ``backend_args``.
        backend_args: Only None (local files) is supported.
        return_classes: Add ``text`` (the class names) to every sample (open-vocabulary models).
        caption_prompt: Added as ``caption_prompt`` with ``return_classes``.

    Raises:
        ConfigError: ``file_client_args``, ``proposal_file``, a remote ``backend_args``,
            ``caption_prompt`` without ``return_classes``, or a malformed ``data_prefix``.
    """

    METAINFO: dict = dict()

    def __init__(
        self,
        ann_file: str = "",
        metainfo: Mapping[str, Any] | None = None,
        data_root: str | None = "",
        data_prefix: Mapping[str, str] | None = None,
        filter_cfg: Mapping[str, Any] | None = None,
        indices: int | Sequence[int] | None = None,
        serialize_data: bool = True,
        pipeline: Sequence[Any] = (),
        test_mode: bool = False,
        lazy_init: bool = False,
        max_refetch: int = 1000,
        seg_map_suffix: str = ".png",
        proposal_file: str | None = None,
        file_client_args: Mapping[str, Any] | None = None,
        backend_args: Mapping[str, Any] | None = None,
        return_classes: bool = False,
        caption_prompt: Mapping[str, Any] | None = None,
    ) -> None:
        name = type(self).__name__
        if file_client_args is not None:
            raise ConfigError(
                f"{name}: file_client_args was removed in MMDetection 3.x; use backend_args "
                "(None for local files) instead."
            )
        if proposal_file is not None:
            raise ConfigError(
                f"{name}: proposal_file (precomputed proposals for Fast R-CNN) is not "
                "supported; remove it (RPN-based detectors such as Mask R-CNN need none)."
            )
        if caption_prompt is not None and not return_classes:
            raise ConfigError(f"{name}: caption_prompt needs return_classes=True.")
        check_backend_args(backend_args, name)
        self.seg_map_suffix = seg_map_suffix
        self.proposal_file = proposal_file
        self.backend_args = backend_args
        self.return_classes = return_classes
        self.caption_prompt = caption_prompt
        self.data_root = os.path.expanduser(data_root) if data_root else ""
        self.ann_file = self._join(ann_file or "")
        prefix = dict(img_path="") if data_prefix is None else dict(data_prefix)
        for key, value in prefix.items():
            if not isinstance(value, str):
                raise ConfigError(
                    f"{name}: data_prefix.{key} must be a folder path string, got {value!r}."
                )
        # MMEngine joins every prefix to data_root, '' included (so '' means data_root/).
        self.data_prefix = {key: self._join(value) for key, value in prefix.items()}
        self.filter_cfg = copy.deepcopy(dict(filter_cfg)) if filter_cfg is not None else None
        self._metainfo = self._load_metainfo(metainfo)
        self._metainfo["palette"] = self._default_palette(metainfo)
        self._init_base(
            self.data_root, indices, serialize_data, pipeline, test_mode, lazy_init, max_refetch
        )

    def _default_palette(self, metainfo: Mapping[str, Any] | None) -> list:
        """The given palette; else each class's ``METAINFO`` colour (new names: distinct ones)."""
        palette = list(self._metainfo.get("palette") or [])
        classes = list(self._metainfo.get("classes") or [])
        if metainfo is not None and "palette" in metainfo:
            return palette
        base_classes = list(self.METAINFO.get("classes") or [])
        base_palette = list(self.METAINFO.get("palette") or [])
        if classes == base_classes and len(base_palette) >= len(classes):
            return base_palette
        fresh = auto_palette(len(classes))
        known = dict(zip(base_classes, base_palette, strict=False))
        return [tuple(known[c]) if c in known else tuple(fresh[i]) for i, c in enumerate(classes)]

    @property
    def img_prefix(self) -> str:
        """The image folder: ``data_prefix['img']`` (MMDet), else ``data_prefix['img_path']``."""
        if "img" in self.data_prefix:
            return self.data_prefix["img"]
        return self.data_prefix.get("img_path", self._join(""))

    def _check_data_list(self, data: list[dict[str, Any]]) -> None:
        """Fail early when none of the first images exists (a wrong ``data_prefix``)."""
        first = [d["img_path"] for d in data[:3] if d.get("img_path")]
        if first and not any(os.path.isfile(p) for p in first):
            raise DatasetError(
                f"{type(self).__name__}: the images listed in {self.ann_file!r} are not where "
                f"data_root={self.data_root!r} and data_prefix={self._given_prefix()} put them, "
                f"e.g. {first[0]!r} does not exist. Set data_prefix=dict(img='<image folder>/')."
            )

    def _given_prefix(self) -> dict[str, str]:
        root = self.data_root
        return {
            k: (os.path.relpath(v, root) if root and v.startswith(root) else v)
            for k, v in self.data_prefix.items()
        }

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on sample ``idx``; a data error also names the image's json entry.

        Raises:
            DatasetError: from the pipeline (e.g. a missing or unreadable image file), with the
                sample's image id and annotation file added.
        """
        try:
            return super().prepare_data(idx)
        except DatasetError as exc:
            info = self.get_data_info(idx)
            raise DatasetError(
                f"{exc} (sample {idx}: image id {info.get('img_id')!r} of {self.ann_file})"
            ) from None

    def get_cat_ids(self, idx: int) -> list[int]:
        """The labels (``bbox_label``) of the instances of sample ``idx``."""
        return [instance["bbox_label"] for instance in self.get_data_info(idx)["instances"]]
