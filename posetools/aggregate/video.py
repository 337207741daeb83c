"""SST-A over a whole multi-person video: tracks from the reference expert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config.algorithms import SSTAConfig
from ..errors import ShapeError
from ..skeletons.anatomy import present_mask
from .match import match_instances_to_reference
from .ssta import ssta_aggregate


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
            usable = present_mask(kp_e, sc_e, min_score=cfg.min_score)
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
    restarts = track_restarts(tids)
    for j in range(p):
        res = ssta_aggregate(x[:, :, j], sc[:, :, j], cfg, ran=ran,
                             restart=restarts[:, j], frame_pos=frame_pos)
        out_kp[:, j] = res.keypoints
        out_sc[:, j] = res.scores
        out_src[:, j] = res.source_expert
        out_conf[:, j] = res.confidence
        out_valid[:, j] = res.valid
        out_filled[:, j] = res.filled
    return VideoAggregate(out_kp, out_sc, out_src, out_conf, out_valid, out_filled, tids, matched)


def track_restarts(track_ids: np.ndarray) -> np.ndarray:
    """Rows where a slot's track restarts: the one definition of a restart.

    A row restarts its slot when its id is set (``>= 0``) and differs from the last
    set id before it along axis 0; rows with id -1 never restart by themselves. SST-A
    applies the first-frame rule there, and neither its gap filling nor the temporal
    refinement (:mod:`posetools.temporal`) ever crosses one.

    Args:
        track_ids: ``(T, ...) int`` track ids along axis 0, -1 = not set.

    Returns:
        ``(T, ...) bool``.
    """
    tid = np.asarray(track_ids)
    if tid.shape[0] == 0:
        return np.zeros(tid.shape, bool)
    rows = np.arange(tid.shape[0]).reshape(-1, *([1] * (tid.ndim - 1)))
    last_row = np.maximum.accumulate(np.where(tid >= 0, rows, -1), axis=0)
    prev_row = np.concatenate([np.full((1, *tid.shape[1:]), -1), last_row[:-1]], axis=0)
    prev_id = np.where(prev_row >= 0,
                       np.take_along_axis(tid, np.maximum(prev_row, 0), axis=0), -1)
    return (tid >= 0) & (prev_id >= 0) & (tid != prev_id)


def place_on_frames(
    frame_index: np.ndarray, rows_index: np.ndarray, arrays: dict[str, np.ndarray],
    fills: dict[str, float],
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Place an expert's per-row arrays on the common frame axis.

    An expert with a frame stride has rows only at some frames; elsewhere the
    arrays get ``fills`` and the expert counts as "did not run".

    Args:
        frame_index: ``(T,)`` the common (root) frame indices, increasing.
        rows_index: ``(T_k,)`` the expert's frame indices, a subset of ``frame_index``.
        arrays: Name -> ``(T_k, ...)`` array.
        fills: Name -> padding value.

    Returns:
        ``(placed, ran)``: name -> ``(T, ...)`` array (dtype kept), and ``ran (T,) bool``.

    Raises:
        ShapeError: ``rows_index`` is not a subset of ``frame_index``.
    """
    t = frame_index.shape[0]
    rows = np.searchsorted(frame_index, rows_index)
    if rows_index.size and (rows.max() >= t or not np.array_equal(frame_index[rows], rows_index)):
        raise ShapeError("frame_index is not a subset of the root frames")
    placed = {}
    for name, arr in arrays.items():
        full = np.full((t, *arr.shape[1:]), fills[name], arr.dtype)
        full[rows] = arr
        placed[name] = full
    ran = np.zeros(t, bool)
    ran[rows] = True
    return placed, ran
