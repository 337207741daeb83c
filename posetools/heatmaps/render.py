"""Pseudo-heatmaps from keypoints: crop, then render joint and limb Gaussians (numpy).

Coordinates are heatmap pixels: pixel ``(i, j)`` (column ``i``, row ``j``) is
centred on ``x = i``, ``y = j``, as in mmaction2.

* **Joint map** of joint ``k`` (eq. 1)::

      h_k(i, j) = c_k * exp(-((i - x_k)^2 + (j - y_k)^2) / (2 sigma^2))

* **Limb map** of limb ``(a, b)`` (eq. 2): the same Gaussian of the distance
  from ``(i, j)`` to the segment ``[p_a, p_b]``, times ``min(c_a, c_b)``. A limb
  shorter than one pixel (``|p_a - p_b|^2 < 1``) is drawn as a point at ``p_a``.

``c`` is the keypoint score (``use_score=True``) or 1. Every map is cut to
**exact zero where the distance exceeds 3 sigma** (a disc around a joint, a
capsule around a limb); several persons merge by **max**. A joint contributes
nothing when its coordinates are not finite, its score is below ``min_score``
or its person slot is not valid; a limb needs both its joints. Channels are the
``K`` joint maps (if ``joints``) followed by the ``L`` limb maps (if ``limbs``).

This follows mmaction2's ``GeneratePoseTarget`` (sigma in output pixels, max
merge, near-zero scores skipped) with three deliberate differences, all
documented in ``docs/formats.md``: joints *and* limbs give ``K + L`` channels
(mmaction2 writes limbs over the joint channels); the cut-off is the 3 sigma
disc/capsule, where mmaction2 keeps the rectangular window around it (values
below ``exp(-4.5) c ~ 0.011 c``, plus one extra row/column on the low side from
its ``int()`` truncation); a sub-pixel limb uses ``min(c_a, c_b)`` like every
other limb pixel (mmaction2 uses ``c_a``).

Implementation: joints are splatted as small windows, each the outer product of
two 1D Gaussians (separable), limbs as windows bucketed by size; all in float32,
vectorized over frames/joints/limbs, looping only over person slots.
:mod:`posetools.torch.render` implements the same math in torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError, ShapeError, check_shape
from .crop import DEFAULT_MIN_SCORE, joint_mask

_CHUNK_ELEMENTS = 1 << 22
"""Upper bound on window pixels computed at once (bounds temporary memory)."""


def render_channels(kp_shape: Sequence[int], sc_shape: Sequence[int], *, size: int,
                    sigma: float, joints: bool,
                    limbs: Sequence[tuple[int, int]] | np.ndarray) -> tuple[np.ndarray, int]:
    """Check the arguments every renderer shares (numpy and torch, both styles).

    Args:
        kp_shape: Shape of the keypoints, ``(..., P, K, 2)``.
        sc_shape: Shape of the scores, ``(..., P, K)``.
        size: Grid side ``S`` (>= 1).
        sigma: Gaussian sigma (> 0).
        joints: Whether the ``K`` joint channels are emitted.
        limbs: ``(L, 2)`` joint index pairs (array-like on the host).

    Returns:
        ``(limbs (L, 2) int64, C)`` with ``C = K * joints + L``.

    Raises:
        ShapeError: Bad shapes or a limb index outside ``[0, K)``.
        ConfigError: ``sigma <= 0`` or ``size < 1``.
    """
    kp_shape, sc_shape = tuple(kp_shape), tuple(sc_shape)
    if len(kp_shape) < 3 or kp_shape[-1] != 2:
        raise ShapeError(f"keypoints: expected shape (..., P, K, 2), got {kp_shape}")
    if sc_shape != kp_shape[:-1]:
        raise ShapeError(f"scores: expected shape {kp_shape[:-1]}, got {sc_shape}")
    if not sigma > 0:
        raise ConfigError("sigma: must be > 0")
    if size < 1:
        raise ConfigError("size: must be >= 1")
    n_k = kp_shape[-2]
    limb_arr = np.asarray(limbs, dtype=np.int64).reshape(-1, 2)
    if len(limb_arr) and (limb_arr.min() < 0 or limb_arr.max() >= n_k):
        raise ShapeError(f"limbs: joint index out of range for K={n_k}")
    return limb_arr, (n_k if joints else 0) + len(limb_arr)


def render_heatmaps(
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
    """Render joint and limb pseudo-heatmaps (see the module docstring).

    Args:
        keypoints: ``(T, P, K, 2)`` float, **grid** pixels (see :meth:`CropBox.to_grid`).
        scores: ``(T, P, K)`` float in [0, 1].
        size: Grid side ``S``.
        sigma: Gaussian sigma in grid pixels.
        joints: Emit the ``K`` joint channels.
        limbs: ``(L, 2)`` joint index pairs; emits ``L`` limb channels after the joints.
        use_score: Scale each map by the score (else by 1).
        min_score: Joints with a lower score are missing.
        valid: ``(T, P)`` bool person-slot validity, or ``None``.
        dtype: Output dtype (computed in float32, cast at the end).

    Returns:
        ``(T, C, S, S)`` with ``C = K * joints + L``.
    """
    check_shape("keypoints", keypoints, ("T", "P", "K", 2))
    t_, p_, k_ = keypoints.shape[:3]
    check_shape("scores", scores, (t_, p_, k_))
    limb_arr, c_ = render_channels(keypoints.shape, scores.shape, size=size, sigma=sigma,
                                   joints=joints, limbs=limbs)
    n_l = len(limb_arr)
    plane = size * size
    flat = np.zeros(t_ * c_ * plane, dtype=np.float32)
    mask = joint_mask(keypoints, scores, valid, min_score=min_score)
    amp = np.where(mask, np.asarray(scores, np.float32) if use_score else np.float32(1), 0)
    amp = amp.astype(np.float32)
    kp = np.where(mask[..., None], np.asarray(keypoints, np.float32), np.float32(0))
    frame_base = (np.arange(t_, dtype=np.int64) * c_ * plane)[:, None]
    for p in range(p_):
        if joints:
            base = frame_base + np.arange(k_, dtype=np.int64)[None, :] * plane  # (T, K)
            sel = amp[:, p] > 0
            _splat_points(flat, base[sel], kp[:, p, :, 0][sel], kp[:, p, :, 1][sel],
                          amp[:, p][sel], size, sigma)
        if n_l:
            off = k_ if joints else 0
            base = frame_base + (off + np.arange(n_l, dtype=np.int64))[None, :] * plane
            a, b = limb_arr[:, 0], limb_arr[:, 1]
            la = np.minimum(amp[:, p, a], amp[:, p, b])  # (T, L)
            sel = la > 0
            _splat_segments(flat, base[sel], kp[:, p, a][sel], kp[:, p, b][sel], la[sel],
                            size, sigma)
    out = flat.reshape(t_, c_, size, size)
    return out if np.dtype(dtype) == np.float32 else out.astype(dtype)


def point_window(sigma: float) -> int:
    """Side of the square window that holds every pixel within 3 sigma of a point."""
    return int(math.floor(6 * sigma)) + 2


def cutoff_sq(sigma: float) -> np.float32:
    """``(3 sigma)^2`` in float32 (same value in the numpy and torch paths)."""
    return np.float32(9.0 * sigma * sigma)


_FAR = np.float32(-1e4)
"""Coordinate given to window pixels outside the grid: their distance exceeds any cut-off."""


def _grid_coords(i: np.ndarray, lo: int, hi: np.ndarray | int) -> np.ndarray:
    """Pixel indices as float32 coordinates, :data:`_FAR` where outside ``[lo, hi]``."""
    return np.where((i >= lo) & (i <= hi), i.astype(np.float32), _FAR)


def _splat_points(flat, base, x, y, amp, size, sigma) -> None:
    """Max-write joint Gaussians; ``base`` (M,) is each map's offset in ``flat``."""
    if len(x) == 0:
        return
    w = point_window(sigma)
    inv = np.float32(1.0 / (2.0 * sigma * sigma))
    thr = cutoff_sq(sigma)
    step = max(1, _CHUNK_ELEMENTS // (w * w))
    r = np.arange(w, dtype=np.int64)
    for s in range(0, len(x), step):
        xs_, ys_, am, bs = x[s:s + step], y[s:s + step], amp[s:s + step], base[s:s + step]
        ix = np.ceil(xs_ - np.float32(3 * sigma)).astype(np.int64)[:, None] + r  # (M, w)
        iy = np.ceil(ys_ - np.float32(3 * sigma)).astype(np.int64)[:, None] + r
        dx = _grid_coords(ix, 0, size - 1) - xs_[:, None]
        dy = _grid_coords(iy, 0, size - 1) - ys_[:, None]
        dx2, dy2 = dx * dx, dy * dy
        keep = np.flatnonzero((dy2[:, :, None] + dx2[:, None, :]) <= thr)
        gx = np.exp(-dx2 * inv)
        gy = np.exp(-dy2 * inv) * am[:, None]
        val = (gy[:, :, None] * gx[:, None, :]).ravel().take(keep)  # separable product
        row = bs[:, None] + iy * size  # (M, w)
        idx = (row[:, :, None] + ix[:, None, :]).ravel().take(keep)
        _max_write(flat, idx, val)


def _splat_segments(flat, base, pa, pb, amp, size, sigma) -> None:
    """Max-write limb Gaussians for segments ``pa -> pb`` (each ``(M, 2)``)."""
    if len(pa) == 0:
        return
    d = pb - pa
    len2 = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]
    short = len2 < 1
    if short.any():
        _splat_points(flat, base[short], pa[short, 0], pa[short, 1], amp[short], size, sigma)
    seg = ~short
    base, pa, pb, d, len2, amp = base[seg], pa[seg], pb[seg], d[seg], len2[seg], amp[seg]
    if len(pa) == 0:
        return
    r3 = np.float32(3 * sigma)
    lo = np.ceil(np.minimum(pa, pb) - r3).astype(np.int64).clip(0, size)  # (M, 2)
    hi = np.floor(np.maximum(pa, pb) + r3).astype(np.int64).clip(-1, size - 1)
    ext = hi - lo + 1  # window size per axis (<= 0: off the grid)
    on = (ext > 0).all(axis=1)
    inv = np.float32(1.0 / (2.0 * sigma * sigma))
    thr = cutoff_sq(sigma)
    ln, cu, su = segment_frame(d, len2)
    key = window_bucket(ext[:, 1], size) * (size + 1) + window_bucket(ext[:, 0], size)
    for kv in np.unique(key[on]):
        wy, wx = divmod(int(kv), size + 1)
        grp = np.flatnonzero(on & (key == kv))
        step = max(1, _CHUNK_ELEMENTS // (wx * wy))
        rx, ry = np.arange(wx, dtype=np.int64), np.arange(wy, dtype=np.int64)
        for s in range(0, len(grp), step):
            g = grp[s:s + step]
            ix = lo[g, 0][:, None] + rx  # (M, wx)
            iy = lo[g, 1][:, None] + ry  # (M, wy)
            px = _grid_coords(ix, 0, hi[g, 0][:, None]) - pa[g, 0][:, None]
            py = _grid_coords(iy, 0, hi[g, 1][:, None]) - pa[g, 1][:, None]
            d2 = segment_d2(px, py, ln[g], cu[g], su[g])
            keep = np.flatnonzero(d2 <= thr)
            m = keep // (wx * wy)
            val = np.exp(-d2.ravel().take(keep) * inv) * amp[g].take(m)
            row = base[g][:, None] + iy * size  # (M, wy)
            idx = (row[:, :, None] + ix[:, None, :]).ravel().take(keep)
            _max_write(flat, idx, val)


def segment_frame(d: np.ndarray, len2: np.ndarray):
    """Length and unit direction of segments ``d = pb - pa`` ``(M, 2)``: ``(ln, cu, su)``.

    Computed in float64 and rounded to float32, so that the numpy and torch
    paths agree exactly (torch's float32 ``sqrt`` is not always correctly
    rounded, and an ulp here moves the cut-off of pixels far from ``pa``).
    """
    ln = np.sqrt(len2.astype(np.float64))
    d64 = d.astype(np.float64)
    return (ln.astype(np.float32), (d64[:, 0] / ln).astype(np.float32),
            (d64[:, 1] / ln).astype(np.float32))


def segment_d2(px, py, ln, cu, su):
    """Squared distance to segments of window pixels.

    With ``u``/``v`` the pixel's coordinates along/across the segment (origin at
    ``pa``), the distance is ``v`` beside the segment and grows by how far ``u``
    lies outside ``[0, ln]`` beyond its ends.

    Args:
        px: ``(M, wx)`` pixel x minus ``pa_x`` (float32).
        py: ``(M, wy)`` pixel y minus ``pa_y``.
        ln: ``(M,)`` segment lengths.
        cu: ``(M,)`` unit direction x.
        su: ``(M,)`` unit direction y.

    Returns:
        ``(M, wy, wx)`` float32.
    """
    cu, su, lnb = cu[:, None], su[:, None], ln[:, None, None]
    u = (px * cu)[:, None, :] + (py * su)[:, :, None]
    v = (px * su)[:, None, :] - (py * cu)[:, :, None]
    w = u - np.minimum(np.maximum(u, np.float32(0)), lnb)
    return v * v + w * w


_LADDER = np.array([4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256])


def window_bucket(n: np.ndarray, size: int) -> np.ndarray:
    """Round window extents up a ~1.25x ladder (then multiples of 64), capped at ``size``."""
    n = np.maximum(n, 1)
    pos = np.searchsorted(_LADDER, n)
    big = ((n + 63) // 64) * 64
    b = np.where(pos < len(_LADDER), _LADDER[np.minimum(pos, len(_LADDER) - 1)], big)
    return np.minimum(b, size)


def _max_write(flat, idx, val) -> None:
    """``flat[idx] = max(flat[idx], val)``.

    Indices are unique (one person slot per call, one map per joint/limb), so
    plain fancy assignment is a correct max-merge.
    """
    flat[idx] = np.maximum(flat[idx], val)
