"""Reading images and label maps from disk, at any bit depth.

Backends: ``cv2`` (OpenCV, the default), ``pillow`` (palette PNGs), ``tifffile`` and
``turbojpeg`` (each only when its package is installed).

What :func:`read_image` returns depends on the file's sample type and ``color_type``:

==============  ======================================  ==============================
file            ``color`` / ``grayscale``               ``unchanged``
==============  ======================================  ==============================
8-bit           uint8, as decoded                       uint8, as decoded
16-bit          float32 ``x * 255 / 65535`` (0..255)    uint16, raw values
float           float32, raw values                     float, raw values
other integers  float32, raw values                     as decoded
==============  ======================================  ==============================

``color`` gives 3 channels (BGR), ``grayscale`` one (``HxW``), ``unchanged`` the file's own.
The rule keeps pixel values in the 0..255 units of the usual ``data_preprocessor`` mean/std.
MMCV's OpenCV decoding turns a 16-bit image into 8 bits by keeping the high byte (``x >> 8``),
which makes images that use a small part of the 16-bit range (microscopy, 12-bit cameras)
black; the scale here is the same up to 0.4% but keeps the fraction. With ``unchanged`` the
values stay raw and the mean/std must be set in the data's own units.
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import Any

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
BACKENDS = ("cv2", "pillow", "tifffile", "turbojpeg")
LABEL_BACKENDS = ("cv2", "pillow", "tifffile")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PILLOW_DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_warned: set[str] = set()


def _needs(package: str, backend: str, owner: str, extra: str = "") -> ConfigError:
    return ConfigError(
        f"{owner}: imdecode_backend={backend!r} needs the {package} package, which is not "
        f"installed: pip install {package}{extra}, or use imdecode_backend='cv2'."
    )


@functools.cache
def _turbojpeg() -> Any:
    """A TurboJPEG decoder, or None when PyTurboJPEG or its library is missing."""
    try:
        from turbojpeg import TurboJPEG

        return TurboJPEG()
    except (ImportError, OSError, RuntimeError):
        return None


def _has_tifffile() -> bool:
    try:
        import tifffile  # noqa: F401
    except ImportError:
        return False
    return True


def check_decode_args(color_type: str, backend: str, owner: str, for_labels: bool = False) -> None:
    """Raise a :class:`ConfigError` for an unknown ``color_type`` or an unusable backend."""
    if color_type not in _CV2_FLAGS:
        raise ConfigError(
            f"{owner}: color_type={color_type!r} is unknown; use one of {', '.join(COLOR_TYPES)}."
        )
    allowed = LABEL_BACKENDS if for_labels else BACKENDS
    if backend not in allowed:
        extra = " (JPEG is lossy and unfit for label maps)" if backend == "turbojpeg" else ""
        raise ConfigError(
            f"{owner}: imdecode_backend={backend!r} is not available{extra}; use one of "
            f"{', '.join(repr(b) for b in allowed)}."
        )
    if backend == "tifffile" and not _has_tifffile():
        raise _needs("tifffile", backend, owner)
    if backend == "turbojpeg":
        if color_type.startswith("unchanged"):
            raise ConfigError(
                f"{owner}: imdecode_backend='turbojpeg' decodes to colour or greyscale only; "
                "use color_type='color' or 'grayscale', or imdecode_backend='cv2'."
            )
        if _turbojpeg() is None:
            raise _needs("PyTurboJPEG", backend, owner, " (and the libjpeg-turbo library)")


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=2)


def _native(array: np.ndarray) -> np.ndarray:
    """Big-endian samples (Pillow's ``I;16B``, some TIFFs) in the machine's byte order."""
    if not array.dtype.isnative:
        return array.astype(array.dtype.newbyteorder("="))
    if array.dtype == bool:
        return array.astype(np.uint8)
    return array


def _to_channels(array: np.ndarray, color_type: str) -> np.ndarray:
    """3-channel BGR (``color``) or ``HxW`` (``grayscale``) from a BGR(A) or grey array."""
    if color_type.startswith("unchanged"):
        return array
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] == 2:  # grey + alpha
        array = array[:, :, 0]
    grey = color_type.startswith("grayscale")
    if array.ndim == 2:
        return array if grey else np.ascontiguousarray(np.repeat(array[:, :, None], 3, axis=2))
    if array.ndim != 3 or array.shape[2] < 3:
        raise DatasetError(f"image of shape {array.shape} is neither greyscale nor colour")
    bgr = np.ascontiguousarray(array[:, :, :3])
    if not grey:
        return bgr
    if bgr.dtype not in (np.uint8, np.uint16, np.float32):
        bgr = bgr.astype(np.float32)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def _file_head(path: str, size: int = 26) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def _read_with_cv2(path: str, color_type: str) -> np.ndarray | None:
    if color_type == "unchanged":
        return cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if _file_head(path, 4) in _TIFF_SIGNATURES:
        # OpenCV cannot convert the channels of float TIFFs while decoding (it fails with an
        # assertion), so TIFFs are decoded as stored and converted here.
        array = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        return None if array is None else _to_channels(array, color_type)
    # ANYDEPTH keeps 16-bit samples; without it OpenCV keeps only their high byte.
    return cv2.imread(path, _CV2_FLAGS[color_type] | cv2.IMREAD_ANYDEPTH)


def _pillow_dropped_depth(path: str, image: Any) -> bool:
    """True for a 16-bit colour PNG/TIFF, which Pillow decodes to 8 bits per channel."""
    if image.mode not in ("RGB", "RGBA"):
        return False
    head = _file_head(path)
    if head[:8] == _PNG_SIGNATURE and len(head) == 26:
        return head[24] == 16
    bits = getattr(image, "tag_v2", {}).get(258)
    return bool(bits) and max(bits if isinstance(bits, tuple) else (bits,)) > 8


def _read_with_pillow(path: str, color_type: str) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        if color_type in ("color", "grayscale"):
            image = ImageOps.exif_transpose(image)
        if _pillow_dropped_depth(path, image):
            _warn_once(
                "pillow-16-bit-colour",
                f"{path} is a 16-bit colour image, which Pillow decodes to 8 bits per channel; "
                "use imdecode_backend='cv2' to keep the full depth.",
            )
        if image.mode not in _PILLOW_DEEP_MODES and not color_type.startswith("unchanged"):
            if color_type.startswith("color"):
                array = np.asarray(image.convert("RGB"))[:, :, ::-1]
                return np.ascontiguousarray(array)
            return np.asarray(image.convert("L")).copy()
        array = _native(np.array(image))
        head = _file_head(path)
        if image.mode == "I" and head[:8] == _PNG_SIGNATURE and head[24:25] == b"\x10":
            array = array.astype(np.uint16)  # older Pillow opens 16-bit PNGs as 32-bit "I"
    if array.ndim == 3 and array.shape[2] >= 3:
        array[:, :, :3] = array[:, :, 2::-1].copy()  # RGB(A) -> BGR(A), as OpenCV returns it
    return _to_channels(array, color_type)


def _read_with_tifffile(path: str, color_type: str) -> np.ndarray:
    import tifffile

    array = _native(np.asarray(tifffile.imread(path)))
    if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[2] not in (1, 2, 3, 4):
        array = np.moveaxis(array, 0, -1)  # planar (CxHxW) -> HxWxC
    if array.ndim not in (2, 3):
        raise DatasetError(
            f"Image {path} has shape {array.shape}: only single 2-D images (HxW or HxWxC) are "
            "supported, not stacks or volumes. Save each plane as its own file."
        )
    if array.ndim == 3 and array.shape[2] >= 3:
        array = array[:, :, [2, 1, 0, *range(3, array.shape[2])]]  # tifffile gives RGB(A)
    return _to_channels(array, color_type)


def _read_with_turbojpeg(path: str, color_type: str) -> np.ndarray:
    from turbojpeg import TJPF_BGR, TJPF_GRAY

    with open(path, "rb") as handle:
        data = handle.read()
    grey = color_type.startswith("grayscale")
    array = _turbojpeg().decode(data, pixel_format=TJPF_GRAY if grey else TJPF_BGR)
    return array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array


_READERS = {
    "cv2": _read_with_cv2,
    "pillow": _read_with_pillow,
    "tifffile": _read_with_tifffile,
    "turbojpeg": _read_with_turbojpeg,
}


def decode_image(path: str, color_type: str = "color", backend: str = "cv2") -> np.ndarray | None:
    """Decode an image file at its own depth (BGR order, channels set by ``color_type``).

    Returns:
        The array (uint8, uint16, float32, ...), or None when the file is missing or is not an
        image the backend can read.
    """
    if not os.path.isfile(path):
        return None
    try:
        return _READERS[backend](path, color_type)
    except DatasetError:
        raise
    except (OSError, ValueError, cv2.error):
        return None


def to_pixel_range(array: np.ndarray, color_type: str = "color") -> np.ndarray:
    """Apply the module's depth rule: 16-bit to float32 0..255, other non-uint8 to float32.

    ``unchanged`` (and uint8 input) returns ``array`` as it is.
    """
    if color_type.startswith("unchanged") or array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        # x * 255 is exact in float32 (< 2**24) and the division is correctly rounded, so
        # 257 -> 1.0 and 65535 -> 255.0 exactly.
        scaled = array.astype(np.float32)
        scaled *= 255.0
        scaled /= 65535.0
        return scaled
    return array.astype(np.float32, copy=False)


def read_image(path: str, color_type: str = "color", backend: str = "cv2") -> np.ndarray | None:
    """Decode an image and apply the depth rule (see the module docstring); None if unreadable."""
    array = decode_image(path, color_type, backend)
    return None if array is None else to_pixel_range(array, color_type)


def _is_plain_gray_png(path: str) -> bool:
    """True for an 8- or 16-bit greyscale PNG, which OpenCV and Pillow decode identically."""
    header = _file_head(path)
    # Bytes 24 and 25 are the IHDR bit depth and colour type (0 = greyscale, 3 = palette).
    return (
        len(header) == 26
        and header[:8] == _PNG_SIGNATURE
        and header[25] == 0
        and header[24] in (8, 16)
    )


def read_label_map(path: str, backend: str = "pillow") -> np.ndarray:
    """Decode a label map unchanged: class indices, not colours, at the file's own depth.

    With the ``pillow`` backend (MMSeg's default for annotations) a palette PNG yields its
    indices, as Pascal VOC needs; plain greyscale PNGs take OpenCV's faster decoder, which
    gives the same values. 16-bit PNG and TIFF masks keep their values (uint16).

    Raises:
        DatasetError: The file is missing or cannot be decoded.
    """
    if not os.path.isfile(path):
        raise DatasetError(
            f"Label map {path} does not exist. Check data_root, data_prefix.seg_map_path and "
            "seg_map_suffix in the dataset config."
        )
    try:
        if backend == "tifffile":
            array = _read_with_tifffile(path, "unchanged")
        elif backend == "cv2" or _is_plain_gray_png(path):
            array = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        else:
            array = _read_with_pillow(path, "unchanged")
    except DatasetError:
        raise
    except (OSError, ValueError, cv2.error) as exc:
        raise DatasetError(f"Cannot decode label map {path}: {exc}.") from exc
    if array is None:
        raise DatasetError(f"Cannot decode label map {path}: not an image file OpenCV can read.")
    return array
