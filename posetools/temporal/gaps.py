"""Gap repair: interpolation in time across short holes, inside segments only.

A hole is filled only when it lies inside a segment (:mod:`.segments`): it spans at
most ``max_gap`` missing samples, has present rows on both sides and no restart lies
between them. Nothing is extrapolated past a segment's first or last present row. The
abscissa is the real time ``pts`` (uneven rows and frame strides are handled as they are).

* ``linear``: :func:`numpy.interp` between the two rows bounding the hole.
* ``pchip``: :class:`scipy.interpolate.PchipInterpolator` through the segment's present
  rows: C1, follows the local slope on both sides and never overshoots the bounding
  values, so a filled hole cannot create a spike. With two present rows it is linear.
"""

from __future__ import annotations

import numpy as np

from ..config.algorithms import GapMethod
from .segments import segment_bounds


def interpolate(t_known: np.ndarray, x_known: np.ndarray, t_query: np.ndarray,
                method: GapMethod = "linear") -> np.ndarray:
    """Interpolate samples at new times (inside the known range only).

    Args:
        t_known: ``(n,) float64`` increasing times, ``n >= 2``.
        x_known: ``(n, C)`` values.
        t_query: ``(m,)`` query times.
        method: ``"linear"`` or ``"pchip"``.

    Returns:
        ``(m, C) float64``; NaN for a query outside ``[t_known[0], t_known[-1]]``.

    Raises:
        ValueError: Unknown method or fewer than two known samples.
    """
    t_known = np.asarray(t_known, np.float64)
    x_known = np.asarray(x_known, np.float64).reshape(t_known.shape[0], -1)
    t_query = np.asarray(t_query, np.float64)
    if t_known.shape[0] < 2:
        raise ValueError("interpolate: needs at least two known samples")
    if method not in ("linear", "pchip"):
        raise ValueError(f"method: unknown gap method {method!r} (linear or pchip)")
    if method == "linear" or t_known.shape[0] == 2:
        out = np.stack([np.interp(t_query, t_known, x_known[:, c])
                        for c in range(x_known.shape[1])], axis=1)
    else:
        from scipy.interpolate import PchipInterpolator  # lazy: scipy loads slowly

        out = PchipInterpolator(t_known, x_known, axis=0, extrapolate=False)(t_query)
    out = np.asarray(out, np.float64).reshape(t_query.shape[0], -1)
    out[(t_query < t_known[0]) | (t_query > t_known[-1])] = np.nan
    return out


def fill_segments(x: np.ndarray, present: np.ndarray, pts: np.ndarray,
                  bounds: list[tuple[int, int]], method: GapMethod = "linear",
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Fill the missing rows inside given segments.

    Args:
        x: ``(T, ...)`` values (values at missing rows are ignored).
        present: ``(T,) bool``.
        pts: ``(T,) float64`` times in seconds.
        bounds: Segments of ``present`` (:func:`.segments.segment_bounds`).
        method: ``"linear"`` or ``"pchip"``.

    Returns:
        ``(out, filled)``: ``out (T, ...) float64``, ``x`` with the holes inside the
        segments interpolated (rows outside every segment unchanged), and
        ``filled (T,) bool``, the rows written.
    """
    x = np.asarray(x, np.float64)
    present = np.asarray(present, bool)
    pts = np.asarray(pts, np.float64)
    out = x.copy()
    flat = out.reshape(x.shape[0], -1)
    filled = np.zeros(x.shape[0], dtype=bool)
    for a, b in bounds:
        seg = present[a:b]
        if seg.all():
            continue
        known = np.flatnonzero(seg) + a
        query = np.flatnonzero(~seg) + a
        flat[query] = interpolate(pts[known], flat[known], pts[query], method)
        filled[query] = True
    return out, filled


def fill_gaps(x: np.ndarray, present: np.ndarray, pts: np.ndarray, dt: float, max_gap: int,
              restart: np.ndarray | None = None, method: GapMethod = "linear",
              ) -> tuple[np.ndarray, np.ndarray]:
    """Fill holes of at most ``max_gap`` missing samples in one series.

    Args:
        x: ``(T, ...)`` values, e.g. ``(T, 2)`` one joint's pixels.
        present: ``(T,) bool`` rows where the value is usable.
        pts: ``(T,) float64`` times in seconds.
        dt: Sample period (:func:`.segments.sample_period`).
        max_gap: Longest hole filled, in missing samples (0: nothing is filled).
        restart: ``(T,) bool`` restart rows (never filled across).
        method: ``"linear"`` or ``"pchip"``.

    Returns:
        ``(out, filled)`` as :func:`fill_segments`.
    """
    bounds = segment_bounds(present, pts, dt, max_gap, restart)
    return fill_segments(x, present, pts, bounds, method)
