"""SST-A joint-level selection (thesis eq. 3.1) as a finite-state recursion.

For one person track, the state of joint ``v`` at row ``r`` is the expert selected
(or "missing"). :func:`selection_tables` builds, vectorized over rows, joints and
experts, the table "selected expert at row ``r`` given the state at row ``r - 1``";
:func:`follow_tables` runs the recursion through them in ``O(sqrt(R))`` Python steps.
The rules themselves are documented in :mod:`posetools.aggregate.ssta`.
"""

from __future__ import annotations

import numpy as np

_CHUNK = 8192  # rows per block when building the transition tables (bounds memory)


def _argmin_experts(d2: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Running argmin over a list of equally shaped arrays (first index wins ties)."""
    best = np.zeros(d2[0].shape, dtype=np.int8)
    bestd = d2[0].copy()
    for i in range(1, len(d2)):
        better = d2[i] < bestd
        best[better] = i
        np.minimum(bestd, d2[i], out=bestd)
    return best, bestd


def _first_frame_rule(px: np.ndarray, py: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Eq. 3.1, first frame, for every row at once.

    Args:
        px: ``(R, K, M)`` x coordinates (non-candidates zeroed).
        py: ``(R, K, M)`` y coordinates.
        cand: ``(R, K, M)`` candidates.

    Returns:
        ``(R, K) int8`` selected expert, ``M`` when there is no candidate.
    """
    m = cand.shape[-1]
    any_c = cand.any(axis=-1)
    single = np.where(any_c, np.argmax(cand, axis=-1), m).astype(np.int8)
    if m < 2:
        return single
    ia, ib = np.triu_indices(m, 1)
    d2 = []
    for a, b in zip(ia, ib, strict=True):
        dx = px[:, :, a] - px[:, :, b]
        dy = py[:, :, a] - py[:, :, b]
        d = dx * dx
        d += dy * dy
        d[~(cand[:, :, a] & cand[:, :, b])] = np.inf
        d2.append(d)
    best, bestd = _argmin_experts(d2)
    return np.where(np.isfinite(bestd), ia.astype(np.int8)[best], single)


def selection_tables(
    px: np.ndarray, py: np.ndarray, cand: np.ndarray, restart: np.ndarray
) -> np.ndarray:
    """Selection as a function of the previous state, for every row.

    Args:
        px: ``(R, K, M)`` x coordinates of the active rows (non-candidates zeroed).
        py: ``(R, K, M)`` y coordinates.
        cand: ``(R, K, M)`` candidates.
        restart: ``(R,) bool`` rows that ignore the previous state.

    Returns:
        ``(R, K, M + 1) int8``: ``tab[r, v, j]`` is the expert selected at row ``r``
        when expert ``j`` was selected at row ``r - 1`` (``j = M``: missing), ``M``
        meaning no candidate.
    """
    r, k, m = cand.shape
    tab = np.empty((r, k, m + 1), dtype=np.int8)
    for lo in range(0, r, _CHUNK):
        hi = min(r, lo + _CHUNK)
        c = cand[lo:hi]
        first = _first_frame_rule(px[lo:hi], py[lo:hi], c)
        tab[lo:hi, :, m] = first
        plo = max(lo - 1, 0)  # row 0 restarts: its "previous" row is irrelevant
        qx = px[plo : hi - 1]
        qy = py[plo : hi - 1]
        if lo == 0:
            qx = np.concatenate([px[:1], qx])
            qy = np.concatenate([py[:1], qy])
        # d2[e][r, v, j] = |x_e(r, v) - x_j(r - 1, v)|^2 for candidate e
        d2 = []
        for e in range(m):
            dx = qx - px[lo:hi, :, e, None]
            dy = qy - py[lo:hi, :, e, None]
            d = dx * dx
            d += dy * dy
            d[~c[:, :, e]] = np.inf
            d2.append(d)
        best, _ = _argmin_experts(d2)  # (rows, K, M)
        best[~c.any(axis=-1)] = m
        tab[lo:hi, :, :m] = best
        rs = np.flatnonzero(restart[lo:hi])
        if rs.size:
            tab[lo + rs] = first[rs][:, :, None]
    return tab


def follow_tables(tab: np.ndarray) -> np.ndarray:
    """Follow the tables from the "missing" state: ``s_r = tab[r, v, s_{r-1}]``.

    The rows are cut into ``nb`` blocks of ``B ~ sqrt(R)`` rows. First, for every
    block at once, the recursion is run from each of the ``M + 1`` possible entry
    states (``B`` vectorized steps); then the actual entry state of each block is
    chained through the blocks (``nb`` small steps). ``O(sqrt(R))`` Python steps.

    Returns:
        ``(R, K) int64`` states.
    """
    r, k, m1 = tab.shape
    if r == 0:
        return np.empty((0, k), dtype=np.int64)
    b = max(1, int(np.ceil(np.sqrt(r))))
    nb = -(-r // b)
    pad = nb * b - r
    if pad:
        ident = np.broadcast_to(np.arange(m1, dtype=tab.dtype), (pad, k, m1))
        tab = np.concatenate([tab, ident])
    # t3[i, (blk, v, j)]: table of row i of block blk, flattened per row-in-block
    t3 = np.ascontiguousarray(tab.reshape(nb, b, k * m1).transpose(1, 0, 2)).reshape(b, -1)
    base = np.repeat(np.arange(nb * k, dtype=np.intp) * m1, m1)
    # states[i, blk, v, e]: state after row i of block blk when it was entered in state e
    states = np.empty((b, nb * k * m1), dtype=np.intp)
    cur = np.tile(np.arange(m1, dtype=np.intp), nb * k)
    for i in range(b):
        np.add(base, cur, out=cur)
        states[i] = t3[i].take(cur)
        cur = states[i].copy()
    states = states.reshape(b, nb, k, m1)
    entry = np.empty((nb, k), dtype=np.intp)
    e = np.full(k, m1 - 1, dtype=np.intp)
    ar = np.arange(k)
    last = states[b - 1]
    for blk in range(nb):
        entry[blk] = e
        e = last[blk, ar, e]
    out = np.take_along_axis(states, entry[None, :, :, None], axis=-1)[..., 0]  # (B, nb, K)
    return out.transpose(1, 0, 2).reshape(nb * b, k)[:r].astype(np.int64)
