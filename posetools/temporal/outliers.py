"""Outlier tests on one segment: they return masks, never values.

A rejected joint becomes *missing* (it is not dragged towards a filtered value); gap
repair may then fill it if the hole is short. Two tests:

* :func:`hampel_mask`: Hampel identifier on motion-compensated positions. A sample is
  an outlier when, in some coordinate, it is farther from the median of the
  ``window`` samples centred on it (each moved back along the window's median
  velocity) than ``n_sigmas`` robust standard deviations (``1.4826 MAD``) *and* than
  ``min_dev`` (a floor, e.g. a fraction of the person size, so a nearly still joint
  with MAD ~ 0 is not rejected for sub-pixel noise). At the segment ends the window is
  completed by point reflection about the end sample (odd extension): a linear motion
  has zero residual everywhere, and the end samples themselves are never rejected
  (one-sided evidence). The ``hampel`` package implements the plain test (no motion
  compensation, no floor), which flags every fast joint's trend as spread.
* :func:`spike_mask`: a speed test. An interior sample whose incoming *and* outgoing
  speeds both exceed ``max_speed`` and whose two steps point in opposite directions
  (it jumps away and comes back) is rejected.

:func:`person_size` gives the scale both tests use (pixels per person).
"""

from __future__ import annotations

import warnings

import numpy as np

from .filters import odd_extend

MAD_TO_STD = 1.4826
"""Robust standard deviation per median absolute deviation (Gaussian noise)."""


def hampel_flags(x: np.ndarray, window: int = 7, n_sigmas: float = 3.0,
                 min_dev: float = 0.0, t: np.ndarray | None = None) -> np.ndarray:
    """Per-coordinate flags of :func:`hampel_mask` (every column tested on its own).

    Args:
        x: ``(n, ...)`` samples of one segment; NaN entries are ignored by the medians
            and never flagged.
        window: Odd window length in samples (>= 3).
        n_sigmas: Threshold in robust standard deviations.
        min_dev: Deviations of at most this many units are never outliers.
        t: ``(n,)`` sample times (default: the sample index).

    Returns:
        ``(n, ...) bool``.

    Raises:
        ValueError: ``window`` is even or < 3.
    """
    if window < 3 or window % 2 == 0:
        raise ValueError("window: must be an odd integer >= 3")
    x = np.asarray(x, np.float64)
    shape = x.shape
    x = x.reshape(shape[0], -1)
    n = x.shape[0]
    if n < 3:
        return np.zeros(shape, dtype=bool)
    t = np.arange(n, dtype=np.float64) if t is None else np.asarray(t, np.float64)
    h = window // 2
    view = np.lib.stride_tricks.sliding_window_view
    win = view(odd_extend(x, h), window, axis=0)  # (n, C, w)
    tw = view(odd_extend(t, h), window, axis=0)  # (n, w)
    median = np.median if np.isfinite(x).all() else np.nanmedian  # nanmedian is slower
    with warnings.catch_warnings():  # all-NaN windows: median NaN, nothing flagged
        warnings.simplefilter("ignore", RuntimeWarning)
        vel = median(np.diff(win, axis=-1) / np.diff(tw, axis=-1)[:, None, :], axis=-1)
        z = win - vel[..., None] * (tw - t[:, None])[:, None, :]
        med = median(z, axis=-1)  # (n, C)
        scale = MAD_TO_STD * median(np.abs(z - med[..., None]), axis=-1)
    dev = np.abs(x - med)
    tol = 1e-9 * (1.0 + np.abs(x))  # rounding of the compensation is not an outlier
    out = (dev > n_sigmas * scale) & (dev > min_dev) & (dev > tol) & np.isfinite(x)
    return out.reshape(shape)


