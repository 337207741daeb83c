"""Which frames ``posetools show`` draws: ``--frames a:b`` and ``--every N``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class FrameSelection:
    """A range of original frame indices ``[start, stop)``, thinned to every ``every``-th.

    Frames are the video's *original* indices (the ``frame_index`` of every
    artifact), counted from 0 at the first decoded frame. Thinning counts from
    ``start``: ``start, start + every, ...``.

    Attributes:
        start: First frame (``None``: 0).
        stop: One past the last frame (``None``: the end of the video).
        every: Keep every ``every``-th frame (>= 1).
    """

    start: int | None = None
    stop: int | None = None
    every: int = 1

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ConfigError(f"--every: must be >= 1, got {self.every}")
        if (self.start is not None and self.start < 0) or (self.stop is not None and self.stop < 0):
            raise ConfigError("--frames: frame indices are >= 0")
        if self.start is not None and self.stop is not None and self.stop <= self.start:
            raise ConfigError(f"--frames {self.start}:{self.stop}: empty range")

    @staticmethod
    def parse(frames: str | None, every: int = 1) -> FrameSelection:
        """From ``"a:b"``, ``"a:"``, ``":b"`` or ``"a"`` (the one frame ``a``), or ``None``.

        Raises:
            ConfigError: Not of that form, negative, or an empty range.
        """
        if frames is None or frames.strip() in ("", ":"):
            return FrameSelection(None, None, every)
        lo, sep, hi = frames.strip().partition(":")
        try:
            start = int(lo) if lo.strip() else None
            stop = int(hi) if hi.strip() else None
        except ValueError:
            raise ConfigError(f"--frames {frames!r}: expected a:b (original frame indices, "
                              "b exclusive; either may be left out)") from None
        if not sep and start is not None:  # "a": the one frame a
            stop = start + 1
        return FrameSelection(start, stop, every)

    @property
    def first(self) -> int:
        """The first frame index the range can hold."""
        return 0 if self.start is None else self.start

    def in_range(self, frame_index: np.ndarray) -> np.ndarray:
        """``(T,) bool``: frames inside ``[start, stop)`` (``every`` ignored)."""
        fi = np.asarray(frame_index, np.int64)
        ok = fi >= self.first
        if self.stop is not None:
            ok &= fi < self.stop
        return ok

    def mask(self, frame_index: np.ndarray) -> np.ndarray:
        """``(T,) bool``: frames kept (inside the range and on the ``every`` grid)."""
        fi = np.asarray(frame_index, np.int64)
        return self.in_range(fi) & ((fi - self.first) % self.every == 0)

    def keeps(self, index: int) -> bool:
        """Whether frame ``index`` is kept."""
        return bool(self.mask(np.array([index]))[0])

    def done(self, index: int) -> bool:
        """Whether no frame at or after ``index`` can be kept (stop decoding)."""
        return self.stop is not None and index >= self.stop

    def count(self, num_frames: int) -> int:
        """Frames kept from a video of ``num_frames`` frames (indices ``0..num_frames-1``)."""
        end = num_frames if self.stop is None else min(self.stop, num_frames)
        return len(range(self.first, end, self.every))

    def describe(self) -> str:
        """``"frames 10:50, every 2nd"``-style text (empty for everything)."""
        parts = []
        if self.start is not None or self.stop is not None:
            parts.append(f"frames {'' if self.start is None else self.start}:"
                         f"{'' if self.stop is None else self.stop}")
        if self.every > 1:
            parts.append(f"every {self.every}")
        return ", ".join(parts)


__all__ = ["FrameSelection"]
