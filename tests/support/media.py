"""Small real media files written with PyAV for tests (black clips, rotated, gray, ...)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def write_clip(path: Path, n: int = 10, size: tuple[int, int] = (64, 48), *, fps: int = 25,
               codec: str = "libx264", pix_fmt: str = "yuv420p", rotation: int | None = None,
               value: int | None = None, pattern: bool = True,
               container_options: dict | None = None) -> Path:
    """Write an ``n``-frame clip; frame i has a bright square at x = 2*i (so frames differ).

    Args:
        path: Output file (.mp4 / .mkv / .avi).
        n: Frames.
        size: (width, height).
        codec: Encoder name.
        pix_fmt: Stream pixel format (``gray``, ``yuv420p10le``...).
        rotation: Display-matrix rotation in degrees (counter-clockwise, FFmpeg convention).
        value: Constant gray level instead of the pattern (``0`` = black clip).
    """
    w, h = size
    with av.open(str(path), mode="w", options=container_options or {}) as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        if rotation is not None:
            s.set_display_rotation(rotation)
        for i in range(n):
            img = np.full((h, w, 3), 40 if value is None else value, np.uint8)
            if value is None and pattern:
                x = (2 * i) % max(1, w - 8)
                img[h // 4: h // 4 + 8, x: x + 8] = (250, 30, 30)
                img[:4, :8] = (30, 250, 30)  # marks the top-left corner (rotation tests)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


def write_audio_only(path: Path, seconds: float = 0.5) -> Path:
    """An audio-only file (AAC in MP4)."""
    rate = 16000
    with av.open(str(path), mode="w") as c:
        s = c.add_stream("aac", rate=rate)
        n = int(rate * seconds)
        t = np.arange(n) / rate
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = rate
        for pkt in s.encode(frame):
            c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path
