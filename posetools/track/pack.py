"""Packing per-frame variable-length instances into padded ``(T, P, ...)`` arrays.

:func:`pack_by_track` orders instances by track rank; :func:`track_and_pack` runs
the whole chain for one expert (associate, select, pack, pad).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..config.algorithms import TrackConfig
from ..errors import ConfigError, PosetoolsError, ShapeError
from ..skeletons import COCO17, SkeletonLayout, convert_layout
from .associate import associate_tracks
from .select import select_main_tracks

DEFAULT_FILLS: dict[str, float] = {"scores": 0.0, "box_scores": 0.0}
"""Padding values by array name where the float default (NaN) is not the convention."""


def pack_by_track(
    track_ids: Sequence[np.ndarray],
    kept_ids: Sequence[int],
    arrays: Mapping[str, Sequence[np.ndarray]],
    *,
    fixed_slots: bool = True,
    fills: Mapping[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Pack per-frame variable-length instances into padded arrays ordered by track rank.

    Instances whose track is not in ``kept_ids`` (or whose id is -1) are
    dropped. With ``fixed_slots`` each kept track owns slot ``p = rank`` (its
    position in ``kept_ids``) in every frame, so ``P = len(kept_ids)`` and a
    frame may have an empty slot before a filled one. Without it (keep-all
    mode) each frame's instances are packed to the front in rank order and
    ``P`` is the largest number of kept instances in a frame (at least 0).

    Padding: ``fills[name]`` if given, else :data:`DEFAULT_FILLS` (``scores`` and
    ``box_scores`` -> 0), else NaN for floats, -1 for integers, False for bools.

    Args:
        track_ids: Per frame ``(N_t,)`` ids.
        kept_ids: Kept track ids, best first.
        arrays: Name -> per frame ``(N_t, ...)`` arrays (same trailing shape and
            dtype in all frames, also in frames with ``N_t = 0``).
        fixed_slots: Slot = rank (see above).
        fills: Padding value per name.

    Returns:
        Name -> ``(T, P, ...)`` array (dtype kept), plus ``track_ids (T, P) int32``
        (-1 padding) and ``n_instances (T,) int32`` (filled slots per frame).

    Raises:
        ShapeError: Per-frame lengths disagree.
        PosetoolsError: A track appears twice in one frame.
    """
    fills = {**DEFAULT_FILLS, **(fills or {})}
    t_len = len(track_ids)
    counts = np.array([np.asarray(x).reshape(-1).size for x in track_ids], np.int64)
    ids = (np.concatenate([np.asarray(x, np.int64).reshape(-1) for x in track_ids])
           if t_len else np.zeros(0, np.int64))
    frame = np.repeat(np.arange(t_len), counts)
    kept = np.asarray(list(kept_ids), np.int64)
    if np.unique(kept).size != kept.size:
        raise PosetoolsError("pack_by_track: kept_ids has duplicates")
    lut = np.full(max(int(kept.max(initial=-1)), int(ids.max(initial=-1))) + 2, -1, np.int64)
    lut[kept] = np.arange(kept.size)
    rank = np.where(ids >= 0, lut[np.clip(ids, -1, None)], -1)  # id -1 -> lut[-1] = -1
    rows = np.flatnonzero(rank >= 0)
    f, r = frame[rows], rank[rows]
    if fixed_slots:
        slot, p = r, kept.size
    else:
        order = np.lexsort((r, f))
        rows, f, r = rows[order], f[order], r[order]
        start = np.searchsorted(f, f, side="left")
        slot = np.arange(rows.size) - start
        p = int(slot.max(initial=-1)) + 1
    dup = np.zeros((t_len, max(p, 1)), np.int64)
    np.add.at(dup, (f, slot), 1)
    if (dup > 1).any():
        t_bad = int(np.argwhere(dup > 1)[0, 0])
        raise PosetoolsError("pack_by_track: a track appears twice in one frame", frame=t_bad)

    out: dict[str, np.ndarray] = {}
    for name, seq in arrays.items():
        if len(seq) != t_len:
            raise ShapeError(f"{name}: {len(seq)} frames but track_ids has {t_len}")
        parts = [np.asarray(x) for x in seq]
        for t, x in enumerate(parts):
            if x.shape[:1] != (counts[t],):
                raise ShapeError(f"{name}[{t}]: expected {counts[t]} rows, got {x.shape}",
                                 frame=t)
        flat = np.concatenate(parts) if parts else np.zeros((0,))
        dtype = flat.dtype
        if name in fills:
            fill = fills[name]
        elif np.issubdtype(dtype, np.floating):
            fill = np.nan
        elif np.issubdtype(dtype, np.bool_):
            fill = False
        else:
            fill = -1
        dst = np.full((t_len, p, *flat.shape[1:]), fill, dtype)
        dst[f, slot] = flat[rows]
        out[name] = dst
    tid = np.full((t_len, p), -1, np.int32)
    tid[f, slot] = ids[rows]
    out["track_ids"] = tid
    out["n_instances"] = (tid >= 0).sum(axis=1).astype(np.int32)
    return out


