"""Selective Spatio-Temporal Aggregation (SST-A) of several pose experts.

Thesis ch. 3, eq. 3.1-3.4. All experts are first mapped to one common layout
(default COCO-17). For one person track, joint ``v``, frame ``t`` and the
experts ``k`` that have the joint (its *candidates*):

* **Joint-level selection** (eq. 3.1). At the first frame — and whenever the
  previous aggregated joint is missing, or the track restarts — take the pair of
  candidates ``(a, b)``, ``a < b`` in config order, whose keypoints are closest and
  select ``a`` (the expert listed first: config order is the priority order; a
  single candidate is selected as is). Afterwards select the candidate closest to
  the previous aggregated keypoint ``P_A^{t-1}(v)``. Distances are Euclidean in
  pixels; ties go to the lower expert index (first pair in lexicographic order).
* **Confidence** (eq. 3.4). ``C = exp(-mean_{v,k} D(P_A(v), P_k(v)) /
  (D_normal + 1e-12))`` where the mean runs over the (joint, expert) pairs in
  which both the aggregate and the expert have the joint, restricted to the
  confidence joints (``"all"`` or ``"limbs"`` — every joint off the head/face,
  COCO-17 joints 5-16). With every joint of every expert present this is the
  thesis' ``1/(N M)`` sum. ``D_normal`` is the head-neck distance of the
  aggregate (``"head_neck"``; head and neck as in :mod:`posetools.normalize`) or
  its shoulder width (``"shoulder_width"``). A frame whose normalizer or mean is
  undefined gets ``C = 0``.
* **Selective filter** (eq. 3.3). With ``low_confidence="invalid"`` (thesis) a
  frame with ``C < gamma`` keeps its row but is marked invalid and its pose is
  discarded (NaN, score 0, source -1; its measured ``C`` is kept). With
  ``"zero_confidence"`` (reference script) the pose is kept, valid, with
  ``C = 0``.
* **Gap filling** (optional, ``max_gap > 0``). For each joint, a run of at most
  ``max_gap`` rows where the joint is not usable (frame invalid or joint
  missing), with usable rows on both sides, is filled by linear interpolation of
  coordinates and scores in frame position; filled joints are flagged in
  ``filled``, their ``source_expert`` is -1, a frame with a filled joint becomes
  valid, and its confidence is left as measured (not interpolated).

The recursion is over *active* rows: rows where at least one expert ran (frame
strides, :func:`ssta_aggregate`'s ``ran``). "Previous" means the previous active
row; rows where no expert ran stay empty (unless gap filling fills them). The
selection recursion uses the selected pose of the previous row before the filter
(eq. 3.1 is applied before eq. 3.3), so the selection does not depend on ``gamma``.

Speed: the selection is a per-joint finite-state recursion (state = which expert
was selected, or "missing"). All transition tables are built vectorized over
frames, joints and experts; the remaining loop over frames is one table lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from .config import require
from .errors import ConfigError, ShapeError
from .normalize import (
    HeadDef,
    NeckDef,
    PointDef,
    head_def,
    limb_joints,
    neck_def,
    reference_point,
    shoulders_def,
)
from .skeletons import COCO17, COCO17_SIGMAS, SkeletonLayout, get_layout

ConfidenceJoints = Literal["all", "limbs"]
Normalizer = Literal["head_neck", "shoulder_width"]
LowConfidence = Literal["invalid", "zero_confidence"]
MatchMetric = Literal["oks", "iou"]

_EPS = 1e-12
_CHUNK = 8192  # rows per block when building the transition tables (bounds memory)


@dataclass(frozen=True)
class SSTAConfig:
    """Options of SST-A (defaults: the thesis).

    Attributes:
        gamma: Confidence threshold of the selective filter (eq. 3.3).
        confidence_joints: Joints entering the confidence: ``"all"`` or ``"limbs"``
            (off the head/face; COCO-17 joints 5-16).
        normalizer: ``"head_neck"`` (thesis) or ``"shoulder_width"`` (reference script).
        head: Head point for ``head_neck``: ``"face_centroid"`` (mean of the present
            nose/eyes/ears; default), ``"nose"`` or ``"head_joint"``.
        neck: Neck point: ``"mid_shoulders"`` (default) or ``"neck_joint"``.
        low_confidence: ``"invalid"`` (thesis: discard the pose, keep the row) or
            ``"zero_confidence"`` (reference script: keep the pose with C = 0).
        min_score: A joint scoring below this is not a candidate (a joint with
            score 0 or NaN coordinates never is).
        max_gap: Fill gaps of at most this many rows by linear interpolation (0 = off).
        layout: Common layout every expert is mapped to.
        match_metric: Similarity used to match each expert's instances to the
            reference tracks: ``"oks"`` (keypoint similarity) or ``"iou"`` (IoU of
            the keypoints' bounding boxes).
        match_threshold: Minimum similarity for a match.
    """

    gamma: float = 0.18
    confidence_joints: ConfidenceJoints = "all"
    normalizer: Normalizer = "head_neck"
    head: HeadDef = "face_centroid"
    neck: NeckDef = "mid_shoulders"
    low_confidence: LowConfidence = "invalid"
    min_score: float = 0.0
    max_gap: int = 0
    layout: str = "coco17"
    match_metric: MatchMetric = "oks"
    match_threshold: float = 0.3

    def __post_init__(self) -> None:
        require(0.0 <= self.gamma <= 1.0, "gamma: must be in [0, 1]")
        require(0.0 <= self.min_score <= 1.0, "min_score: must be in [0, 1]")
        require(self.max_gap >= 0, "max_gap: must be >= 0")
        require(0.0 <= self.match_threshold <= 1.0, "match_threshold: must be in [0, 1]")
        try:
            lay = get_layout(self.layout)
        except ConfigError as e:
            raise ValueError(f"layout: {e.message}") from None
        try:
            if self.normalizer == "head_neck":
                head_def(lay, self.head)
        except ConfigError as e:
            raise ValueError(f"head: {e.message}") from None
        try:
            if self.normalizer == "head_neck":
                neck_def(lay, self.neck)
        except ConfigError as e:
            raise ValueError(f"neck: {e.message}") from None
        try:
            if self.normalizer == "shoulder_width":
                shoulders_def(lay)
        except ConfigError as e:
            raise ValueError(f"normalizer: {e.message}") from None
        if self.confidence_joints == "limbs":
            require(limb_joints(lay).size > 0, f"confidence_joints: layout {lay.name} has no limbs")

    @classmethod
    def ssta_prs(cls, **overrides) -> SSTAConfig:
        """The public reference script's choices (SSTA-PRS ``tools/ssta.py``).

        Confidence over the limb joints (COCO-17 5-16), shoulder-width normalizer,
        ``gamma = 0.06``, low-confidence frames kept with confidence 0. Its bugs
        (last frame never aggregated, missing points treated as (0, 0)) are not
        reproduced. Keyword arguments override fields.
        """
        base = cls(gamma=0.06, confidence_joints="limbs", normalizer="shoulder_width",
                   low_confidence="zero_confidence")
        return replace(base, **overrides)


@dataclass(frozen=True)
class SSTAResult:
    """SST-A output for one person track (``T`` rows, ``K`` joints).

    Attributes:
        keypoints: ``(T, K, 2) float32`` aggregated pixels (NaN when missing/discarded).
        scores: ``(T, K) float32`` score of the selected expert's joint (0 when missing).
        source_expert: ``(T, K) int8`` index of the selected expert (-1: none/filled).
        confidence: ``(T,) float32`` eq. 3.4 as measured (also for discarded rows);
            0 for rows without a pose or an undefined normalizer, and for low rows
            with ``low_confidence="zero_confidence"``.
        valid: ``(T,) bool`` rows that hold a kept pose.
        filled: ``(T, K) bool`` joints written by gap filling.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    source_expert: np.ndarray
    confidence: np.ndarray
    valid: np.ndarray
    filled: np.ndarray


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


def _transition_tables(
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


def _run_recursion(tab: np.ndarray) -> np.ndarray:
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


def _confidence(
    pa: np.ndarray, has: np.ndarray, px: np.ndarray, py: np.ndarray, cand: np.ndarray,
    lay: SkeletonLayout, cfg: SSTAConfig,
) -> np.ndarray:
    """Eq. 3.4 for every row: ``(R,) float64`` (0 where undefined)."""
    if cfg.confidence_joints == "limbs":
        jm = np.zeros(lay.num_joints, dtype=bool)
        jm[limb_joints(lay)] = True
    else:
        jm = np.ones(lay.num_joints, dtype=bool)
    use = cand & (has & jm)[..., None]  # (R, K, M)
    pz = np.where(has[..., None], pa, 0.0)
    dx = px - pz[:, :, None, 0]
    dy = py - pz[:, :, None, 1]
    dist = np.sqrt(dx * dx + dy * dy)
    num = np.where(use, dist, 0.0).sum(axis=(1, 2), dtype=np.float64)
    cnt = use.sum(axis=(1, 2))
    if cfg.normalizer == "head_neck":
        a = reference_point(pa, has, head_def(lay, cfg.head))
        b = reference_point(pa, has, neck_def(lay, cfg.neck))
    else:
        left, right = shoulders_def(lay).joints
        a = reference_point(pa, has, PointDef((left,), True))
        b = reference_point(pa, has, PointDef((right,), True))
    dn = np.sqrt(((a - b) ** 2).sum(axis=-1))
    ok = (cnt > 0) & np.isfinite(dn)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.exp(-(num / np.maximum(cnt, 1)) / (dn + _EPS))
    return np.where(ok, c, 0.0)


def ssta_aggregate(
    keypoints: np.ndarray,
    scores: np.ndarray,
    cfg: SSTAConfig = SSTAConfig(),  # noqa: B008 - frozen, immutable default
    *,
    ran: np.ndarray | None = None,
    restart: np.ndarray | None = None,
    frame_pos: np.ndarray | None = None,
) -> SSTAResult:
    """Aggregate M experts' keypoints of ONE person track with SST-A.

    Args:
        keypoints: ``(M, T, K, 2)`` pixels in ``cfg.layout`` (NaN = missing).
        scores: ``(M, T, K)`` in [0, 1] (0 = missing).
        cfg: Options.
        ran: ``(M, T) bool`` whether expert ``k`` ran on row ``t`` (frame strides);
            default all True. Rows where no expert ran are skipped by the recursion.
        restart: ``(T,) bool`` rows where the track restarts (first-frame rule
            for every joint), e.g. where the reference track id changes.
        frame_pos: ``(T,)`` frame positions used as interpolation abscissa by gap
            filling (default ``arange(T)``).

    Returns:
        An :class:`SSTAResult` with exactly ``T`` rows. With ``M == 1`` the single
        expert passes through and its confidence is computed against itself
        (1 wherever the pose and its normalizer exist).

    Raises:
        ShapeError: Inconsistent shapes, ``M == 0`` or ``K`` not the layout's.
    """
    lay = get_layout(cfg.layout)
    x_in = np.asarray(keypoints)
    s_in = np.asarray(scores)
    if x_in.ndim != 4 or x_in.shape[-1] != 2 or s_in.shape != x_in.shape[:3]:
        raise ShapeError(f"ssta_aggregate: keypoints (M,T,K,2) {x_in.shape} and scores "
                         f"(M,T,K) {s_in.shape} do not match")
    m, t, k, _ = x_in.shape
    if not 0 < m <= 127:
        raise ShapeError(f"ssta_aggregate: needs 1 to 127 experts, got M = {m}")
    if k != lay.num_joints:
        raise ShapeError(f"ssta_aggregate: K={k} but layout {lay.name} has {lay.num_joints}")
    ran_a = np.ones((m, t), dtype=bool) if ran is None else np.asarray(ran, dtype=bool)
    if ran_a.shape != (m, t):
        raise ShapeError(f"ssta_aggregate: ran must be ({m}, {t}), got {ran_a.shape}")

    x = x_in.astype(np.float32, copy=False)
    s = s_in.astype(np.float32, copy=False)
    active = np.flatnonzero(ran_a.any(axis=0))
    # active rows, as (R, K, M) planes
    xa = x[:, active].transpose(1, 2, 0, 3)
    sa_all = s[:, active].transpose(1, 2, 0)
    px = np.ascontiguousarray(xa[..., 0])
    py = np.ascontiguousarray(xa[..., 1])
    ca = np.isfinite(px) & np.isfinite(py) & (sa_all > 0) & (sa_all >= cfg.min_score)
    ca &= ran_a[:, active].T[:, None, :]
    px[~ca] = 0.0
    py[~ca] = 0.0
    rs = np.zeros(active.size, dtype=bool)
    if active.size:
        rs[0] = True
    if restart is not None:
        rst = np.asarray(restart, dtype=bool)
        if rst.shape != (t,):
            raise ShapeError(f"ssta_aggregate: restart must be ({t},), got {rst.shape}")
        rs |= rst[active]

    sel = _run_recursion(_transition_tables(px, py, ca, rs))  # (R, K) in 0..M
    has = sel < m
    sel_c = np.minimum(sel, m - 1)[..., None]
    pa = np.stack([np.take_along_axis(px, sel_c, axis=2)[..., 0],
                   np.take_along_axis(py, sel_c, axis=2)[..., 0]], axis=-1)
    pa[~has] = np.nan
    sa = np.where(has, np.take_along_axis(sa_all, sel_c, axis=2)[..., 0], 0.0)
    conf = _confidence(pa, has, px, py, ca, lay, cfg)
    has_pose = has.any(axis=-1)
    low = ~(conf >= cfg.gamma)
    if cfg.low_confidence == "invalid":
        valid_a = has_pose & ~low
        drop = ~valid_a
        pa[drop] = np.nan
        sa[drop] = 0.0
        sel[drop] = m
    else:
        conf = np.where(low, 0.0, conf)
        valid_a = has_pose

    kp_out = np.full((t, k, 2), np.nan)
    sc_out = np.zeros((t, k))
    src_out = np.full((t, k), -1, dtype=np.int8)
    conf_out = np.zeros(t)
    valid_out = np.zeros(t, dtype=bool)
    kp_out[active] = pa
    sc_out[active] = sa
    src_out[active] = np.where(sel < m, sel, -1).astype(np.int8)
    conf_out[active] = conf
    valid_out[active] = valid_a
    filled = np.zeros((t, k), dtype=bool)
    if cfg.max_gap > 0 and t > 2:
        pos = np.arange(t, dtype=np.float64) if frame_pos is None else np.asarray(
            frame_pos, dtype=np.float64)
        if pos.shape != (t,):
            raise ShapeError(f"ssta_aggregate: frame_pos must be ({t},), got {pos.shape}")
        filled = _fill_gaps(kp_out, sc_out, valid_out[:, None] & (sc_out > 0), pos, cfg.max_gap)
        src_out[filled] = -1
        valid_out |= filled.any(axis=-1)
    return SSTAResult(
        keypoints=kp_out.astype(np.float32),
        scores=sc_out.astype(np.float32),
        source_expert=src_out,
        confidence=conf_out.astype(np.float32),
        valid=valid_out,
        filled=filled,
    )


def _fill_gaps(kp: np.ndarray, sc: np.ndarray, usable: np.ndarray, pos: np.ndarray,
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


# ------------------------------------------------------------------ multi-person


def joint_sigmas(layout: SkeletonLayout) -> np.ndarray:
    """Per-joint OKS constants: COCO's for joints named as in COCO-17, else their mean.

    Returns:
        ``(K,) float64``.
    """
    mean = float(COCO17_SIGMAS.mean())
    by_name = dict(zip(COCO17.joints, COCO17_SIGMAS.tolist(), strict=True))
    return np.asarray([by_name.get(n, mean) for n in layout.joints], dtype=np.float64)


def _kp_boxes(kp: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """``(..., 4)`` xyxy bounding boxes of the present keypoints (NaN if none)."""
    x, y = kp[..., 0], kp[..., 1]
    box = np.stack([
        np.where(ok, x, np.inf).min(axis=-1, initial=np.inf),
        np.where(ok, y, np.inf).min(axis=-1, initial=np.inf),
        np.where(ok, x, -np.inf).max(axis=-1, initial=-np.inf),
        np.where(ok, y, -np.inf).max(axis=-1, initial=-np.inf),
    ], axis=-1)
    return np.where(ok.any(axis=-1)[..., None], box, np.nan)


def instance_similarity(
    ref_kps: np.ndarray, ref_ok: np.ndarray, kps: np.ndarray, ok: np.ndarray,
    *, metric: MatchMetric = "oks", sigmas: np.ndarray | None = None,
) -> np.ndarray:
    """Similarity of every reference instance to every candidate instance, per frame.

    ``oks``: ``mean_v exp(-d_v^2 / (2 A (2 sigma_v)^2))`` over the joints present in
    both, with ``A`` the area of the reference's keypoint bounding box (at least 1
    px^2); 0 when no joint is shared. ``iou``: IoU of the keypoint bounding boxes.

    Args:
        ref_kps: ``(T, P, K, 2)`` reference instances.
        ref_ok: ``(T, P, K) bool`` their usable joints.
        kps: ``(T, Q, K, 2)`` candidate instances.
        ok: ``(T, Q, K) bool`` their usable joints.
        metric: ``"oks"`` or ``"iou"``.
        sigmas: ``(K,)`` OKS constants (default: COCO's for COCO-17).

    Returns:
        ``(T, P, Q) float64`` in [0, 1].
    """
    k = ref_kps.shape[-2]
    if metric == "oks":
        sig = COCO17_SIGMAS if sigmas is None else np.asarray(sigmas, dtype=np.float64)
        if sig.shape != (k,):
            raise ShapeError(f"instance_similarity: sigmas must be ({k},), got {sig.shape}")
        box = _kp_boxes(ref_kps, ref_ok)
        area = np.maximum(np.nan_to_num((box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1])),
                          1.0)  # (T, P)
        both = ref_ok[:, :, None, :] & ok[:, None, :, :]  # (T, P, Q, K)
        d = np.nan_to_num(ref_kps[:, :, None] - kps[:, None, :])
        d2 = d[..., 0] ** 2 + d[..., 1] ** 2
        e = d2 / (2.0 * area[:, :, None, None] * (2.0 * sig) ** 2)
        num = np.where(both, np.exp(-e), 0.0).sum(axis=-1)
        cnt = both.sum(axis=-1)
        return np.where(cnt > 0, num / np.maximum(cnt, 1), 0.0)
    a = _kp_boxes(ref_kps, ref_ok)[:, :, None, :]
    b = _kp_boxes(kps, ok)[:, None, :, :]
    iw = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    ih = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(np.nan_to_num(iw), 0, None) * np.clip(np.nan_to_num(ih), 0, None)
    area_a = np.nan_to_num((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]))
    area_b = np.nan_to_num((b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]))
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def greedy_match(sim: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy one-to-one matching per frame, highest similarity first.

    Args:
        sim: ``(T, P, Q)`` similarities.
        threshold: Pairs below it are never matched.

    Returns:
        ``(T, P) int64``: matched candidate index per reference instance, -1 if none.
    """
    t, p, q = sim.shape
    out = np.full((t, p), -1, dtype=np.int64)
    if p == 0 or q == 0 or t == 0:
        return out
    s = np.where(sim >= threshold, sim, -np.inf).astype(np.float64)
    rows = np.arange(t)
    for _ in range(min(p, q)):
        flat = s.reshape(t, p * q)
        best = np.argmax(flat, axis=1)
        okr = np.isfinite(flat[rows, best])
        if not okr.any():
            break
        bp, bq = np.divmod(best, q)
        r = rows[okr]
        out[r, bp[okr]] = bq[okr]
        s[r, bp[okr], :] = -np.inf
        s[r, :, bq[okr]] = -np.inf
    return out


def match_instances_to_reference(
    ref_kps: np.ndarray, ref_scores: np.ndarray, kps: np.ndarray, scores: np.ndarray,
    cfg: SSTAConfig = SSTAConfig(),  # noqa: B008 - frozen, immutable default
) -> np.ndarray:
    """Match one expert's instances to the reference expert's, frame by frame.

    Joints are used when their coordinates are finite and their score is ``> 0``
    and ``>= cfg.min_score``. Similarity per ``cfg.match_metric`` (OKS constants by
    joint name, see :func:`joint_sigmas`), greedy assignment above
    ``cfg.match_threshold``.

    Args:
        ref_kps: ``(T, P, K, 2)`` the reference expert's instances.
        ref_scores: ``(T, P, K)`` their scores.
        kps: ``(T, Q, K, 2)`` the expert's instances.
        scores: ``(T, Q, K)`` their scores.
        cfg: Options (``layout``, ``min_score``, ``match_metric``, ``match_threshold``).

    Returns:
        ``(T, P) int64`` index into the expert's ``Q`` instances, -1 where none matches.
    """
    ref_kps = np.asarray(ref_kps, dtype=np.float64)
    kps = np.asarray(kps, dtype=np.float64)
    ref_ok = np.isfinite(ref_kps).all(-1) & (ref_scores > 0) & (ref_scores >= cfg.min_score)
    ok = np.isfinite(kps).all(-1) & (scores > 0) & (scores >= cfg.min_score)
    sim = instance_similarity(ref_kps, ref_ok, kps, ok, metric=cfg.match_metric,
                              sigmas=joint_sigmas(get_layout(cfg.layout)))
    return greedy_match(sim, cfg.match_threshold)


@dataclass(frozen=True)
class VideoAggregate:
    """SST-A output for a whole video (``T`` rows, ``P`` reference tracks).

    Attributes:
        keypoints: ``(T, P, K, 2) float32``.
        scores: ``(T, P, K) float32``.
        source_expert: ``(T, P, K) int8`` (-1 none or filled).
        confidence: ``(T, P) float32``.
        valid: ``(T, P) bool``.
        filled: ``(T, P, K) bool``.
        track_ids: ``(T, P) int32`` the reference expert's track ids (-1 padding).
        matched: ``(M, T, P) int64`` instance of each expert matched to each track
            (-1 none; the reference expert matches itself).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    source_expert: np.ndarray
    confidence: np.ndarray
    valid: np.ndarray
    filled: np.ndarray
    track_ids: np.ndarray
    matched: np.ndarray


def choose_reference(instances: Sequence[np.ndarray]) -> int:
    """The expert defining the tracks: most instances over the video, ties to the first.

    Args:
        instances: Per expert, ``(T,)`` instance counts on the common frame axis
            (0 where it did not run), so experts that ran on more frames and found
            more people win.
    """
    totals = [int(np.asarray(n).sum()) for n in instances]
    return int(np.argmax(totals)) if totals else 0


def ssta_aggregate_video(
    keypoints: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    ran: np.ndarray,
    cfg: SSTAConfig = SSTAConfig(),  # noqa: B008 - frozen, immutable default
    *,
    reference: int = 0,
    track_ids: np.ndarray | None = None,
    frame_pos: np.ndarray | None = None,
) -> VideoAggregate:
    """SST-A for a multi-person video.

    The reference expert's instance slots define the tracks. In every frame each
    other expert's instances are matched to the reference instances
    (:func:`match_instances_to_reference`); the matched instances of all experts
    form the candidates of that track, which :func:`ssta_aggregate` aggregates.
    A track restarts (first-frame rule) where the reference track id changes
    between two frames where it is set. A frame in which the reference has no
    instance in a slot has no pose for that track (other experts cannot open one).

    Args:
        keypoints: Per expert, ``(T, P_k, K, 2)`` on the common frame axis (NaN where
            it did not run or found no one).
        scores: Per expert, ``(T, P_k, K)``.
        ran: ``(M, T) bool`` rows each expert ran on.
        cfg: Options.
        reference: Index of the reference expert.
        track_ids: ``(T, P_ref)`` the reference expert's track ids (default -1).
        frame_pos: ``(T,)`` frame positions for gap filling.

    Returns:
        A :class:`VideoAggregate` with ``P = P_ref``.
    """
    m = len(keypoints)
    if m == 0 or len(scores) != m:
        raise ShapeError("ssta_aggregate_video: needs one keypoints and scores array per expert")
    ran = np.asarray(ran, dtype=bool)
    ref_kp = np.asarray(keypoints[reference])
    t, p, k, _ = ref_kp.shape
    if ran.shape != (m, t):
        raise ShapeError(f"ssta_aggregate_video: ran must be ({m}, {t}), got {ran.shape}")
    tids = np.full((t, p), -1, np.int32) if track_ids is None else np.asarray(track_ids, np.int32)
    matched = np.full((m, t, p), -1, dtype=np.int64)
    x = np.full((m, t, p, k, 2), np.nan, dtype=np.float32)
    sc = np.zeros((m, t, p, k), dtype=np.float32)
    for e in range(m):
        kp_e = np.asarray(keypoints[e], dtype=np.float64)
        sc_e = np.asarray(scores[e], dtype=np.float64)
        if kp_e.shape[0] != t or kp_e.shape[2:] != (k, 2) or sc_e.shape != kp_e.shape[:3]:
            raise ShapeError(f"ssta_aggregate_video: expert {e} arrays {kp_e.shape}/{sc_e.shape}"
                             f" do not match (T={t}, K={k})")
        if e == reference:
            usable = np.isfinite(kp_e).all(-1) & (sc_e > 0) & (sc_e >= cfg.min_score)
            mt = np.where(usable.any(axis=-1), np.arange(p)[None, :], -1)
        else:
            mt = match_instances_to_reference(ref_kp, scores[reference], kp_e, sc_e, cfg)
        matched[e] = mt
        got = mt >= 0
        tt, pp = np.nonzero(got)
        x[e, tt, pp] = kp_e[tt, mt[tt, pp]]
        sc[e, tt, pp] = sc_e[tt, mt[tt, pp]]
    out_kp = np.full((t, p, k, 2), np.nan, np.float32)
    out_sc = np.zeros((t, p, k), np.float32)
    out_src = np.full((t, p, k), -1, np.int8)
    out_conf = np.zeros((t, p), np.float32)
    out_valid = np.zeros((t, p), bool)
    out_filled = np.zeros((t, p, k), bool)
    for j in range(p):
        res = ssta_aggregate(x[:, :, j], sc[:, :, j], cfg, ran=ran,
                             restart=_track_restarts(tids[:, j]), frame_pos=frame_pos)
        out_kp[:, j] = res.keypoints
        out_sc[:, j] = res.scores
        out_src[:, j] = res.source_expert
        out_conf[:, j] = res.confidence
        out_valid[:, j] = res.valid
        out_filled[:, j] = res.filled
    return VideoAggregate(out_kp, out_sc, out_src, out_conf, out_valid, out_filled, tids, matched)


def _track_restarts(tid: np.ndarray) -> np.ndarray:
    """Rows whose id (>= 0) differs from the last id >= 0 seen before them."""
    t = tid.shape[0]
    rows = np.arange(t)
    last_row = np.maximum.accumulate(np.where(tid >= 0, rows, -1))
    prev_row = np.concatenate([[-1], last_row[:-1]]) if t else last_row
    prev_id = np.where(prev_row >= 0, tid[np.maximum(prev_row, 0)], -1)
    return (tid >= 0) & (prev_id >= 0) & (tid != prev_id)


__all__ = [
    "SSTAConfig", "SSTAResult", "ssta_aggregate", "VideoAggregate", "ssta_aggregate_video",
    "match_instances_to_reference", "instance_similarity", "greedy_match", "joint_sigmas",
    "choose_reference",
]
