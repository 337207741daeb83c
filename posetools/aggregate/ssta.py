"""Selective Spatio-Temporal Aggregation (SST-A) of several pose experts.

Thesis ch. 3, eq. 3.1-3.4 (references: ``docs/glossary.md``). All experts are first
mapped to one common layout (default COCO-17). For one person track, joint ``v``,
frame ``t`` and the experts ``k`` that have the joint (its *candidates*):

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
  missing), with usable rows on both sides and no track restart between them
  (``restart``), is filled by linear interpolation of
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

from dataclasses import dataclass

import numpy as np

from ..config.algorithms import SSTAConfig
from ..errors import ShapeError
from ..skeletons import get_layout
from ..skeletons.anatomy import present_mask
from .confidence import confidence
from .fill import fill_gaps
from .select import follow_tables, selection_tables


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
            for every joint; gap filling never crosses one), e.g. where the
            reference track id changes.
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
    ca = present_mask(xa, sa_all, min_score=cfg.min_score)
    ca &= ran_a[:, active].T[:, None, :]
    px[~ca] = 0.0
    py[~ca] = 0.0
    rs = np.zeros(active.size, dtype=bool)
    if active.size:
        rs[0] = True
    rst = np.zeros(t, dtype=bool) if restart is None else np.asarray(restart, dtype=bool)
    if rst.shape != (t,):
        raise ShapeError(f"ssta_aggregate: restart must be ({t},), got {rst.shape}")
    rs |= rst[active]

    sel = follow_tables(selection_tables(px, py, ca, rs))  # (R, K) in 0..M
    has = sel < m
    sel_c = np.minimum(sel, m - 1)[..., None]
    pa = np.stack([np.take_along_axis(px, sel_c, axis=2)[..., 0],
                   np.take_along_axis(py, sel_c, axis=2)[..., 0]], axis=-1)
    pa[~has] = np.nan
    sa = np.where(has, np.take_along_axis(sa_all, sel_c, axis=2)[..., 0], 0.0)
    conf = confidence(pa, has, px, py, ca, lay, cfg)
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
        filled = fill_gaps(kp_out, sc_out, valid_out[:, None] & (sc_out > 0), pos, cfg.max_gap,
                           rst)
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
