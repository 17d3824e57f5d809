"""``FolderSegDataset``: your own data as ``images/`` and ``masks/`` folders, with a class list."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from segwright.datasets.base import IMAGE_SUFFIXES, BaseSegDataset, read_lines, suffix_census
from segwright.registry import DATASETS
from segwright.utils.errors import ConfigError, DatasetError


@DATASETS.register_module()
class FolderSegDataset(BaseSegDataset):
    """Images and same-named masks in two folders under ``data_root``.

    ::

        data_root/
          images/0001.jpg  images/0002.jpg ...
          masks/0001.png   masks/0002.png  ...   (one uint8 class index per pixel, 255 = ignore)
          classes.txt                            (optional: one class name per line)

    Subfolders are scanned recursively (``images/train/...`` pairs with ``masks/train/...``).

    Args:
        data_root: The dataset folder.
        img_dir: Image folder, relative to ``data_root``.
        ann_dir: Mask folder, relative to ``data_root``.
        classes: Class names, a text file with one per line (a relative path is looked up
            under ``data_root`` first, then in the working folder), or None to read
            ``data_root/classes.txt``.
        palette: One ``[r, g, b]`` per class; None picks colours.
        img_suffix: Image file ending; None takes the most common image type in ``img_dir``.
        seg_map_suffix: Mask file ending.
        **kwargs: Any :class:`BaseSegDataset` argument (``pipeline``, ``ann_file``,
            ``reduce_zero_label``, ``ignore_index``, ...).
    """

    CLASSES_SETTING = "classes=(...)"

    def __init__(
        self,
        data_root: str,
        img_dir: str = "images",
        ann_dir: str = "masks",
        classes: Sequence[str] | str | None = None,
        palette: Sequence[Sequence[int]] | None = None,
        img_suffix: str | None = None,
        seg_map_suffix: str = ".png",
        **kwargs: Any,
    ) -> None:
        for key in ("metainfo", "data_prefix"):
            if key in kwargs:
                raise ConfigError(
                    f"FolderSegDataset takes classes/palette and img_dir/ann_dir instead of {key}; "
                    "use BaseSegDataset to pass metainfo and data_prefix directly."
                )
        root = os.path.expanduser(data_root)
        classes = self._resolve_classes(root, classes)
        metainfo: dict[str, Any] = dict(classes=classes)
        if palette is not None:
            metainfo["palette"] = [list(c) for c in palette]
        if img_suffix is None:
            img_suffix = self._detect_suffix(os.path.join(root, img_dir))
        super().__init__(
            data_root=root,
            data_prefix=dict(img_path=img_dir, seg_map_path=ann_dir),
            metainfo=metainfo,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs,
        )

    @staticmethod
    def _resolve_classes(root: str, classes: Sequence[str] | str | None) -> tuple[str, ...]:
        if classes is None:
            default = os.path.join(root, "classes.txt")
            if not os.path.isfile(default):
                raise ConfigError(
                    f"FolderSegDataset needs class names: pass classes=('background', ...) or "
                    f"write {default} with one name per line (line k names mask value k)."
                )
            classes = default
        if isinstance(classes, str):
            classes = read_lines(FolderSegDataset._classes_file(root, classes))
        classes = tuple(str(c) for c in classes)
        if not classes:
            raise ConfigError("FolderSegDataset: classes is empty.")
        return classes

    @staticmethod
    def _classes_file(root: str, path: str) -> str:
        """``path`` as given when absolute; else under ``data_root``, else in the working folder.

        Relative paths are joined to ``data_root`` as MMSeg joins ``ann_file`` and
        ``data_prefix``; the working folder is the fallback for configs that relied on it.
        """
        path = os.path.expanduser(path)
        if os.path.isabs(path):
            if not os.path.isfile(path):
                raise ConfigError(f"FolderSegDataset: classes file {path!r} does not exist.")
            return path
        tried = [os.path.join(root, path), os.path.abspath(path)]
        for candidate in tried:
            if os.path.isfile(candidate):
                return candidate
        raise ConfigError(
            f"FolderSegDataset: classes file {path!r} not found; tried {tried[0]!r} (relative to "
            f"data_root) and {tried[1]!r} (relative to the working folder). Give the file's path "
            "relative to data_root, or an absolute path."
        )

    @staticmethod
    def _detect_suffix(img_dir: str) -> str:
        if not os.path.isdir(img_dir):
            raise DatasetError(f"FolderSegDataset: the image folder {img_dir!r} does not exist.")
        census = suffix_census(img_dir)
        for suffix, _ in census.most_common():
            if suffix in IMAGE_SUFFIXES:
                return suffix
        raise DatasetError(
            f"FolderSegDataset: no image files ({', '.join(IMAGE_SUFFIXES)}) in {img_dir!r}."
        )
