"""Temporal refinement of person tracks: outliers -> gap repair -> smoothing.

Per person slot ``p`` and joint ``k`` (slots and joints are independent):

1. *Present* joints: row valid, coordinates finite, score > 0. Only *sampled* rows
   (rows where an expert ran) are samples; the others are passed through untouched
   and neither filled nor counted as missing.
2. Each joint's series is cut into segments (:func:`.segments.segment_bounds`) at
   holes longer than ``max_gap_s`` seconds (:func:`max_gap_samples` samples) and at
   track restarts. Nothing below ever crosses a segment boundary.
3. Outliers (:mod:`.outliers`) are tested on each segment's present samples with the
   person size of the track piece as scale: the motion-compensated Hampel test (window
   in seconds, skipped when it holds fewer than :data:`MIN_HAMPEL_WINDOW` samples) and
   the spike test (speed in person sizes per second). Rejected joints become missing.
4. Holes left inside the segments, rejected joints included, are interpolated in time
   (:mod:`.gaps`); nothing is extrapolated past a segment's ends.
5. The smoother (:mod:`.filters`) runs on each segment with at least ``min_segment``
   samples; the joints of a slot that share a segment are filtered in one call.

Scores: a kept joint keeps its score (a smoother moves the joint, it does not make the
expert surer); a filled joint gets its score interpolated in time times
``filled_score_factor``; a rejected joint that is not filled gets score 0 and NaN
coordinates. A row is valid when it keeps at least one joint (a row the selective
filter dropped becomes valid again only if gap repair fills it; ``filled`` marks it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config.algorithms import RefineConfig
from .filters import butterworth, gaussian, on_grid, one_euro, savgol
from .gaps import fill_segments
from .outliers import hampel_flags, person_size, spike_mask
from .segments import piece_ids, sample_period, segment_bounds

MIN_HAMPEL_WINDOW = 5
"""Fewest samples in the Hampel window for the test to run (``hampel_window_s``)."""


@dataclass(frozen=True)
class RefineResult:
    """Refined poses of a video (``T`` rows, ``P`` slots, ``K`` joints).

    Attributes:
        keypoints: ``(T, P, K, 2) float32`` refined pixels (NaN = missing).
        scores: ``(T, P, K) float32``.
        valid: ``(T, P) bool`` rows with at least one joint.
        rejected: ``(T, P, K) bool`` joints an outlier test removed (they may be
            filled again: then ``filled`` is set too).
        filled: ``(T, P, K) bool`` joints written by gap repair.
        person_size: ``(T, P) float32`` scale of the outlier tests per row (NaN: not
            measurable).
        sample_period: Seconds per sample used to convert seconds and Hz (0: fewer
            than two sampled rows, nothing refined).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    valid: np.ndarray
    rejected: np.ndarray
    filled: np.ndarray
    person_size: np.ndarray
    sample_period: float


def max_gap_samples(max_gap_s: float, dt: float) -> int:
    """Most missing samples in a hole of at most ``max_gap_s`` seconds at period ``dt``."""
    return int(max_gap_s / dt + 1e-6)


def hampel_window(window_s: float, dt: float) -> int:
    """Odd number of samples in a Hampel window of ``window_s`` seconds at period ``dt``."""
    return 2 * int(window_s / (2.0 * dt) + 1e-9) + 1


def smooth_segment(x: np.ndarray, t: np.ndarray, dt: float, cfg: RefineConfig,
                   scale: float) -> np.ndarray:
    """Apply ``cfg.smoother`` to one segment.

    Args:
        x: ``(n, ..., 2)`` pixels of the segment's rows (no NaN).
        t: ``(n,) float64`` their times in seconds.
        dt: Sample period.
        cfg: Options.
        scale: Person size in pixels (One-Euro's speed unit; not finite: beta unused).

    Returns:
        ``(n, ..., 2) float64``.
    """
    m = cfg.min_segment
    if cfg.smoother == "none" or x.shape[0] < m:
        return np.asarray(x, np.float64)
    if cfg.smoother == "one_euro":
        ok = bool(np.isfinite(scale) and scale > 0)
        return one_euro(x, t, cfg.one_euro_min_cutoff, cfg.one_euro_beta if ok else 0.0,
                        cfg.one_euro_d_cutoff, scale if ok else 1.0)
    if cfg.smoother == "butterworth":
        def fn(v: np.ndarray) -> np.ndarray:
            return butterworth(v, dt, cfg.cutoff_hz, cfg.butter_order, m)
    elif cfg.smoother == "savgol":
        def fn(v: np.ndarray) -> np.ndarray:
            return savgol(v, dt, cfg.savgol_window_s, cfg.savgol_polyorder, m)
    else:  # gaussian (RefineConfig validates the choice)
        def fn(v: np.ndarray) -> np.ndarray:
            return gaussian(v, dt, cfg.gaussian_sigma_s, min_samples=m)
    return on_grid(fn, x, t, dt)