def track_and_pack(
    keypoints: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    boxes: Sequence[np.ndarray],
    box_scores: Sequence[np.ndarray],
    frame_index: np.ndarray,
    layout: SkeletonLayout,
    cfg: TrackConfig,
    width: int,
    height: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], str]:
    """Associate one expert's instances into tracks, keep the main ones and pad.

    Args:
        keypoints: Per frame the expert ran on (``T_k`` frames), ``(N_t, K, 2)``.
        scores: Per frame ``(N_t, K)``.
        boxes: Per frame ``(N_t, 4)`` instance boxes.
        box_scores: Per frame ``(N_t,)`` instance scores.
        frame_index: ``(T_k,)`` original frame indices of those frames.
        layout: The expert's layout (``K`` joints).
        cfg: Tracking and selection options.
        width: Frame width in pixels.
        height: Frame height in pixels.

    Returns:
        ``(packed, tracks, selection_json)``. ``packed``: ``keypoints (T_k, P, K, 2)
        float32`` (NaN padding), ``scores (T_k, P, K) float32`` (0), ``boxes (T_k, P, 4)
        float32`` (NaN), ``box_scores (T_k, P) float32`` (0), ``track_ids (T_k, P) int32``
        (-1), ``n_instances (T_k,) int32`` (kept instances), ``n_detected (T_k,) int32``
        (instances before selection). ``P = max_persons`` when it is > 0, else the
        largest number of instances in a frame (at least 1); slot ``p`` holds the
        ``p``-th ranked kept track. ``tracks``: one row per track, best first:
        ``id, n_frames, first_frame, last_frame`` (original frame indices),
        ``duration, mean_area, centrality, score`` (float64), ``kept`` (bool),
        ``rank`` (int32).
    """
    k = layout.num_joints
    kps = None
    if cfg.use_oks:
        try:
            kps = [convert_layout(kp, sc, layout, COCO17)[0]
                   for kp, sc in zip(keypoints, scores, strict=True)]
        except ConfigError:
            kps = None  # no COCO-17 view of this layout: IoU only
    ids = associate_tracks(boxes, box_scores, cfg,
                           keypoints=kps, layout=COCO17 if kps is not None else None)
    sel = select_main_tracks(ids, boxes, width, height, cfg)
    packed = pack_by_track(
        ids, sel.kept,
        {"keypoints": list(keypoints), "scores": list(scores), "boxes": list(boxes),
         "box_scores": list(box_scores)},
        fixed_slots=sel.fixed_slots,
    )
    t = len(keypoints)
    want = cfg.max_persons if cfg.max_persons > 0 else max(1, packed["track_ids"].shape[1])
    packed = _pad_slots(packed, want, t, k)
    packed["n_detected"] = np.array([len(b) for b in boxes], np.int32)
    rank = {tid: r for r, tid in enumerate(sel.kept)}
    fi = np.asarray(frame_index, np.int64)
    rows = sel.ranking
    tracks = {
        "id": np.array([s.track_id for s in rows], np.int32),
        "n_frames": np.array([s.n_frames for s in rows], np.int32),
        "first_frame": np.array([fi[s.first_frame] for s in rows], np.int64),
        "last_frame": np.array([fi[s.last_frame] for s in rows], np.int64),
        "duration": np.array([s.duration for s in rows], np.float64),
        "mean_area": np.array([s.mean_area for s in rows], np.float64),
        "centrality": np.array([s.centrality for s in rows], np.float64),
        "score": np.array([s.score for s in rows], np.float64),
        "kept": np.array([s.track_id in rank for s in rows], bool),
        "rank": np.array([rank.get(s.track_id, -1) for s in rows], np.int32),
    }
    return packed, tracks, sel.to_json()


def _pad_slots(packed: dict[str, np.ndarray], p_want: int, t: int,
               k: int) -> dict[str, np.ndarray]:
    """Grow the instance axis to ``p_want`` slots with the padding conventions."""
    shapes = {"keypoints": ((k, 2), np.float32, np.nan), "scores": ((k,), np.float32, 0.0),
              "boxes": ((4,), np.float32, np.nan), "box_scores": ((), np.float32, 0.0),
              "track_ids": ((), np.int32, -1)}
    out = {}
    for name, (tail, dtype, fill) in shapes.items():
        arr = np.full((t, p_want, *tail), fill, dtype)
        src = np.asarray(packed[name])
        p_have = min(src.shape[1], p_want) if src.ndim >= 2 else 0
        if p_have:
            arr[:, :p_have] = src[:, :p_have].reshape(t, p_have, *tail)
        out[name] = arr
    out["n_instances"] = (out["track_ids"] >= 0).sum(axis=1).astype(np.int32)
    return out
