"""Segments: the runs of one joint's series that every refinement step works within.

Vocabulary of :mod:`posetools.temporal`:

* A *row* is one entry of the pose axis (one ``pts``). With a frame stride of 5,
  consecutive rows are 5 video frames apart.
* The *sample period* ``dt`` is the median spacing of consecutive rows in seconds
  (:func:`sample_period`), measured from the real ``pts``: it already includes any
  frame stride.
* A joint is *present* at a row when its coordinates are usable (the caller decides;
  :func:`posetools.temporal.refine_poses`: row valid, coordinates finite, score > 0).
* The hole between consecutive present rows ``a < b`` spans
  ``max(b - a - 1, round((pts[b] - pts[a]) / dt) - 1)`` missing samples: missing rows
  count, and so do holes in time without rows (a variable-frame-rate stall).
* A *restart* row begins a new track piece (another person in the same slot); the
  caller supplies them (:func:`posetools.aggregate.track_restarts` from track ids).
* A *segment* is a maximal run of present rows in which every hole spans at most
  ``max_gap`` missing samples and no restart lies between two of its rows. Gap repair
  never leaves a segment and every filter runs on each segment separately.
"""

from __future__ import annotations

import numpy as np


def sample_period(pts: np.ndarray) -> float:
    """Median spacing of consecutive rows.

    Args:
        pts: ``(T,) float64`` presentation times in seconds, increasing.

    Returns:
        The median of the positive finite differences, in seconds.

    Raises:
        ValueError: Fewer than two rows with increasing finite times.
    """
    d = np.diff(np.asarray(pts, dtype=np.float64))
    d = d[np.isfinite(d) & (d > 0)]
    if d.size == 0:
        raise ValueError("pts: needs at least two increasing finite times")
    return float(np.median(d))


def piece_ids(restart: np.ndarray) -> np.ndarray:
    """Number of the track piece of every row (pieces are separated by restarts).

    Args:
        restart: ``(T, ...) bool`` restart rows along axis 0.

    Returns:
        ``(T, ...) int64``, 0 before the first restart.
    """
    return np.cumsum(np.asarray(restart, dtype=np.int64), axis=0)


def missing_samples(rows: np.ndarray, pts: np.ndarray, dt: float) -> np.ndarray:
    """Missing samples in each hole between consecutive present rows.

    Args:
        rows: ``(n,) int`` present rows, increasing.
        pts: ``(T,) float64`` times of all rows.
        dt: Sample period in seconds.

    Returns:
        ``(n - 1,) int64``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    by_rows = np.diff(rows) - 1
    by_time = np.rint(np.diff(np.asarray(pts, np.float64)[rows]) / dt).astype(np.int64) - 1
    return np.maximum(by_rows, by_time)


def segment_bounds(
    present: np.ndarray,
    pts: np.ndarray,
    dt: float,
    max_gap: int,
    restart: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """Segments of one series (see the module docstring).

    Args:
        present: ``(T,) bool`` rows where the joint is present.
        pts: ``(T,) float64`` times in seconds.
        dt: Sample period in seconds (:func:`sample_period`).
        max_gap: Longest hole, in missing samples, a segment may span (0: only runs
            of consecutive samples).
        restart: ``(T,) bool`` restart rows; ``None``: none.

    Returns:
        ``[(start, stop), ...]`` row ranges, ``stop`` exclusive; ``start`` and
        ``stop - 1`` are present rows, rows in between may be missing (holes of at
        most ``max_gap`` samples).
    """
    idx = np.flatnonzero(np.asarray(present, dtype=bool))
    if idx.size == 0:
        return []
    brk = missing_samples(idx, pts, dt) > max_gap
    if restart is not None:
        pc = piece_ids(restart)
        brk |= pc[idx[1:]] != pc[idx[:-1]]  # a restart in (a, b]
    cut = np.flatnonzero(brk)
    starts = np.concatenate([[0], cut + 1])
    ends = np.concatenate([cut, [idx.size - 1]])
    return [(int(idx[s]), int(idx[e]) + 1) for s, e in zip(starts, ends, strict=True)]


def sample_grid(seg_pts: np.ndarray, dt: float) -> np.ndarray:
    """Position of each row of a segment on a uniform grid of step ``dt``.

    Consecutive rows are at least one grid step apart; a hole in time of ``n``
    periods leaves ``n - 1`` empty grid positions.

    Args:
        seg_pts: ``(n,) float64`` times of the segment's rows.
        dt: Sample period.

    Returns:
        ``(n,) int64`` grid positions starting at 0, strictly increasing.
    """
    steps = np.maximum(1, np.rint(np.diff(np.asarray(seg_pts, np.float64)) / dt).astype(np.int64))
    return np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)
