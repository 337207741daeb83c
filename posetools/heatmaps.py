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
from dataclasses import dataclass

import numpy as np

from .errors import ShapeError, check_shape
from .skeletons import SkeletonLayout

DEFAULT_MIN_SCORE = 1e-4
"""Scores below this are treated as missing (mmaction2's ``eps``)."""

_CHUNK_ELEMENTS = 1 << 22
"""Upper bound on window pixels computed at once (bounds temporary memory)."""


# --------------------------------------------------------------------------- crop
@dataclass(frozen=True)
class CropBox:
    """An axis-aligned box in source pixels mapped onto an ``S x S`` heatmap grid.

    A source point ``(x, y)`` maps to grid ``((x - x0) * S / w, (y - y0) * S / h)``
    with ``w = x1 - x0``, ``h = y1 - y0``; :meth:`to_source` inverts it exactly
    (up to float rounding).

    Attributes:
        x0: Left edge (source pixels).
        y0: Top edge.
        x1: Right edge (``> x0``).
        y1: Bottom edge (``> y0``).
    """

    x0: float
    y0: float
    x1: float
    y1: float

    def __post_init__(self) -> None:
        if not (self.x1 > self.x0 and self.y1 > self.y0):
            raise ValueError(f"crop box: empty box {self.as_array().tolist()}")

    @property
    def width(self) -> float:
        """Box width in source pixels."""
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        """Box height in source pixels."""
        return self.y1 - self.y0

    def scale(self, size: int) -> tuple[float, float]:
        """Grid pixels per source pixel ``(sx, sy)`` for an ``size x size`` grid."""
        return size / self.width, size / self.height

    def as_array(self) -> np.ndarray:
        """``(4,) float64`` ``[x0, y0, x1, y1]``."""
        return np.array([self.x0, self.y0, self.x1, self.y1], dtype=np.float64)

    @staticmethod
    def from_array(box: Sequence[float] | np.ndarray) -> CropBox:
        """Inverse of :meth:`as_array`."""
        x0, y0, x1, y1 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
        return CropBox(x0, y0, x1, y1)

    def to_grid(self, keypoints: np.ndarray, size: int) -> np.ndarray:
        """Map source-pixel keypoints ``(..., 2)`` to grid pixels (float32, NaN kept)."""
        sx, sy = self.scale(size)
        kp = np.asarray(keypoints, dtype=np.float64)
        out = (kp - np.array([self.x0, self.y0])) * np.array([sx, sy])
        return out.astype(np.float32)

    def to_source(self, keypoints: np.ndarray, size: int) -> np.ndarray:
        """Map grid-pixel keypoints ``(..., 2)`` back to source pixels (float32)."""
        sx, sy = self.scale(size)
        kp = np.asarray(keypoints, dtype=np.float64)
        out = kp / np.array([sx, sy]) + np.array([self.x0, self.y0])
        return out.astype(np.float32)


def joint_mask(
    keypoints: np.ndarray,
    scores: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
) -> np.ndarray:
    """Which joints count: finite coordinates, score >= ``min_score``, valid person.

    Args:
        keypoints: ``(..., P, K, 2)``.
        scores: ``(..., P, K)``.
        valid: ``(..., P)`` bool or ``None`` (all slots valid).
        min_score: Score threshold.

    Returns:
        ``(..., P, K)`` bool.
    """
    kp = np.asarray(keypoints)
    sc = np.asarray(scores)
    if kp.shape[:-1] != sc.shape or kp.shape[-1] != 2:
        raise ShapeError(f"keypoints {kp.shape} and scores {sc.shape} do not match (..., K, 2)")
    m = np.isfinite(kp).all(axis=-1) & (sc >= min_score)
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        if v.shape != sc.shape[:-1]:
            raise ShapeError(f"valid {v.shape} does not match scores {sc.shape[:-1]} (..., P)")
        m &= v[..., None]
    return m


