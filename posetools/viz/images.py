"""PNG files of images and figures: encoded deterministically, written atomically."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from ..errors import ShapeError, WriteError, io_error
from ..io.files import atomic_write


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W, 3) uint8`` RGB image (same pixels, same bytes)."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ShapeError(f"image: expected (H, W, 3) uint8, got {img.shape} {img.dtype}")
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img[..., ::-1]),
                           [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 RGB
        raise WriteError("PNG encoding failed")
    return buf.tobytes()


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from a PNG's header.

    Raises:
        ShapeError: ``data`` is not a PNG.
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ShapeError("not a PNG")
    return struct.unpack(">II", data[16:24])


def write_png(path: str | Path, image: np.ndarray | bytes) -> Path:
    """Write an RGB image (or PNG bytes) to ``path`` atomically; returns the path.

    Raises:
        WriteError: The file cannot be written.
    """
    data = image if isinstance(image, bytes) else encode_png(image)
    try:
        return atomic_write(path, data)
    except OSError as e:
        raise io_error(e, f"writing {path}") from None


__all__ = ["encode_png", "png_size", "write_png"]
