"""Pseudo-heatmaps exactly as mmaction2 1.2.0's ``GeneratePoseTarget`` computes them (numpy).

``heatmaps.style: mmaction2``. Same signature and channel layout as
:func:`posetools.heatmaps.render_heatmaps`; only the pixel values differ, and
only where that renderer deliberately departs from mmaction2:

* **Windows, no circular cut.** A joint at ``mu`` fills the whole rectangle
  ``[max(trunc(mu - 3 sigma), 0), min(trunc(mu + 3 sigma) + 1, S))`` on each
  axis (``trunc`` rounds toward zero, as Python's ``int``), corners included;
  so the low side gets one extra row/column at ``>= 3 sigma``, and column 0 is
  drawn when ``-1 < mu + 3 sigma < 0``. A limb fills the bounding box of its two
  joints grown by ``3 sigma``, without a capsule cut.
* **Joint value** ``c * exp((-s / 2) / sigma^2)`` with ``s = dx^2 + dy^2``, every
  step in float32 (numpy's float32 ``exp``).
* **Limb value**: the squared distance to the segment in float32 (projection
  ``u = ((d_a - d_b) + l^2) / 2 / l^2``, foot ``a + u (b - a)``, ``d_a`` where
  ``u <= 0``, ``d_b`` where ``u >= 1``), then ``exp(-d^2 / 2 / sigma^2) *
  min(c_a, c_b)`` in float64, rounded to float32.
* **Sub-pixel limb** (``l^2 < 1``): the joint map of the start joint ``a`` with
  the start score ``c_a`` (skipped, like every limb, when ``min(c_a, c_b)`` is
  below the threshold).
* Scores below ``min_score`` are compared in float32 (mmaction2's ``eps`` is
  ``1e-4``, the default).

``K + L`` channels when both joints and limbs are on: each channel is what
mmaction2 computes with ``with_kp`` or ``with_limb`` alone. mmaction2 itself, with
both on, draws the limbs into the first ``L`` joint channels and leaves the last
``L`` channels empty; that bug is not reproduced. Differences that remain on
purpose: joints that are missing (NaN, score 0, invalid slot) are never drawn,
also with ``use_score=False`` (mmaction2 would draw them at its ``(0, 0)``
placeholder), and sigma is used as a Python float (mmaction2's arithmetic
changes if it is handed a numpy float64). The arithmetic reproduces mmaction2
under numpy >= 2 (NEP 50 promotion); under numpy 1.x mmaction2 itself computes
some window bounds in float64 and differs from this by up to one row/column.

Vectorized over frames, joints and limbs (windows of similar size are computed
together), looping only over person slots, which merge by max.
:mod:`posetools.torch.mmaction2` is the torch twin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import check_shape
from .crop import DEFAULT_MIN_SCORE, joint_mask
from .render import render_channels, window_bucket

_CHUNK_ELEMENTS = 1 << 21
"""Upper bound on window pixels computed at once (bounds temporary memory)."""

F32 = np.float32


def render_heatmaps_mmaction2(
    keypoints: np.ndarray,
    scores: np.ndarray,
    *,
    size: int,
    sigma: float,
    joints: bool = True,
    limbs: Sequence[tuple[int, int]] | np.ndarray = (),
    use_score: bool = True,
    min_score: float = DEFAULT_MIN_SCORE,
    valid: np.ndarray | None = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """Render joint and limb pseudo-heatmaps with mmaction2's arithmetic (module docstring).

    Args:
        keypoints: ``(T, P, K, 2)`` float, **grid** pixels
            (:meth:`~posetools.heatmaps.CompactCrop.to_grid`).
        scores: ``(T, P, K)`` float in [0, 1].
        size: Grid side ``S``.
        sigma: Gaussian sigma in grid pixels.
        joints: Emit the ``K`` joint channels.
        limbs: ``(L, 2)`` joint index pairs (start joint first); ``L`` limb channels
            follow the joints.
        use_score: Scale each map by the score (else by 1).
        min_score: Joints scoring below this (float32 comparison) are not drawn.
        valid: ``(T, P)`` bool person-slot validity, or ``None``.
        dtype: Output dtype (computed as described, cast at the end).

    Returns:
        ``(T, C, S, S)`` with ``C = K * joints + L``.
    """
    check_shape("keypoints", keypoints, ("T", "P", "K", 2))
    n_t, n_p, n_k = keypoints.shape[:3]
    check_shape("scores", scores, (n_t, n_p, n_k))
    limb_arr, n_c = render_channels(keypoints.shape, scores.shape, size=size, sigma=sigma,
                                    joints=joints, limbs=limbs)
    sigma = float(sigma)
    n_l = len(limb_arr)
    plane = size * size
    flat = np.zeros(n_t * n_c * plane, dtype=F32)
    mask = joint_mask(keypoints, scores, valid, min_score=0.0)
    sc32 = np.asarray(scores, F32)
    mask &= ~(sc32 < F32(min_score))
    amp = np.where(mask, sc32 if use_score else F32(1), F32(0)).astype(F32)
    kp = np.where(mask[..., None], np.asarray(keypoints, F32), F32(0))
    frame_base = (np.arange(n_t, dtype=np.int64) * n_c * plane)[:, None]
    for p in range(n_p):
        drawn = mask[:, p]
        if joints:
            base = frame_base + np.arange(n_k, dtype=np.int64)[None, :] * plane  # (T, K)
            _splat_points(flat, base[drawn], kp[:, p, :, 0][drawn], kp[:, p, :, 1][drawn],
                          amp[:, p][drawn], size, sigma)
        if n_l:
            off = n_k if joints else 0
            base = frame_base + (off + np.arange(n_l, dtype=np.int64))[None, :] * plane
            a, b = limb_arr[:, 0], limb_arr[:, 1]
            sel = drawn[:, a] & drawn[:, b]  # (T, L)
            _splat_segments(flat, base[sel], kp[:, p, a][sel], kp[:, p, b][sel],
                            amp[:, p, a][sel], amp[:, p, b][sel], size, sigma)
    out = flat.reshape(n_t, n_c, size, size)
    return out if np.dtype(dtype) == F32 else out.astype(dtype)


def window_bounds(lo: np.ndarray, hi: np.ndarray, sigma: float, size: int):
    """mmaction2's window ``[start, stop)`` on one axis for extents ``[lo, hi]`` (float32).

    ``start = max(trunc(lo - r), 0)``, ``stop = min(trunc(hi + r) + 1, size)`` with
    ``r = float32(3 sigma)`` and float32 subtraction/addition.

    Returns:
        ``(start, stop)`` int64 arrays (empty where ``stop <= start``).
    """
    r32 = F32(3 * sigma)
    start = np.maximum(np.trunc(np.asarray(lo, F32) - r32).astype(np.int64), 0)
    stop = np.minimum(np.trunc(np.asarray(hi, F32) + r32).astype(np.int64) + 1, size)
    return start, stop


def max_window(sigma: float) -> int:
    """An upper bound on a joint window's side (``trunc`` differs from ``floor`` below 0)."""
    return int(np.ceil(2 * F32(3 * sigma))) + 2


