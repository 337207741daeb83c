"""SST-A's optional linear gap filling in frame position."""

from __future__ import annotations

import numpy as np


def fill_gaps(kp: np.ndarray, sc: np.ndarray, usable: np.ndarray, pos: np.ndarray,
               max_gap: int) -> np.ndarray:
    """Linear gap filling in place. ``kp (T,K,2)``, ``sc (T,K)``, ``usable (T,K)``."""
    t = kp.shape[0]
    rows = np.arange(t)[:, None]
    left = np.maximum.accumulate(np.where(usable, rows, -1), axis=0)
    right = np.minimum.accumulate(np.where(usable, rows, t)[::-1], axis=0)[::-1]
    fill = ~usable & (left >= 0) & (right < t) & (right - left - 1 <= max_gap)
    if not fill.any():
        return fill
    tt, vv = np.nonzero(fill)
    lo, hi = left[tt, vv], right[tt, vv]
    w = (pos[tt] - pos[lo]) / (pos[hi] - pos[lo])
    kp[tt, vv] = kp[lo, vv] + w[:, None] * (kp[hi, vv] - kp[lo, vv])
    sc[tt, vv] = sc[lo, vv] + w * (sc[hi, vv] - sc[lo, vv])
    return fill
