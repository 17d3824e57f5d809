"""``BaseSegDataset``: images and label maps from folders or a split file (MMSeg 1.x arguments).

A sample is ``dict(img_path, seg_map_path, label_map, reduce_zero_label, seg_fields,
sample_idx)`` run through ``pipeline``. Dataset families (Cityscapes, ADE20K, ...) only set
``METAINFO`` and suffixes.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from segwright.datasets.checks import validate_mode
from segwright.datasets.dataset_base import BaseDataset, read_lines
from segwright.datasets.transforms.base import check_backend_args
from segwright.datasets.transforms.loading import LoadAnnotations
from segwright.datasets.transforms.tta import TestTimeAug
from segwright.registry import DATASETS
from segwright.utils.errors import ConfigError, DatasetError
from segwright.utils.palette import auto_palette
from segwright.utils.suggest import did_you_mean

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def scan_files(folder: str, suffix: str) -> list[str]:
    """Paths relative to ``folder`` of files ending with ``suffix`` (recursive, sorted)."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        rel_root = os.path.relpath(root, folder)
        for name in files:
            if name.endswith(suffix) and not name.startswith("."):
                found.append(name if rel_root == "." else os.path.join(rel_root, name))
    return sorted(found)


def suffix_census(folder: str, limit: int = 5000) -> Counter[str]:
    """How many files of each extension (first ``limit`` files) are under ``folder``."""
    census: Counter[str] = Counter()
    seen = 0
    for _, _, files in os.walk(folder, followlinks=True):
        for name in files:
            census[os.path.splitext(name)[1].lower()] += 1
            seen += 1
            if seen >= limit:
                return census
    return census