def _reject(kp: np.ndarray, present: np.ndarray, pts: np.ndarray, restart: np.ndarray,
            size: np.ndarray, dt: float, cfg: RefineConfig) -> np.ndarray:
    """``(T, K) bool`` rejected joints of one slot ``kp (T, K, 2)``.

    Joints with the same segment and the same present rows in it are tested together.
    """
    t, k = present.shape
    out = np.zeros((t, k), dtype=bool)
    window = hampel_window(cfg.hampel_window_s, dt)
    use_hampel = cfg.outliers == "hampel" and window >= MIN_HAMPEL_WINDOW
    if not use_hampel and cfg.max_speed <= 0:
        return out
    gap = max_gap_samples(cfg.max_gap_s, dt)
    groups: dict[tuple[int, bytes], list[int]] = {}
    for j in range(k):
        for a, b in segment_bounds(present[:, j], pts, dt, gap, restart):
            if b - a >= 3:
                groups.setdefault((a, present[a:b, j].tobytes()), []).append(j)
    for (a, pattern), joints in groups.items():
        rows = a + np.flatnonzero(np.frombuffer(pattern, dtype=bool))
        s = float(size[a])
        if rows.size < 3 or not np.isfinite(s):
            continue  # no scale: the size-scaled thresholds are undefined, test nothing
        v = kp[np.ix_(rows, joints)]  # (n, kg, 2)
        m = np.zeros(v.shape[:2], dtype=bool)
        if use_hampel:
            m |= hampel_flags(v, window, cfg.hampel_sigmas, cfg.hampel_min_dev * s,
                              pts[rows]).any(axis=-1)
        if cfg.max_speed > 0:
            m |= spike_mask(v, pts[rows], cfg.max_speed * s)
        out[np.ix_(rows, joints)] |= m
    return out


