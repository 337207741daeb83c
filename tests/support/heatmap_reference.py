"""A deliberately plain per-joint / per-limb Python loop renderer.

It is the baseline that ``posetools.heatmaps.render_heatmaps`` is checked and
benchmarked against (``tests/test_heatmaps.py``, ``benchmarks/heatmaps.py``). It
follows the semantics of mmaction2's ``GeneratePoseTarget`` one Gaussian at a
time (own code, written from the documented behaviour):

* ``cutoff="disc"`` (default): posetools semantics: zero beyond 3 sigma from the
  point/segment, sub-pixel limbs as a point with ``min(c_a, c_b)``, ``K + L``
  channels.
* ``cutoff="mmaction2"``: mmaction2's rectangular windows
  ``[int(mu - 3 sigma), int(mu + 3 sigma)]`` (no disc cut) and a sub-pixel limb
  drawn with the start joint's score; used by the benchmark to report how far
  posetools is from mmaction2's exact pixels.
"""

from __future__ import annotations

import math

import numpy as np


def reference_heatmaps(
    keypoints: np.ndarray,
    scores: np.ndarray,
    *,
    size: int,
    sigma: float,
    joints: bool = True,
    limbs=(),
    use_score: bool = True,
    min_score: float = 1e-4,
    valid: np.ndarray | None = None,
    cutoff: str = "disc",
) -> np.ndarray:
    """``(T, C, S, S) float32`` heatmaps, one Gaussian at a time."""
    kps = np.asarray(keypoints, np.float32)
    scs = np.asarray(scores, np.float32)
    n_t, n_p, n_k = scs.shape
    limbs = [tuple(int(v) for v in limb) for limb in limbs]
    n_c = (n_k if joints else 0) + len(limbs)
    out = np.zeros((n_t, n_c, size, size), np.float32)
    off = n_k if joints else 0
    for t in range(n_t):
        for p in range(n_p):
            if valid is not None and not valid[t, p]:
                continue

            def ok(k, t=t, p=p):
                return bool(np.isfinite(kps[t, p, k]).all()) and scs[t, p, k] >= min_score

            def value(k, t=t, p=p):
                return float(scs[t, p, k]) if use_score else 1.0

            if joints:
                for k in range(n_k):
                    if ok(k):
                        _point(out[t, k], kps[t, p, k], value(k), sigma, cutoff)
            for i, (a, b) in enumerate(limbs):
                if ok(a) and ok(b):
                    _limb(out[t, off + i], kps[t, p, a], kps[t, p, b], value(a), value(b),
                          sigma, cutoff)
    return out


def _window(lo: float, hi: float, size: int, cutoff: str) -> tuple[int, int]:
    if cutoff == "mmaction2":
        return max(int(lo), 0), min(int(hi) + 1, size)
    return max(math.floor(lo), 0), min(math.floor(hi) + 2, size)


def _point(arr, center, v, sigma, cutoff):
    size = arr.shape[0]
    x0, x1 = _window(float(center[0]) - 3 * sigma, float(center[0]) + 3 * sigma, size, cutoff)
    y0, y1 = _window(float(center[1]) - 3 * sigma, float(center[1]) + 3 * sigma, size, cutoff)
    if x0 >= x1 or y0 >= y1:
        return
    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    dx = xs - center[0]
    dy = ys - center[1]
    d2 = dx * dx + dy * dy
    patch = np.exp(-d2 / np.float32(2 * sigma * sigma)) * np.float32(v)
    if cutoff == "disc":
        patch = np.where(d2 <= np.float32(9 * sigma * sigma), patch, np.float32(0))
    arr[y0:y1, x0:x1] = np.maximum(arr[y0:y1, x0:x1], patch)


def _limb(arr, a, b, va, vb, sigma, cutoff):
    size = arr.shape[0]
    amp = min(va, vb)
    d = b - a
    len2 = d[0] * d[0] + d[1] * d[1]
    if len2 < 1:
        _point(arr, a, va if cutoff == "mmaction2" else amp, sigma, cutoff)
        return
    x0, x1 = _window(float(min(a[0], b[0])) - 3 * sigma, float(max(a[0], b[0])) + 3 * sigma,
                     size, cutoff)
    y0, y1 = _window(float(min(a[1], b[1])) - 3 * sigma, float(max(a[1], b[1])) + 3 * sigma,
                     size, cutoff)
    if x0 >= x1 or y0 >= y1:
        return
    # distance to the segment from the pixel's coordinates along (u) and across (v) it
    ln64 = math.sqrt(float(len2))  # float64, rounded to float32 (as posetools does)
    ln = np.float32(ln64)
    cu, su = np.float32(float(d[0]) / ln64), np.float32(float(d[1]) / ln64)
    px = np.arange(x0, x1, dtype=np.float32)[None, :] - a[0]
    py = np.arange(y0, y1, dtype=np.float32)[:, None] - a[1]
    u = px * cu + py * su
    v = px * su - py * cu
    w = u - np.minimum(np.maximum(u, np.float32(0)), ln)
    d2 = v * v + w * w
    patch = np.exp(-d2 / np.float32(2 * sigma * sigma)) * np.float32(amp)
    if cutoff == "disc":
        patch = np.where(d2 <= np.float32(9 * sigma * sigma), patch, np.float32(0))
    arr[y0:y1, x0:x1] = np.maximum(arr[y0:y1, x0:x1], patch)
