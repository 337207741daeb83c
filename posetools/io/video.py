"""Streaming video ingest with PyAV.

Frames are decoded sequentially and yielded one at a time (a small bounded
prefetch queue lets decoding overlap with inference); nothing keeps the whole
video in memory and nothing is written to disk. Every frame keeps its original
index in the stream and its presentation timestamp in seconds (``pts * time_base``)
— never ``i / fps``.

Why PyAV and not OpenCV: PyAV exposes per-frame pts, the display-matrix rotation
and the header frame count, and raises typed errors on damaged streams; OpenCV's
``VideoCapture`` hides all of these.
"""

from __future__ import annotations

import heapq
import math
import os
import queue
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from ..errors import (
    ConfigError,
    CorruptVideoError,
    EmptyFileError,
    InputVideoError,
    NoFramesError,
    NotAVideoError,
    VideoNotFoundError,
)


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: 0-based index of the frame in the decoded stream (original numbering).
        pts: Presentation time in seconds.
        image: ``(H, W, 3)`` uint8 RGB, rotation metadata already applied.
    """

    index: int
    pts: float
    image: np.ndarray


@dataclass
class VideoInfo:
    """What the container header says, plus what decoding found.

    Attributes:
        width: Display width after rotation.
        height: Display height after rotation.
        rotation: Clockwise display rotation in degrees applied to every frame (0/90/180/270).
        fps: Average frame rate from the header (informational only).
        header_frames: Frame count from the header (0 if unknown).
        decoded_frames: Frames actually decoded (set once iteration reaches the end).
        pix_fmt: Source pixel format (e.g. ``yuv420p``, ``gray``, ``yuv420p10le``).
        codec: Codec name.
    """

    width: int
    height: int
    rotation: int
    fps: float
    header_frames: int
    pix_fmt: str
    codec: str
    decoded_frames: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def frame_count_mismatch(self) -> bool:
        """True when decoding finished with a count different from a known header count."""
        return (
            self.decoded_frames is not None
            and self.header_frames > 0
            and self.decoded_frames != self.header_frames
        )


def _open(path: Path, video_id: str | None):
    if not path.exists():
        raise VideoNotFoundError(f"{path}: no such file", video_id=video_id)
    if os.path.getsize(path) == 0:
        raise EmptyFileError(f"{path}: file is empty (0 bytes)", video_id=video_id)
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as e:
        raise NotAVideoError(f"{path}: not a readable media file: {e}", video_id=video_id) from None
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        container.close()
        raise NotAVideoError(
            f"{path}: no video stream (found: {', '.join(kinds)})", video_id=video_id
        )
    return container


def _cw_rotation(frame: av.VideoFrame) -> int:
    # PyAV's frame.rotation is the display matrix angle, counter-clockwise positive
    # (av_display_rotation_get). FFmpeg's autorotate turns the picture clockwise by
    # -angle; we do the same, explicitly.
    return int(round(-float(frame.rotation or 0) / 90.0)) % 4 * 90


def _to_rgb(frame: av.VideoFrame, rot_cw: int) -> np.ndarray:
    img = frame.to_ndarray(format="rgb24")
    if rot_cw:
        img = np.ascontiguousarray(np.rot90(img, k=-(rot_cw // 90)))
    return img


def probe(path: str | Path, *, video_id: str | None = None) -> VideoInfo:
    """Read header information (and the first frame, for the rotation).

    Raises:
        InputVideoError: The file is missing, empty, not a video or has no frames.
    """
    path = Path(path)
    with _open(path, video_id) as c:
        s = c.streams.video[0]
        try:
            first = next(iter(c.decode(s)), None)
        except av.error.FFmpegError as e:
            raise CorruptVideoError(f"{path}: cannot decode: {e}", video_id=video_id) from None
        if first is None:
            raise NoFramesError(f"{path}: no decodable video frame", video_id=video_id)
        rot = _cw_rotation(first)
        w, h = first.width, first.height
        if rot in (90, 270):
            w, h = h, w
        return VideoInfo(
            width=w,
            height=h,
            rotation=rot,
            fps=float(s.average_rate or 0.0),
            header_frames=int(s.frames or 0),
            pix_fmt=str((s.codec_context.format or first.format).name),
            codec=s.codec_context.name,
        )


class VideoReader:
    """Sequential, streaming reader of one video.

    Args:
        path: Video file.
        video_id: Manifest id, used in error messages.
        frame_stride: Keep every ``frame_stride``-th frame (by original index,
            counted from the first frame at or after ``start``).
        start: Start time in seconds (inclusive, by pts), or ``None``.
        end: End time in seconds (exclusive, by pts), or ``None``.
        truncation_tolerance: If decoding ends with fewer frames than the header
            announced, by more than ``max(2, tolerance * header)``, the file is
            considered truncated and :class:`CorruptVideoError` is raised at the
            end of iteration. Smaller mismatches are recorded in ``info.notes``.
        prefetch: Frames decoded ahead in a background thread (0 = no thread).

    Example:
        >>> reader = VideoReader("clip.mp4", frame_stride=5)  # doctest: +SKIP
        >>> for f in reader:  # doctest: +SKIP
        ...     f.index, f.pts, f.image.shape
    """

    def __init__(
        self,
        path: str | Path,
        *,
        video_id: str | None = None,
        frame_stride: int = 1,
        start: float | None = None,
        end: float | None = None,
        truncation_tolerance: float = 0.02,
        prefetch: int = 4,
    ) -> None:
        if frame_stride < 1:
            raise ConfigError("frame_stride: must be >= 1")
        self.path = Path(path)
        self.video_id = video_id
        self.frame_stride = frame_stride
        self.start = start
        self.end = end
        self.truncation_tolerance = truncation_tolerance
        self.prefetch = prefetch
        self.info = probe(self.path, video_id=video_id)

    def __iter__(self) -> Iterator[Frame]:
        if self.prefetch <= 0:
            yield from self._decode()
            return
        yield from _prefetched(self._decode, self.prefetch)

    def _decode(self) -> Iterator[Frame]:
        vid = self.video_id
        n_yield = 0
        index = -1
        with _open(self.path, vid) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            tb = s.time_base
            rate = float(s.average_rate or 0.0)
            # Decoders emit frames in presentation order, but some demuxers (AVI with
            # B-frames) attach reordered timestamps to them. The k-th frame's time is
            # the k-th smallest timestamp: restore that with a small sorting window.
            window: deque = deque()
            stamps: list[int] = []
            state = {"first_kept": None, "stop": False, "n": 0, "derived": False}

            def emit(idx: int, fr: av.VideoFrame, raw: int | None) -> Frame | None:
                if raw is None:
                    state["derived"] = True
                    pts = idx / rate if rate else math.nan
                else:
                    pts = float(raw * tb)
                if self.start is not None and not (pts >= self.start - 1e-9):
                    return None
                if self.end is not None and pts >= self.end - 1e-9:
                    state["stop"] = True
                    return None
                if state["first_kept"] is None:
                    state["first_kept"] = idx
                if (idx - state["first_kept"]) % self.frame_stride:
                    return None
                return Frame(index=idx, pts=pts, image=_to_rgb(fr, self.info.rotation))

            def pop() -> Frame | None:
                idx, fr = window.popleft()
                raw = heapq.heappop(stamps) if stamps else None
                return emit(idx, fr, raw)

            try:
                for fr in c.decode(s):
                    index += 1
                    raw = fr.pts if fr.pts is not None else fr.dts
                    if raw is not None:
                        heapq.heappush(stamps, raw)
                    window.append((index, fr))
                    if len(window) > _REORDER_WINDOW:
                        out = pop()
                        if out is not None:
                            n_yield += 1
                            yield out
                        if state["stop"]:
                            break
                while window and not state["stop"]:
                    out = pop()
                    if out is not None:
                        n_yield += 1
                        yield out
            except av.error.FFmpegError as e:
                raise CorruptVideoError(
                    f"{self.path}: decoding failed after frame {index - 1}: {e}",
                    video_id=vid,
                    frame=max(index, 0),
                ) from None
            if state["derived"]:
                self.info.notes.append("container has no timestamps; pts derived from frame rate")
        reached_end = self.end is None
        if reached_end:
            self.info.decoded_frames = index + 1
        if n_yield == 0:
            raise NoFramesError(
                f"{self.path}: no frame decoded in range start={self.start} end={self.end}",
                video_id=vid,
            )
        if reached_end and self.info.frame_count_mismatch:
            hdr, got = self.info.header_frames, self.info.decoded_frames
            note = f"header says {hdr} frames, decoded {got}"
            self.info.notes.append(note)
            if got < hdr - max(2, self.truncation_tolerance * hdr):
                raise CorruptVideoError(
                    f"{self.path}: truncated: {note}", video_id=vid, frame=got
                )


_END = object()
_REORDER_WINDOW = 16


def _prefetched(gen_fn, depth: int) -> Iterator[Frame]:
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work():
        try:
            for item in gen_fn():
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_END)
        except BaseException as e:  # hand the error to the consumer
            q.put(e)

    t = threading.Thread(target=work, name="posetools-decode", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        t.join(timeout=5)


def iter_batches(frames: Iterator[Frame], batch_size: int) -> Iterator[list[Frame]]:
    """Group a frame stream into lists of up to ``batch_size`` frames."""
    batch: list[Frame] = []
    for f in frames:
        batch.append(f)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


__all__ = ["Frame", "VideoInfo", "VideoReader", "probe", "iter_batches", "InputVideoError"]