def refine_track(keypoints: np.ndarray, scores: np.ndarray, present: np.ndarray,
                 restart: np.ndarray, pts: np.ndarray, dt: float, cfg: RefineConfig,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Refine one person slot (every row a sample).

    Args:
        keypoints: ``(T, K, 2)`` pixels.
        scores: ``(T, K)``.
        present: ``(T, K) bool`` usable joints.
        restart: ``(T,) bool`` track restarts.
        pts: ``(T,) float64`` seconds.
        dt: Sample period.
        cfg: Options.

    Returns:
        ``(keypoints (T, K, 2) float64, scores (T, K) float64, rejected (T, K) bool,
        filled (T, K) bool, size (T,) float64)``.
    """
    t, k = present.shape
    kp = np.asarray(keypoints, np.float64)
    sc = np.asarray(scores, np.float64)
    size = person_size(kp, present, piece_ids(restart))
    out_kp = np.full((t, k, 2), np.nan)
    out_sc = np.zeros((t, k))
    filled = np.zeros((t, k), dtype=bool)
    groups: dict[tuple[int, int], list[int]] = {}
    rejected = _reject(kp, present, pts, restart, size, dt, cfg)
    gap = max_gap_samples(cfg.max_gap_s, dt)
    for j in range(k):
        keep = present[:, j] & ~rejected[:, j]
        if not keep.any():
            continue
        bounds = segment_bounds(keep, pts, dt, gap, restart)
        vals = np.concatenate([kp[:, j], sc[:, j, None]], axis=1)
        vals, filled[:, j] = fill_segments(vals, keep, pts, bounds, cfg.gap_method)
        fj = filled[:, j]
        out_kp[keep | fj, j] = vals[keep | fj, :2]
        out_sc[keep, j] = sc[keep, j]
        out_sc[fj, j] = np.clip(vals[fj, 2], 0.0, 1.0) * cfg.filled_score_factor
        for a, b in bounds:
            groups.setdefault((a, b), []).append(j)
    for (a, b), joints in groups.items():
        out_kp[a:b, joints] = smooth_segment(out_kp[a:b, joints], pts[a:b], dt, cfg, size[a])
    return out_kp, out_sc, rejected, filled, size


def refine_poses(
    keypoints: np.ndarray,
    scores: np.ndarray,
    valid: np.ndarray,
    pts: np.ndarray,
    cfg: RefineConfig = RefineConfig(),  # noqa: B008 - frozen, immutable default
    *,
    restart: np.ndarray | None = None,
    sampled: np.ndarray | None = None,
    dt: float | None = None,
) -> RefineResult:
    """Refine the poses of a whole video, every slot independently.

    Args:
        keypoints: ``(T, P, K, 2)`` pixels, NaN = missing.
        scores: ``(T, P, K)``.
        valid: ``(T, P) bool``.
        pts: ``(T,) float64`` seconds, increasing (uneven spacing allowed).
        cfg: Options.
        restart: ``(T, P) bool`` rows where slot ``p`` starts another track
            (:func:`posetools.aggregate.track_restarts` of the track ids); never
            filled, tested or smoothed across. Default: none.
        sampled: ``(T,) bool`` rows that are samples of the pose axis (e.g. where an
            expert ran, when the experts have a frame stride of their own); other rows
            are returned as they are. Default: every row.
        dt: Sample period in seconds; default :func:`.segments.sample_period` of the
            sampled rows' ``pts``.

    Returns:
        A :class:`RefineResult`; with fewer than two sampled rows the input, masked to
        its present joints, with ``sample_period`` 0.

    Raises:
        ValueError: Shapes do not match (``"shapes: ..."``), or ``pts`` of the sampled
            rows are not increasing (``"pts: ..."``).
    """
    kp = np.asarray(keypoints)
    sc = np.asarray(scores)
    valid = np.asarray(valid, bool)
    pts = np.asarray(pts, np.float64)
    t, p, k = kp.shape[:3] if kp.ndim == 4 else (0, 0, 0)
    rst = np.zeros((t, p), bool) if restart is None else np.asarray(restart, bool)
    smp = np.ones(t, bool) if sampled is None else np.asarray(sampled, bool)
    if kp.shape != (t, p, k, 2) or sc.shape != (t, p, k) or valid.shape != (t, p) \
            or pts.shape != (t,) or rst.shape != (t, p) or smp.shape != (t,):
        raise ValueError(f"shapes: keypoints {kp.shape}, scores {sc.shape}, valid {valid.shape}, "
                         f"pts {pts.shape}, restart {rst.shape}, sampled {smp.shape} do not "
                         "match (T, P, K, 2)")
    present = valid[..., None] & np.isfinite(kp).all(-1) & (sc > 0)
    out_kp = np.where(present[..., None], kp, np.nan).astype(np.float32)
    out_sc = np.where(present, sc, 0).astype(np.float32)
    rejected = np.zeros((t, p, k), bool)
    filled = np.zeros((t, p, k), bool)
    size = np.full((t, p), np.nan, np.float32)
    rows = np.flatnonzero(smp)
    if rows.size < 2:
        return RefineResult(out_kp, out_sc, present.any(-1), rejected, filled, size, 0.0)
    t_s = pts[rows]
    if not (np.diff(t_s) > 0).all():
        raise ValueError("pts: the sampled rows' times must be finite and increasing")
    dt = sample_period(t_s) if dt is None else float(dt)
    pieces = piece_ids(rst)[rows]  # a restart on a row that is not sampled moves to the next
    rst_s = np.concatenate([np.zeros((1, p), bool), pieces[1:] != pieces[:-1]])
    for j in range(p):
        pres = present[rows, j]
        if not pres.any():
            continue
        r_kp, r_sc, rej, fil, sz = refine_track(kp[rows, j], sc[rows, j], pres, rst_s[:, j],
                                                t_s, dt, cfg)
        out_kp[rows, j], out_sc[rows, j] = r_kp, r_sc
        rejected[rows, j], filled[rows, j], size[rows, j] = rej, fil, sz
    ok = np.isfinite(out_kp).all(-1) & (out_sc > 0)
    return RefineResult(out_kp, out_sc, ok.any(-1), rejected, filled, size, dt)
