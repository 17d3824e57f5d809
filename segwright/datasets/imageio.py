"""Reading images and label maps from disk with OpenCV (fast) or Pillow (palette PNGs)."""

from __future__ import annotations

import os

import cv2
import numpy as np

from segwright.utils.errors import ConfigError, DatasetError

_CV2_FLAGS = {
    "color": cv2.IMREAD_COLOR,
    "grayscale": cv2.IMREAD_GRAYSCALE,
    "unchanged": cv2.IMREAD_UNCHANGED,
    "color_ignore_orientation": cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_COLOR,
    "grayscale_ignore_orientation": cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_GRAYSCALE,
}
COLOR_TYPES = tuple(_CV2_FLAGS)
BACKENDS = ("cv2", "pillow")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_decode_args(color_type: str, backend: str, owner: str) -> None:
    """Raise a :class:`ConfigError` for an unknown ``color_type`` or decoding backend."""
    if color_type not in _CV2_FLAGS:
        raise ConfigError(
            f"{owner}: color_type={color_type!r} is unknown; use one of {', '.join(COLOR_TYPES)}."
        )
    if backend not in BACKENDS:
        raise ConfigError(
            f"{owner}: imdecode_backend={backend!r} is not available; use 'cv2' or 'pillow'."
        )


def _read_with_pillow(path: str, color_type: str) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        if color_type in ("color", "grayscale"):
            image = ImageOps.exif_transpose(image)
        if color_type.startswith("color"):
            array = np.asarray(image.convert("RGB"))[:, :, ::-1]
            return np.ascontiguousarray(array)
        if color_type.startswith("grayscale"):
            return np.asarray(image.convert("L")).copy()
        array = np.array(image)
    if array.ndim == 3 and array.shape[2] >= 3:
        array[:, :, :3] = array[:, :, 2::-1].copy()  # RGB(A) -> BGR(A), as OpenCV returns it
    if array.dtype == bool:
        array = array.astype(np.uint8)
    return array


def read_image(path: str, color_type: str = "color", backend: str = "cv2") -> np.ndarray | None:
    """Decode an image file (BGR channel order); None when it is missing or not an image."""
    if not os.path.isfile(path):
        return None
    try:
        if backend == "pillow":
            return _read_with_pillow(path, color_type)
        return cv2.imread(path, _CV2_FLAGS[color_type])
    except (OSError, ValueError, cv2.error):
        return None


def _is_plain_gray_png(path: str) -> bool:
    """True for an 8- or 16-bit greyscale PNG, which OpenCV and Pillow decode identically."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(26)
    except OSError:
        return False
    # Bytes 24 and 25 are the IHDR bit depth and colour type (0 = greyscale, 3 = palette).
    return (
        len(header) == 26
        and header[:8] == _PNG_SIGNATURE
        and header[25] == 0
        and header[24] in (8, 16)
    )


def read_label_map(path: str, backend: str = "pillow") -> np.ndarray:
    """Decode a label map unchanged: class indices, not colours.

    With the ``pillow`` backend (MMSeg's default for annotations) a palette PNG yields its
    indices, as Pascal VOC needs; plain greyscale PNGs take OpenCV's faster decoder, which
    gives the same values.

    Raises:
        DatasetError: The file is missing or cannot be decoded.
    """
    if not os.path.isfile(path):
        raise DatasetError(
            f"Label map {path} does not exist. Check data_root, data_prefix.seg_map_path and "
            "seg_map_suffix in the dataset config."
        )
    try:
        if backend == "cv2" or _is_plain_gray_png(path):
            array = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        else:
            array = _read_with_pillow(path, "unchanged")
    except (OSError, ValueError, cv2.error) as exc:
        raise DatasetError(f"Cannot decode label map {path}: {exc}.") from exc
    if array is None:
        raise DatasetError(f"Cannot decode label map {path}: not an image file OpenCV can read.")
    return array