def hampel_mask(x: np.ndarray, window: int = 7, n_sigmas: float = 3.0,
                min_dev: float = 0.0, t: np.ndarray | None = None) -> np.ndarray:
    """Motion-compensated Hampel identifier along axis 0.

    For sample ``i`` and the ``window`` samples ``j`` centred on it, positions are
    moved along the local velocity ``v_i`` (per coordinate, the median of the window's
    finite differences): ``z_j = x_j - v_i (t_j - t_i)``. Sample ``i`` is an outlier
    when ``|x_i - median(z)| > max(n_sigmas * 1.4826 * MAD(z), min_dev)`` in some
    coordinate. Without the compensation a joint in fast motion inflates the MAD (the
    trend looks like spread) and hides its spikes.

    Args:
        x: ``(n, C)`` samples of one segment (``(n,)`` is read as ``(n, 1)``).
        window: Odd window length in samples (>= 3).
        n_sigmas: Threshold in robust standard deviations.
        min_dev: Deviations of at most this many units are never outliers.
        t: ``(n,)`` sample times (default: the sample index).

    Returns:
        ``(n,) bool`` samples flagged in at least one coordinate.

    Raises:
        ValueError: ``window`` is even or < 3.
    """
    x = np.asarray(x, np.float64)
    return hampel_flags(x.reshape(x.shape[0], -1), window, n_sigmas, min_dev, t).any(axis=1)


def spike_mask(x: np.ndarray, t: np.ndarray, max_speed: float) -> np.ndarray:
    """Isolated jumps: interior samples reached and left faster than ``max_speed``.

    Args:
        x: ``(n, ..., D)`` positions of one segment (the speed is the norm over the
            last axis; ``(n,)`` is one scalar series).
        t: ``(n,) float64`` times in seconds, increasing.
        max_speed: Speed limit in units of ``x`` per second (> 0).

    Returns:
        ``(n, ...) bool`` (``(n,)`` for ``(n, D)`` or ``(n,)`` input).
    """
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    out = np.zeros(x.shape[:-1], dtype=bool)
    if x.shape[0] < 3:
        return out
    step = np.diff(x, axis=0)  # (n-1, ..., D)
    te = np.diff(np.asarray(t, np.float64)).reshape(-1, *([1] * (x.ndim - 2)))
    speed = np.linalg.norm(step, axis=-1) / te
    back = (step[:-1] * step[1:]).sum(axis=-1) < 0
    out[1:-1] = (speed[:-1] > max_speed) & (speed[1:] > max_speed) & back
    return out


def person_size(keypoints: np.ndarray, present: np.ndarray,
                pieces: np.ndarray | None = None) -> np.ndarray:
    """Robust size of one person track in pixels.

    The size of a row is ``max(w, h)`` of the box of its present joints (rows with at
    least two present joints); the size of a track piece (rows between restarts) is
    the median over its rows. A piece without a measured row takes the median of all
    measured rows.

    Args:
        keypoints: ``(T, K, 2)`` pixels.
        present: ``(T, K) bool``.
        pieces: ``(T,) int`` piece number per row (:func:`.segments.piece_ids`);
            ``None``: one piece.

    Returns:
        ``(T,) float64`` per row; NaN if no row of the track can be measured.
    """
    kp = np.asarray(keypoints, np.float64)
    ok = np.asarray(present, bool) & np.isfinite(kp).all(axis=-1)
    t = kp.shape[0]
    pieces = np.zeros(t, np.int64) if pieces is None else np.asarray(pieces, np.int64)
    x = np.where(ok, kp[..., 0], np.nan)
    y = np.where(ok, kp[..., 1], np.nan)
    has = ok.sum(axis=1) >= 2
    side = np.full(t, np.nan)
    if has.any():
        side[has] = np.fmax(np.nanmax(x[has], 1) - np.nanmin(x[has], 1),
                            np.nanmax(y[has], 1) - np.nanmin(y[has], 1))
    out = np.full(t, np.nan)
    measured = has & (side > 0)
    if not measured.any():
        return out
    for p in np.unique(pieces):
        rows = pieces == p
        m = rows & measured
        if m.any():
            out[rows] = np.median(side[m])
    out[np.isnan(out)] = np.median(side[measured])
    return out