def _splat_points(flat, base, x, y, amp, size, sigma) -> None:
    """Max-write joint windows; ``base`` (M,) is each map's offset in ``flat``."""
    if len(x) == 0:
        return
    x0, x1 = window_bounds(x, x, sigma, size)
    y0, y1 = window_bounds(y, y, sigma, size)
    on = (x1 > x0) & (y1 > y0)
    if not on.all():
        x, y, amp, base = x[on], y[on], amp[on], base[on]
        x0, x1, y0, y1 = x0[on], x1[on], y0[on], y1[on]
    w = max_window(sigma)
    inv = F32(sigma * sigma)
    r = np.arange(w, dtype=np.int64)
    step = max(1, _CHUNK_ELEMENTS // (w * w))
    for s in range(0, len(x), step):
        sl = slice(s, s + step)
        ix = x0[sl, None] + r  # (M, w)
        iy = y0[sl, None] + r
        dx = ix.astype(F32) - x[sl, None]
        dy = iy.astype(F32) - y[sl, None]
        d2 = (dy * dy)[:, :, None] + (dx * dx)[:, None, :]  # (M, w, w) float32
        val = np.exp((-d2 / F32(2)) / inv) * amp[sl, None, None]
        inside = (iy < y1[sl, None])[:, :, None] & (ix < x1[sl, None])[:, None, :]
        keep = np.flatnonzero(inside)
        idx = (base[sl, None, None] + iy[:, :, None] * size + ix[:, None, :]).ravel().take(keep)
        _max_write(flat, idx, val.ravel().take(keep))


def _splat_segments(flat, base, pa, pb, ca, cb, size, sigma) -> None:
    """Max-write limb windows for segments ``pa -> pb`` (``(M, 2)``), scores ``ca``, ``cb``."""
    if len(pa) == 0:
        return
    coeff = np.minimum(ca, cb)
    lab = squared_length_mmaction2(pa, pb)
    x0, x1 = window_bounds(np.minimum(pa[:, 0], pb[:, 0]), np.maximum(pa[:, 0], pb[:, 0]),
                           sigma, size)
    y0, y1 = window_bounds(np.minimum(pa[:, 1], pb[:, 1]), np.maximum(pa[:, 1], pb[:, 1]),
                           sigma, size)
    on = (x1 > x0) & (y1 > y0)
    short = on & (lab < 1)
    if short.any():  # the start joint's map with the start joint's score
        _splat_points(flat, base[short], pa[short, 0], pa[short, 1], ca[short], size, sigma)
    seg = on & ~short
    if not seg.any():
        return
    base, pa, pb, lab, coeff = base[seg], pa[seg], pb[seg], lab[seg], coeff[seg]
    x0, x1, y0, y1 = x0[seg], x1[seg], y0[seg], y1[seg]
    wx, wy = x1 - x0, y1 - y0
    key = window_bucket(wy, size) * (size + 1) + window_bucket(wx, size)
    sig2 = sigma * sigma
    for kv in np.unique(key):
        by, bx = divmod(int(kv), size + 1)
        grp = np.flatnonzero(key == kv)
        rx, ry = np.arange(bx, dtype=np.int64), np.arange(by, dtype=np.int64)
        step = max(1, _CHUNK_ELEMENTS // (bx * by))
        for s in range(0, len(grp), step):
            g = grp[s:s + step]
            ix = x0[g, None] + rx  # (M, bx)
            iy = y0[g, None] + ry  # (M, by)
            d2 = segment_d2_mmaction2(ix.astype(F32), iy.astype(F32), pa[g], pb[g], lab[g])
            val = np.exp(-d2.astype(np.float64) / 2.0 / sig2) * coeff[g, None, None].astype(
                np.float64)
            inside = (iy < y1[g, None])[:, :, None] & (ix < x1[g, None])[:, None, :]
            keep = np.flatnonzero(inside)
            idx = (base[g, None, None] + iy[:, :, None] * size + ix[:, None, :]).ravel()
            _max_write(flat, idx.take(keep), val.ravel().take(keep).astype(F32))


def squared_length_mmaction2(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """Squared segment lengths ``(ax - bx)**2 + (ay - by)**2`` as mmaction2 computes them.

    mmaction2 squares numpy float32 *scalars*, and numpy's float32 scalar power
    (libm ``powf``) is not always the correctly rounded ``x * x`` (about 0.1% of
    values differ by one ulp), which decides the projection of every pixel of the
    limb. So the squares are taken one scalar at a time, exactly as there.

    Args:
        pa: ``(M, 2)`` float32 start points.
        pb: ``(M, 2)`` float32 end points.

    Returns:
        ``(M,)`` float32.
    """
    d = (np.asarray(pa, F32) - np.asarray(pb, F32)).ravel()
    sq = np.fromiter((v ** 2 for v in d), dtype=F32, count=d.size).reshape(-1, 2)
    return sq[:, 0] + sq[:, 1]


def segment_d2_mmaction2(xs: np.ndarray, ys: np.ndarray, pa: np.ndarray, pb: np.ndarray,
                         lab: np.ndarray) -> np.ndarray:
    """Squared distance of window pixels to segments, in mmaction2's float32 operation order.

    Args:
        xs: ``(M, wx)`` float32 pixel x coordinates.
        ys: ``(M, wy)`` float32 pixel y coordinates.
        pa: ``(M, 2)`` float32 start points.
        pb: ``(M, 2)`` float32 end points.
        lab: ``(M,)`` float32 squared segment lengths (``>= 1``).

    Returns:
        ``(M, wy, wx)`` float32.
    """
    ax, ay = pa[:, 0, None], pa[:, 1, None]
    bx, by = pb[:, 0, None], pb[:, 1, None]
    dxa, dya = xs - ax, ys - ay
    dxb, dyb = xs - bx, ys - by
    d_a = (dya * dya)[:, :, None] + (dxa * dxa)[:, None, :]
    d_b = (dyb * dyb)[:, :, None] + (dxb * dxb)[:, None, :]
    lab3 = lab[:, None, None]
    u = ((d_a - d_b) + lab3) / F32(2) / lab3
    px = ax[:, :, None] + u * (bx - ax)[:, :, None]
    py = ay[:, :, None] + u * (by - ay)[:, :, None]
    ex, ey = xs[:, None, :] - px, ys[:, :, None] - py
    d_l = ex * ex + ey * ey
    return np.where(u <= 0, d_a, np.where(u >= 1, d_b, d_l))


def _max_write(flat, idx, val) -> None:
    """``flat[idx] = max(flat[idx], val)`` (indices are unique within one call)."""
    flat[idx] = np.maximum(flat[idx], val)


__all__ = ["render_heatmaps_mmaction2", "window_bounds", "max_window", "segment_d2_mmaction2",
           "squared_length_mmaction2"]
