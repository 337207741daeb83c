"""SST-A's optional linear gap filling in frame position (never across a track restart)."""

from __future__ import annotations

import numpy as np


def fill_gaps(kp: np.ndarray, sc: np.ndarray, usable: np.ndarray, pos: np.ndarray,
              max_gap: int, restart: np.ndarray | None = None) -> np.ndarray:
    """Linear gap filling in place.

    A run of at most ``max_gap`` rows where a joint is not usable, with usable rows on
    both sides and no restart in between (rows ``left < r <= right``), is interpolated
    linearly in ``pos`` (coordinates and scores).

    Args:
        kp: ``(T, K, 2)`` keypoints, written in place.
        sc: ``(T, K)`` scores, written in place.
        usable: ``(T, K) bool`` joints to interpolate from.
        pos: ``(T,)`` abscissa (frame positions).
        max_gap: Longest run filled, in rows.
        restart: ``(T,) bool`` rows where the track restarts (default none).

    Returns:
        ``(T, K) bool`` the joints filled.
    """
    t = kp.shape[0]
    rows = np.arange(t)[:, None]
    left = np.maximum.accumulate(np.where(usable, rows, -1), axis=0)
    right = np.minimum.accumulate(np.where(usable, rows, t)[::-1], axis=0)[::-1]
    fill = ~usable & (left >= 0) & (right < t) & (right - left - 1 <= max_gap)
    if restart is not None and fill.any():
        piece = np.cumsum(np.asarray(restart, dtype=np.int64))
        fill &= piece[np.clip(left, 0, t - 1)] == piece[np.clip(right, 0, t - 1)]
    if not fill.any():
        return fill
    tt, vv = np.nonzero(fill)
    lo, hi = left[tt, vv], right[tt, vv]
    w = (pos[tt] - pos[lo]) / (pos[hi] - pos[lo])
    kp[tt, vv] = kp[lo, vv] + w[:, None] * (kp[hi, vv] - kp[lo, vv])
    sc[tt, vv] = sc[lo, vv] + w * (sc[hi, vv] - sc[lo, vv])
    return fill