@DATASETS.register_module()
class BaseSegDataset(BaseDataset):
    """A semantic segmentation dataset of image files and label-map files.

    Files come from ``ann_file`` (one basename per line: image = ``img_path/<name><img_suffix>``,
    map = ``seg_map_path/<name><seg_map_suffix>``) or, without it, from a recursive scan of the
    image folder (map name = image path with ``img_suffix`` replaced by ``seg_map_suffix``),
    sorted by image path. Relative paths are joined to ``data_root``.

    ``metainfo=dict(classes=..., palette=...)`` overrides ``METAINFO``; when the class defines
    classes, the new ones must be a subset and labels are remapped (dropped classes become 255).

    Args:
        ann_file: Split file, relative to ``data_root``; '' scans the image folder.
        img_suffix: Image file ending.
        seg_map_suffix: Label map file ending.
        metainfo: ``classes`` (names or a text file), ``palette``, and any extra keys.
        data_root: Folder the other paths are relative to.
        data_prefix: ``dict(img_path=..., seg_map_path=...)`` folders.
        filter_cfg: Accepted for MMEngine compatibility (no filtering for segmentation).
        indices: Keep the first N samples (an int) or the given indices.
        serialize_data: Pack the sample list into one byte buffer (cheap for workers).
        pipeline: Transform configs or callables.
        test_mode: Test/val dataset: a pipeline returning None is an error, not a refetch.
        lazy_init: Defer reading the file list until :meth:`full_init` or the first access.
        max_refetch: How many other samples to try when the pipeline returns None.
        ignore_index: Label value that is not a class.
        reduce_zero_label: Make 0 ignored and shift the other labels down by one.
        backend_args: Only None (local files) is supported.
        label_check: ``raise``, ``warn`` or ``off``: check every label map's values while
            loading (and before training, see :func:`check_dataset_labels`).
    """

    METAINFO: dict = dict()
    #: How a config names this dataset's classes, for error hints (subclasses that take
    #: another argument, like FolderSegDataset's ``classes=``, override it).
    CLASSES_SETTING: str = "metainfo=dict(classes=(...))"

    def __init__(
        self,
        ann_file: str = "",
        img_suffix: str = ".jpg",
        seg_map_suffix: str = ".png",
        metainfo: Mapping[str, Any] | None = None,
        data_root: str | None = None,
        data_prefix: Mapping[str, str] | None = None,
        filter_cfg: Mapping[str, Any] | None = None,
        indices: int | Sequence[int] | None = None,
        serialize_data: bool = True,
        pipeline: Sequence[Any] = (),
        test_mode: bool = False,
        lazy_init: bool = False,
        max_refetch: int = 1000,
        ignore_index: int = 255,
        reduce_zero_label: bool = False,
        backend_args: Mapping[str, Any] | None = None,
        label_check: str = "raise",
    ) -> None:
        name = type(self).__name__
        check_backend_args(backend_args, name)
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.data_root = os.path.expanduser(data_root) if data_root else ""
        self.ann_file = self._join(ann_file or "")
        prefix = dict(img_path="", seg_map_path="") if data_prefix is None else dict(data_prefix)
        for key, value in prefix.items():
            if value is not None and not isinstance(value, str):
                raise ConfigError(
                    f"{name}: data_prefix.{key} must be a folder path string, got {value!r}."
                )
        self.data_prefix = {
            key: (self._join(value) if value is not None else None) for key, value in prefix.items()
        }
        self.filter_cfg = copy.deepcopy(filter_cfg)
        self.ignore_index = ignore_index
        self.reduce_zero_label = bool(reduce_zero_label)
        self.backend_args = backend_args
        self.label_check = validate_mode(label_check, name)

        self._metainfo = self._load_metainfo(metainfo)
        self.label_map = self.get_label_map(self._metainfo.get("classes"))
        self._metainfo.update(label_map=self.label_map, reduce_zero_label=self.reduce_zero_label)
        self._metainfo["palette"] = self._update_palette()
        if test_mode and not self._metainfo.get("classes"):
            raise DatasetError(
                f"{name} in test mode needs class names: pass {self.CLASSES_SETTING}."
            )

        self._init_base(
            self.data_root, indices, serialize_data, pipeline, test_mode, lazy_init, max_refetch
        )

    # -- paths and metainfo --------------------------------------------------------------------

    @classmethod
    def get_label_map(cls, new_classes: Sequence[str] | None) -> dict[int, int] | None:
        """``old id -> new id`` (255 for dropped classes) when ``new_classes`` subsets ``METAINFO``."""
        old_classes = cls.METAINFO.get("classes")
        if new_classes is None or old_classes is None or list(new_classes) == list(old_classes):
            return None
        unknown = [c for c in new_classes if c not in old_classes]
        if unknown:
            hints = "".join(did_you_mean(str(c), list(old_classes)) for c in unknown)
            raise ConfigError(
                f"{cls.__name__}: metainfo classes {unknown!r} are not classes of this dataset "
                f"(a subset of its {len(old_classes)} classes is required).{hints} For classes "
                "of your own, use BaseSegDataset or FolderSegDataset."
            )
        new_index = {c: i for i, c in enumerate(new_classes)}
        return {i: new_index.get(c, 255) for i, c in enumerate(old_classes)}

    def _update_palette(self) -> list:
        palette = self._metainfo.get("palette") or []
        classes = self._metainfo.get("classes") or []
        if len(palette) == len(classes):
            return palette
        if len(palette) == 0:
            # MMSeg draws random colours here; ours are chosen to stay far apart.
            return auto_palette(len(classes))
        if len(palette) >= len(classes) and self.label_map is not None:
            kept = sorted(
                ((new, old) for old, new in self.label_map.items() if new != 255),
            )
            return type(palette)(palette[old] for _, old in kept)
        raise ConfigError(
            f"{type(self).__name__}: metainfo palette has {len(palette)} colours for "
            f"{len(classes)} classes; give one [r, g, b] per class or leave palette out."
        )

    # -- the file list -------------------------------------------------------------------------

    def _needs_masks(self) -> bool:
        stack = list(self.pipeline.transforms)
        while stack:
            transform = stack.pop()
            if isinstance(transform, LoadAnnotations):
                return True
            if isinstance(transform, TestTimeAug):
                stack.extend(t for sub in transform.subroutines for t in sub.transforms)
        return False

    def _sample(self, img_path: str, seg_map_path: str | None) -> dict[str, Any]:
        info: dict[str, Any] = dict(img_path=img_path)
        if seg_map_path is not None:
            info["seg_map_path"] = seg_map_path
        info["label_map"] = self.label_map
        info["reduce_zero_label"] = self.reduce_zero_label
        info["seg_fields"] = []
        return info

    def load_data_list(self) -> list[dict[str, Any]]:
        """Read the split file or scan the image folder; one dict per image."""
        name = type(self).__name__
        img_prefix = self.data_prefix.get("img_path") or ""
        ann_dir = self.data_prefix.get("seg_map_path")
        if not os.path.isdir(img_prefix or "."):
            raise DatasetError(
                f"{name}: the image folder {img_prefix!r} does not exist (data_root="
                f"{self.data_root!r}, data_prefix.img_path={self.data_prefix.get('img_path')!r})."
            )
        if self.ann_file and not os.path.isdir(self.ann_file):
            if not os.path.isfile(self.ann_file):
                raise DatasetError(
                    f"{name}: ann_file {self.ann_file!r} does not exist. It is a text file with "
                    "one image basename per line, relative to data_root; use ann_file='' to "
                    "take every image in the folder."
                )
            data = []
            for stem in read_lines(self.ann_file):
                img = os.path.join(img_prefix, stem + self.img_suffix)
                seg = None if ann_dir is None else os.path.join(ann_dir, stem + self.seg_map_suffix)
                data.append(self._sample(img, seg))
            return data
        data = []
        cut = len(self.img_suffix)
        for rel in scan_files(img_prefix or ".", self.img_suffix):
            seg = (
                None if ann_dir is None else os.path.join(ann_dir, rel[:-cut] + self.seg_map_suffix)
            )
            data.append(self._sample(os.path.join(img_prefix, rel), seg))
        return sorted(data, key=lambda d: d["img_path"])

    def _check_data_list(self, data: list[dict[str, Any]]) -> None:
        name = type(self).__name__
        img_dir = self.data_prefix.get("img_path") or "."
        if not data:
            split = self.ann_file and not os.path.isdir(self.ann_file)  # '' joins to data_root
            where = f"listed in {self.ann_file!r}" if split else f"under {img_dir!r}"
            census = suffix_census(img_dir)
            found = ", ".join(f"{n} '{ext}'" for ext, n in census.most_common(3) if ext)
            hint = f" The folder holds {found} files: set img_suffix accordingly." if found else ""
            raise DatasetError(
                f"{name} is empty: no images ending with img_suffix={self.img_suffix!r} "
                f"{where}.{hint}"
            )
        if self.ann_file and not os.path.isdir(self.ann_file):
            missing_imgs = [d["img_path"] for d in data if not os.path.isfile(d["img_path"])]
            if missing_imgs:
                raise DatasetError(
                    f"{name}: {len(missing_imgs)} of {len(data)} images listed in "
                    f"{self.ann_file!r} do not exist, e.g. {', '.join(missing_imgs[:3])}. Check "
                    "data_prefix.img_path and img_suffix."
                )
        if not self._needs_masks():
            return
        ann_dir = self.data_prefix.get("seg_map_path")
        if ann_dir is None:
            raise DatasetError(
                f"{name}: the pipeline loads annotations but data_prefix has no seg_map_path. "
                "Add data_prefix=dict(img_path=..., seg_map_path=...)."
            )
        if ann_dir and not os.path.isdir(ann_dir):
            raise DatasetError(
                f"{name}: the label map folder {ann_dir!r} does not exist (data_root="
                f"{self.data_root!r}, data_prefix.seg_map_path="
                f"{self.data_prefix.get('seg_map_path')!r}), but the pipeline loads annotations."
            )
        missing = [d for d in data if "seg_map_path" in d and not os.path.isfile(d["seg_map_path"])]
        if missing:
            examples = "; ".join(f"{d['img_path']} -> {d['seg_map_path']}" for d in missing[:3])
            raise DatasetError(
                f"{name}: {len(missing)} of {len(data)} images have no label map, e.g. "
                f"{examples}. {self._suffix_hint(missing)}"
            )

    def _suffix_hint(self, missing: list[dict[str, Any]]) -> str:
        """Suggest a ``seg_map_suffix`` from files that sit where a mask was expected."""
        for sample in missing[:5]:
            expected = sample["seg_map_path"]
            stem = expected[: -len(self.seg_map_suffix)] if self.seg_map_suffix else expected
            folder, base = os.path.split(stem)
            if not os.path.isdir(folder):
                continue
            candidates = sorted(n for n in os.listdir(folder) if n.startswith(base))
            if candidates:
                return (
                    f"Found {candidates[0]!r} there: set seg_map_suffix="
                    f"{candidates[0][len(base) :]!r}?"
                )
        return (
            f"Check data_prefix.seg_map_path and seg_map_suffix={self.seg_map_suffix!r}, or "
            "remove LoadAnnotations from the pipeline for unlabelled data."
        )

    # -- access --------------------------------------------------------------------------------

    @property
    def _label_check_spec(self) -> dict[str, Any] | None:
        classes = self._metainfo.get("classes")
        if self.label_check == "off" or not classes:
            return None
        return dict(
            mode=self.label_check,
            num_classes=len(classes),
            ignore_index=self.ignore_index,
            classes=classes,
            classes_setting=self.CLASSES_SETTING,
        )

    def get_data_info(self, idx: int) -> dict[str, Any]:
        """The sample dict before the pipeline (a fresh copy), with the label-check spec."""
        info = super().get_data_info(idx)
        spec = self._label_check_spec
        if spec is not None:
            info["label_check"] = spec
        return info
