"""A sample clip the quickstart can build with no network.

The clip is made from scikit-image's bundled ``astronaut`` photograph (a person,
upper body): a slow pan / zoom / small rotation over a neutral canvas, encoded as
H.264 with PyAV. It exercises the whole pipeline on a real human image while
depending on nothing but PyPI packages.
"""

from __future__ import annotations

import math
from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import MissingBackendError


def astronaut() -> np.ndarray:
    """The ``(512, 512, 3) uint8`` RGB astronaut image shipped with scikit-image."""
    try:
        from skimage import data
    except ImportError:
        raise MissingBackendError(
            "the sample clip needs scikit-image: pip install 'posetools[sample]'"
        ) from None
    return np.ascontiguousarray(data.astronaut())


def render_frames(image: np.ndarray, n_frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    """Frames of a gentle camera move over ``image``.

    Args:
        image: ``(H, W, 3) uint8`` source picture.
        n_frames: Number of frames.
        size: Output ``(width, height)``; both must be even (H.264 yuv420p).

    Returns:
        ``n_frames`` arrays of shape ``(height, width, 3)`` uint8.
    """
    w, h = size
    ih, iw = image.shape[:2]
    frames = []
    for i in range(n_frames):
        t = i / max(1, n_frames - 1)
        scale = 0.8 + 0.15 * math.sin(math.pi * t) * 1.0
        angle = 6.0 * math.sin(2 * math.pi * t)
        cx = w / 2 + 0.12 * w * math.sin(2 * math.pi * t)
        cy = h / 2
        m = cv2.getRotationMatrix2D((iw / 2, ih / 2), angle, scale * h / ih)
        m[0, 2] += cx - iw / 2
        m[1, 2] += cy - ih / 2
        frames.append(cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR,
                                     borderValue=(96, 96, 96)))
    return frames


def write_video(path: str | Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    """Encode RGB frames to H.264 MP4 (temp file then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    h, w = frames[0].shape[:2]
    with av.open(str(tmp), mode="w", format="mp4") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"crf": "20", "preset": "veryfast"}
        for f in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    tmp.replace(path)
    return path


def make_sample_clip(path: str | Path, n_frames: int = 50, size: tuple[int, int] = (640, 480),
                     fps: int = 25) -> Path:
    """Build the quickstart clip at ``path`` and return it."""
    return write_video(path, render_frames(astronaut(), n_frames, size), fps)