def compute_crop(
    keypoints: np.ndarray,
    scores: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    frame_size: tuple[int, int] | None = None,
    padding: float = 1.25,
    square: bool = True,
    min_size: float = 10.0,
    min_score: float = DEFAULT_MIN_SCORE,
) -> CropBox:
    """The crop of a whole sequence: union box of every valid keypoint, padded.

    mmaction2 ``PoseCompact`` semantics: the union box is scaled by ``padding``
    about its centre and, with ``square``, widened to a square of its longer side
    (``hw_ratio=1``); the box may extend outside the frame. When the union box is
    narrower or shorter than ``min_size`` (or there is no valid keypoint) there is
    no crop: the full frame is used (centred square of side ``max(W, H)`` when
    ``square``). Without ``frame_size`` (e.g. normalized coordinates) a too-small
    padded box is grown to ``min_size`` about its centre instead.

    Args:
        keypoints: ``(T, P, K, 2)`` source pixels, NaN for missing.
        scores: ``(T, P, K)``.
        valid: ``(T, P)`` bool or ``None``.
        frame_size: ``(width, height)`` of the frame, or ``None``.
        padding: Box scale factor (``>= 1``; mmaction2's ``1 + padding``).
        square: Make the box square.
        min_size: Minimum box side (source units) below which nothing is cropped.
        min_score: Joints below this score are ignored.

    Returns:
        The crop box.
    """
    check_shape("keypoints", keypoints, ("T", "P", "K", 2))
    m = joint_mask(keypoints, scores, valid, min_score=min_score)
    pts = np.asarray(keypoints, dtype=np.float64)[m]
    if len(pts):
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        ext = hi - lo
    if not len(pts) or ext[0] < min_size or ext[1] < min_size:
        if frame_size is not None:
            w, h = float(frame_size[0]), float(frame_size[1])
            if square:
                side = max(w, h)
                return CropBox((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
            return CropBox(0.0, 0.0, w, h)
        if not len(pts):
            side = max(float(min_size), 1.0)
            return CropBox(0.0, 0.0, side, side)
        half = np.maximum(np.maximum(ext * padding, min_size), 1e-6) / 2
    else:
        half = ext / 2 * padding
    center = (lo + hi) / 2
    if square:
        half = np.array([half.max(), half.max()])
    return CropBox(
        float(center[0] - half[0]), float(center[1] - half[1]),
        float(center[0] + half[0]), float(center[1] + half[1]),
    )


# ---------------------------------------------------------------------- channels
def channel_names(layout: SkeletonLayout, *, joints: bool = True, limbs: bool = False) -> list[str]:
    """Names of the heatmap channels: joint names, then ``"a-b"`` limb names."""
    out = list(layout.joints) if joints else []
    if limbs:
        out += [f"{layout.joints[a]}-{layout.joints[b]}" for a, b in layout.limbs]
    return out


def channel_flip_permutation(
    layout: SkeletonLayout, *, joints: bool = True, limbs: bool = False
) -> np.ndarray:
    """Channel permutation for a horizontal flip.

    Returns:
        ``(C,) int64`` ``perm`` with ``flipped[:, c] = mirror(maps[:, perm[c]])``.
    """
    parts = []
    if joints:
        parts.append(layout.flip_permutation())
    if limbs:
        off = layout.num_joints if joints else 0
        parts.append(layout.limb_flip_permutation() + off)
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


# --------------------------------------------------------------------- rendering
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
    if not sigma > 0:
        raise ValueError("sigma: must be > 0")
    if size < 1:
        raise ValueError("size: must be >= 1")
    limb_arr = np.asarray(limbs, dtype=np.int64).reshape(-1, 2)
    if len(limb_arr) and (limb_arr.min() < 0 or limb_arr.max() >= k_):
        raise ShapeError(f"limbs: joint index out of range for K={k_}")
    n_l = len(limb_arr)
    c_ = (k_ if joints else 0) + n_l
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
