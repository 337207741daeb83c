"""Clip sampling over a video's frame axis (pure numpy; no torch needed).

:func:`uniform_sample_frames` follows mmaction2's ``UniformSampleFrames``
(PoseC3D / ST-GCN++ sampling): split the video into ``clip_len`` equal segments
and take one random frame from each; a video shorter than ``clip_len`` is read
as a contiguous run from a random start that wraps around (loops); a video
between ``clip_len`` and ``2 * clip_len`` frames keeps consecutive frames and
skips ``T - clip_len`` random ones. In test mode the draw comes from a generator
seeded with ``seed`` on every call, so the same video always gives the same
clips, and short-video clips start at evenly spread offsets.

:func:`fixed_windows` enumerates sliding windows for dense evaluation or
feature extraction.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def _one_clip(num_frames: int, clip_len: int, rng: np.random.Generator,
              short_start: int | None) -> np.ndarray:
    if num_frames < clip_len:
        start = int(rng.integers(0, num_frames)) if short_start is None else short_start
        return np.arange(start, start + clip_len, dtype=np.int64)
    if num_frames < 2 * clip_len:
        # keep clip_len consecutive frames, inserting num_frames - clip_len random skips
        skips = rng.choice(clip_len + 1, num_frames - clip_len, replace=False)
        bump = np.zeros(clip_len + 1, dtype=np.int64)
        bump[skips] = 1
        return np.arange(clip_len, dtype=np.int64) + np.cumsum(bump)[:-1]
    edges = np.arange(clip_len + 1, dtype=np.int64) * num_frames // clip_len
    return edges[:-1] + rng.integers(0, np.diff(edges))


def uniform_sample_frames(
    num_frames: int,
    clip_len: int,
    *,
    num_clips: int = 1,
    test_mode: bool = False,
    rng: np.random.Generator | None = None,
    seed: int = 255,
) -> np.ndarray:
    """Frame positions of ``num_clips`` clips of ``clip_len`` frames.

    Args:
        num_frames: Frames in the video (``T >= 1``).
        clip_len: Frames per clip.
        num_clips: Clips to draw.
        test_mode: Deterministic sampling (generator re-seeded with ``seed``).
        rng: Generator for training mode (default: a fresh unseeded one).
        seed: Seed used in test mode.

    Returns:
        ``(num_clips, clip_len) int64`` positions in ``[0, num_frames)`` (wrapped).
    """
    if num_frames < 1:
        raise ConfigError("num_frames: must be >= 1")
    if clip_len < 1 or num_clips < 1:
        raise ConfigError("clip_len, num_clips: must be >= 1")
    if test_mode:
        rng = np.random.default_rng(seed)
    elif rng is None:
        rng = np.random.default_rng()
    clips = []
    for i in range(num_clips):
        short_start = None
        if test_mode and num_frames < clip_len:
            short_start = i if num_frames < num_clips else i * num_frames // num_clips
        clips.append(_one_clip(num_frames, clip_len, rng, short_start))
    return np.mod(np.stack(clips), num_frames)


def fixed_windows(num_frames: int, window: int, stride: int | None = None) -> np.ndarray:
    """Start positions of sliding windows covering every frame.

    Windows start at ``0, stride, 2 * stride, ...`` while the previous window
    did not reach the end; the last one may run past ``num_frames`` (callers
    pad and mask it). A video with no frames has no windows.

    Args:
        num_frames: Frames in the video.
        window: Window length.
        stride: Step between starts (default: ``window``, no overlap).

    Returns:
        ``(n,) int64`` start positions.
    """
    stride = window if stride is None else stride
    if window < 1 or stride < 1:
        raise ConfigError("window, stride: must be >= 1")
    if num_frames <= 0:
        return np.zeros(0, dtype=np.int64)
    last = max(num_frames - window, 0)
    starts = np.arange(0, last + 1, stride, dtype=np.int64)
    if starts[-1] < last:
        starts = np.append(starts, starts[-1] + stride)
    return starts
