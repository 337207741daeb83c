"""Pose distances and negative sets for the pose-contrastive loss (numpy).

Definition (the pose-contrastive segmentation loss; references in
``docs/glossary.md``): for normalized poses ``p_t`` and ``p_j`` (``(K, 2)``, see
:mod:`posetools.normalize`),

``d(t, j) = mean over joints v valid in both of || p_t(v) - p_j(v) ||_2``

i.e. the mean per-joint Euclidean distance (MPJPE) over the joints both poses
have. Conventions:

* ``d(t, t) = 0`` for every ``t`` (also for a frame without a valid joint).
* ``d(t, j) = +inf`` for ``t != j`` when the two poses share no valid joint: they
  cannot be shown similar, so they count as dissimilar (negatives for any delta).
* ``d`` is symmetric, bit for bit (the same operations in the same order).

Negative set of anchor ``t``: ``{j != t : d(t, j) >= delta}``; its positive is
``{t}``. With ``delta = 0`` every ``j != t`` is a negative: the vanilla
contrastive set.

Memory: everything is computed in tiles of ``block x col_block`` pairs with one
joint at a time, so the temporaries are ``O(block * col_block)`` whatever ``T``
is. For ``T = 20,000`` use :func:`iter_pose_distance_blocks` or the ``rows``
argument (e.g. the anchors of a batch) instead of the dense ``T x T`` matrix
(1.6 GB as float32).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .errors import ConfigError, ShapeError


def _prepare(poses: np.ndarray, valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(poses)
    if p.ndim != 3 or p.shape[-1] != 2:
        raise ShapeError(f"poses: expected (T, K, 2), got {p.shape}")
    ok = np.isfinite(p).all(axis=-1)
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        if v.shape != p.shape[:2]:
            raise ShapeError(f"valid: expected {p.shape[:2]}, got {v.shape}")
        ok &= v
    p = np.where(ok[..., None], p, 0.0).astype(np.float32)
    return p, ok


def _rows_index(rows, t: int) -> np.ndarray:
    if rows is None:
        return np.arange(t)
    if isinstance(rows, slice):
        return np.arange(t)[rows]
    r = np.asarray(rows)
    if r.dtype == bool:
        if r.shape != (t,):
            raise ShapeError(f"rows: boolean mask must be ({t},), got {r.shape}")
        return np.flatnonzero(r)
    r = r.astype(np.int64).ravel()
    if r.size and (r.min() < -t or r.max() >= t):
        raise ShapeError(f"rows: index out of range for T={t}")
    return np.where(r < 0, r + t, r)


def _tile(pa: np.ndarray, ma: np.ndarray, pb: np.ndarray, mb: np.ndarray) -> np.ndarray:
    """Distances between rows of ``a`` ``(n, K, 2)`` and ``b`` ``(c, K, 2)``: ``(n, c)``."""
    n, c, k = pa.shape[0], pb.shape[0], pa.shape[1]
    acc = np.zeros((n, c), dtype=np.float32)
    both = np.empty((n, c), dtype=bool)
    cnt = np.zeros((n, c), dtype=np.int32)
    for v in range(k):
        np.logical_and(ma[:, v, None], mb[None, :, v], out=both)
        dx = pa[:, v, 0, None] - pb[None, :, v, 0]
        dy = pa[:, v, 1, None] - pb[None, :, v, 1]
        dx *= dx
        dy *= dy
        dx += dy
        np.sqrt(dx, out=dx)
        dx[~both] = 0.0
        acc += dx
        cnt += both
    with np.errstate(invalid="ignore", divide="ignore"):
        out = acc / cnt
    out[cnt == 0] = np.inf
    return out


def iter_pose_distance_blocks(
    poses: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    rows=None,
    block: int = 256,
    col_block: int = 4096,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield the distance matrix a block of rows at a time.

    Args:
        poses: ``(T, K, 2)`` normalized poses (NaN = missing joint).
        valid: Optional ``(T, K) bool`` joint validity (ANDed with finiteness).
        rows: Anchors: ``None`` (all), a slice, indices or a ``(T,)`` bool mask.
        block: Anchors per yielded block.
        col_block: Columns per tile (bounds temporaries to ``block x col_block``).

    Yields:
        ``(row_indices (b,) int64, distances (b, T) float32)``.
    """
    p, ok = _prepare(poses, valid)
    t = p.shape[0]
    idx = _rows_index(rows, t)
    if block < 1 or col_block < 1:
        raise ConfigError("block and col_block must be >= 1")
    for lo in range(0, idx.size, block):
        r = idx[lo : lo + block]
        out = np.empty((r.size, t), dtype=np.float32)
        pa, ma = p[r], ok[r]
        for c0 in range(0, t, col_block):
            c1 = min(t, c0 + col_block)
            out[:, c0:c1] = _tile(pa, ma, p[c0:c1], ok[c0:c1])
        out[np.arange(r.size), r] = 0.0
        yield r, out


def pose_distance_matrix(
    poses: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    rows=None,
    block: int = 256,
    col_block: int = 4096,
) -> np.ndarray:
    """Pose distances ``d(t, j)`` between the anchor rows and every frame.

    Args:
        poses: ``(T, K, 2)`` normalized poses (NaN = missing joint).
        valid: Optional ``(T, K) bool`` joint validity.
        rows: Anchors (default all: the dense ``(T, T)`` matrix).
        block: Anchors per tile.
        col_block: Columns per tile.

    Returns:
        ``(R, T) float32`` (see the module docstring for the conventions).
    """
    p, _ = _prepare(poses, None)
    parts = [d for _, d in iter_pose_distance_blocks(poses, valid, rows=rows, block=block,
                                                      col_block=col_block)]
    if not parts:
        return np.zeros((0, p.shape[0]), dtype=np.float32)
    return np.concatenate(parts, axis=0)


def negative_mask(
    poses: np.ndarray,
    delta: float,
    valid: np.ndarray | None = None,
    *,
    rows=None,
    block: int = 256,
    col_block: int = 4096,
) -> np.ndarray:
    """Negatives of each anchor: ``{j != t : d(t, j) >= delta}``.

    Args:
        poses: ``(T, K, 2)`` normalized poses.
        delta: Pose-distance threshold (``0``: all ``j != t``, the vanilla set).
        valid: Optional ``(T, K) bool`` joint validity.
        rows: Anchors (default all: ``(T, T)`` bool, 1 byte per pair).
        block: Anchors per tile.
        col_block: Columns per tile.

    Returns:
        ``(R, T) bool``; ``mask[i, j]`` is True iff frame ``j`` is a negative of
        anchor ``rows[i]``.
    """
    if not delta >= 0:
        raise ConfigError(f"delta: must be >= 0, got {delta}")
    p, _ = _prepare(poses, None)
    parts = []
    for r, d in iter_pose_distance_blocks(poses, valid, rows=rows, block=block,
                                          col_block=col_block):
        m = d >= delta
        m[np.arange(r.size), r] = False
        parts.append(m)
    if not parts:
        return np.zeros((0, p.shape[0]), dtype=bool)
    return np.concatenate(parts, axis=0)


__all__ = ["pose_distance_matrix", "iter_pose_distance_blocks", "negative_mask"]
