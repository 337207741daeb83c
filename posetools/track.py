"""Association of person instances across frames and main-person selection.

Three steps, each a pure function on arrays:

1. :func:`associate_tracks` gives every instance of every frame a track id
   (``0, 1, 2...`` in order of first appearance). Matching is greedy on a
   similarity between each live track's *predicted* box and the frame's boxes:
   the prediction moves the track's last box by its smoothed per-frame velocity
   (constant-velocity model), so two people walking past each other keep their
   ids while their boxes overlap. A track unseen for up to ``max_gap`` frames can
   still be continued; after that a new id starts. The similarity is box IoU,
   or OKS on COCO-17 keypoints when requested and available.
2. :func:`rank_tracks` scores each track by duration x mean box area x
   centrality (exponents configurable) and :func:`select_main_tracks` keeps the
   best ``max_persons``.
3. :func:`pack_by_track` turns per-frame variable-length instance arrays into
   padded ``(T, P, ...)`` arrays with instances ordered by track rank.

Frames are positions in the sequences passed in (the stage's frame axis); a gap
is counted in those positions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from .config import require
from .errors import PosetoolsError, ShapeError
from .skeletons import COCO17, COCO17_SIGMAS, SkeletonLayout

_VELOCITY_MOMENTUM = 0.5  # weight of the newest displacement in the velocity average


@dataclass(frozen=True)
class TrackConfig:
    """Options of tracking and main-person selection.

    Attributes:
        iou_threshold: Minimum IoU between a track's predicted box and a box for
            the box to continue the track.
        max_gap: Frames a track may go unseen and still be continued (0: only
            from the previous frame).
        motion: ``constant_velocity`` predicts each track's box from its smoothed
            velocity; ``last_box`` uses the last seen box as is.
        use_oks: Match on OKS instead of IoU when keypoints in the COCO-17
            layout are given to :func:`associate_tracks` (otherwise IoU is used).
        oks_threshold: Minimum OKS to continue a track when OKS is used.
        max_persons: Tracks kept by :func:`select_main_tracks`, best first
            (0 = keep all).
        min_frames: Tracks seen in fewer frames are never kept.
        duration_exponent: Exponent of the duration term of the rank score.
        area_exponent: Exponent of the mean-area term of the rank score.
        centrality_exponent: Exponent of the centrality term of the rank score.
    """

    iou_threshold: float = 0.3
    max_gap: int = 10
    motion: Literal["constant_velocity", "last_box"] = "constant_velocity"
    use_oks: bool = False
    oks_threshold: float = 0.5
    max_persons: int = 1
    min_frames: int = 1
    duration_exponent: float = 1.0
    area_exponent: float = 1.0
    centrality_exponent: float = 1.0

    def __post_init__(self) -> None:
        require(0.0 <= self.iou_threshold <= 1.0, "iou_threshold: must be in [0, 1]")
        require(self.max_gap >= 0, "max_gap: must be >= 0")
        require(0.0 <= self.oks_threshold <= 1.0, "oks_threshold: must be in [0, 1]")
        require(self.max_persons >= 0, "max_persons: must be >= 0 (0 = keep all)")
        require(self.min_frames >= 1, "min_frames: must be >= 1")
        for f in ("duration_exponent", "area_exponent", "centrality_exponent"):
            require(getattr(self, f) >= 0.0, f"{f}: must be >= 0")


# ------------------------------------------------------------------ similarity


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of xyxy boxes.

    Args:
        a: ``(A, 4)`` boxes.
        b: ``(B, 4)`` boxes.

    Returns:
        ``(A, B) float64`` IoU; 0 for degenerate (zero-area) pairs.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(axis=-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(axis=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def keypoint_oks(
    kp_a: np.ndarray,
    kp_b: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray = COCO17_SIGMAS,
) -> np.ndarray:
    """Pairwise object keypoint similarity (COCO definition).

    Only joints present (finite) in both instances count; a pair with none in
    common gets NaN.

    Args:
        kp_a: ``(A, K, 2)`` keypoints (NaN = missing).
        kp_b: ``(B, K, 2)`` keypoints (NaN = missing).
        areas: ``(A,)`` object scale ``s^2`` of each ``a`` instance (e.g. box area).
        sigmas: ``(K,)`` per-joint falloff constants.

    Returns:
        ``(A, B) float64`` OKS in [0, 1], NaN where no joint is shared.
    """
    kp_a = np.asarray(kp_a, np.float64)
    kp_b = np.asarray(kp_b, np.float64)
    d2 = ((kp_a[:, None] - kp_b[None]) ** 2).sum(axis=-1)  # (A, B, K)
    both = np.isfinite(d2)
    var = (2.0 * np.asarray(sigmas, np.float64)) ** 2  # (K,)
    s2 = np.maximum(np.asarray(areas, np.float64), 1e-9)[:, None, None]
    e = np.where(both, np.exp(-np.where(both, d2, 0.0) / (2.0 * s2 * var)), 0.0)
    n = both.sum(axis=-1)
    return np.divide(e.sum(axis=-1), n, out=np.full(n.shape, np.nan), where=n > 0)


# ----------------------------------------------------------------- association


def _greedy_match(sim: np.ndarray, threshold: float, tie: np.ndarray) -> list[tuple[int, int]]:
    """Greedy one-to-one matching, highest similarity first.

    Args:
        sim: ``(A, N)`` similarities.
        threshold: Pairs below it (or not > 0) are never matched.
        tie: ``(N,)`` secondary key (higher first) among equal similarities.

    Returns:
        ``(row, col)`` pairs.
    """
    rows, cols = np.nonzero((sim >= threshold) & (sim > 0))
    if rows.size == 0:
        return []
    order = np.lexsort((cols, rows, -tie[cols], -sim[rows, cols]))
    used_r: set[int] = set()
    used_c: set[int] = set()
    out = []
    for r, c in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            out.append((r, c))
    return out


def associate_tracks(
    boxes: Sequence[np.ndarray],
    scores: Sequence[np.ndarray] | None = None,
    cfg: TrackConfig | None = None,
    *,
    keypoints: Sequence[np.ndarray] | None = None,
    layout: SkeletonLayout | None = None,
) -> list[np.ndarray]:
    """Give every instance of every frame a track id.

    Frame by frame, each live track (seen within the last ``cfg.max_gap + 1``
    frames) predicts its box at the current frame: with
    ``motion="constant_velocity"`` its last box plus ``gap x`` its velocity (an
    average of per-frame displacements, the newest weighted
    ``_VELOCITY_MOMENTUM``), else its last box. Track/box pairs are then matched
    greedily by decreasing similarity (ties: higher box score, then lower track
    id, then lower box index) while it is at least the threshold; this is the
    usual numpy-only alternative to the Hungarian algorithm and gives the same
    result whenever each person's best match is unambiguous. Unmatched boxes
    start new tracks, numbered in order of first appearance (then box index).

    The similarity is the IoU of predicted and detected boxes
    (``cfg.iou_threshold``), or, when ``cfg.use_oks`` and ``keypoints`` in the
    COCO-17 layout are given, the OKS between the track's last keypoints
    (shifted by its predicted box motion) and the frame's keypoints, with the
    predicted box area as scale (``cfg.oks_threshold``); a pair sharing no
    visible joint falls back to IoU.

    Args:
        boxes: Per frame ``(N_t, 4)`` xyxy boxes. Rows with a non-finite value
            (padding) get id -1 and are ignored.
        scores: Per frame ``(N_t,)`` box scores (tie-breaking only), or None.
        cfg: Options (defaults if None).
        keypoints: Per frame ``(N_t, K, 2)`` keypoints (NaN = missing), for OKS.
        layout: Layout of ``keypoints``; OKS needs ``COCO17``.

    Returns:
        Per frame ``(N_t,) int32`` track ids (``-1`` for ignored rows).

    Raises:
        ShapeError: A frame's arrays have inconsistent shapes.
    """
    cfg = cfg or TrackConfig()
    use_oks = cfg.use_oks and keypoints is not None and layout == COCO17
    threshold = cfg.oks_threshold if use_oks else cfg.iou_threshold
    if scores is not None and len(scores) != len(boxes):
        raise ShapeError(f"scores: {len(scores)} frames but boxes has {len(boxes)}")
    if keypoints is not None and len(keypoints) != len(boxes):
        raise ShapeError(f"keypoints: {len(keypoints)} frames but boxes has {len(boxes)}")

    last_box: list[np.ndarray] = []  # per track (4,)
    velocity: list[np.ndarray | None] = []  # per track (4,) per frame, None until 2 sightings
    last_t: list[int] = []
    last_kp: list[np.ndarray | None] = []
    live: list[int] = []
    out: list[np.ndarray] = []

    for t, frame_boxes in enumerate(boxes):
        b = np.asarray(frame_boxes, np.float64).reshape(-1, 4)
        n = b.shape[0]
        ids = np.full(n, -1, np.int32)
        valid = np.isfinite(b).all(axis=1)
        s = (np.zeros(n) if scores is None
             else np.asarray(scores[t], np.float64).reshape(-1))
        if s.shape != (n,):
            raise ShapeError(f"scores[{t}]: expected ({n},), got {s.shape}", frame=t)
        kp = None
        if use_oks:
            kp = np.asarray(keypoints[t], np.float64)
            if kp.shape != (n, COCO17.num_joints, 2):
                raise ShapeError(f"keypoints[{t}]: expected ({n}, 17, 2), got {kp.shape}",
                                 frame=t)
        live = [k for k in live if t - last_t[k] - 1 <= cfg.max_gap]
        det = np.flatnonzero(valid)
        if live and det.size:
            gaps = np.array([t - last_t[k] for k in live], np.float64)
            prev = np.stack([last_box[k] for k in live])
            vel = np.stack([
                velocity[k] if velocity[k] is not None and cfg.motion == "constant_velocity"
                else np.zeros(4) for k in live
            ])
            pred = prev + vel * gaps[:, None]
            sim = box_iou(pred, b[det])
            if use_oks:
                shift = ((pred[:, :2] + pred[:, 2:]) - (prev[:, :2] + prev[:, 2:])) / 2.0
                kp_pred = np.stack([
                    last_kp[k] if last_kp[k] is not None else np.full((17, 2), np.nan)
                    for k in live
                ]) + shift[:, None, :]
                areas = np.clip(pred[:, 2:] - pred[:, :2], 0, None).prod(axis=1)
                oks = keypoint_oks(kp_pred, kp[det], areas)
                sim = np.where(np.isnan(oks), sim, oks)
            matches = _greedy_match(sim, threshold, s[det])
        else:
            matches = []
        matched = set()
        for r, c in matches:
            k, i = live[r], int(det[c])
            gap = t - last_t[k]
            step = (b[i] - last_box[k]) / gap
            velocity[k] = (step if velocity[k] is None
                           else _VELOCITY_MOMENTUM * step
                           + (1 - _VELOCITY_MOMENTUM) * velocity[k])
            last_box[k], last_t[k] = b[i], t
            if kp is not None:
                last_kp[k] = kp[i]
            ids[i] = k
            matched.add(i)
        for i in det.tolist():
            if i in matched:
                continue
            k = len(last_box)
            last_box.append(b[i])
            velocity.append(None)
            last_t.append(t)
            last_kp.append(kp[i] if kp is not None else None)
            live.append(k)
            ids[i] = k
        out.append(ids)
    return out


# ----------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class TrackSummary:
    """One track's ranking terms.

    Attributes:
        track_id: The id from :func:`associate_tracks`.
        n_frames: Frames the track was seen in.
        first_frame: First frame position it was seen in.
        last_frame: Last frame position it was seen in.
        duration: ``n_frames / T`` (T = frames in the sequence).
        mean_area: Mean box area (box clipped to the image) as a fraction of
            the image area.
        centrality: ``1 - |c - image centre| / half diagonal`` with ``c`` the
            mean box centre, in [0, 1].
        score: ``duration^a x mean_area^b x centrality^c`` (exponents from the
            config); higher is more likely the main person.
    """

    track_id: int
    n_frames: int
    first_frame: int
    last_frame: int
    duration: float
    mean_area: float
    centrality: float
    score: float


def rank_tracks(
    track_ids: Sequence[np.ndarray],
    boxes: Sequence[np.ndarray],
    width: int,
    height: int,
    cfg: TrackConfig | None = None,
) -> list[TrackSummary]:
    """Score every track, best first.

    Args:
        track_ids: Per frame ``(N_t,)`` ids (rows with id ``-1`` or a non-finite
            box are ignored).
        boxes: Per frame ``(N_t, 4)`` xyxy boxes.
        width: Image width in pixels.
        height: Image height in pixels.
        cfg: Exponents of the score (defaults if None).

    Returns:
        One :class:`TrackSummary` per track, sorted by decreasing score (ties:
        longer, then lower id).
    """
    cfg = cfg or TrackConfig()
    if width <= 0 or height <= 0:
        raise PosetoolsError(f"rank_tracks: image size must be positive, got {width}x{height}")
    ids, bx, frames = _flatten(track_ids, boxes)
    keep = (ids >= 0) & np.isfinite(bx).all(axis=1)
    ids, bx, frames = ids[keep], bx[keep], frames[keep]
    if ids.size == 0:
        return []
    n_tracks = int(ids.max()) + 1
    clipped = np.empty_like(bx)
    clipped[:, 0::2] = np.clip(bx[:, 0::2], 0, width)
    clipped[:, 1::2] = np.clip(bx[:, 1::2], 0, height)
    area = np.clip(clipped[:, 2:] - clipped[:, :2], 0, None).prod(axis=1) / (width * height)
    centre = (clipped[:, :2] + clipped[:, 2:]) / 2.0
    count = np.bincount(ids, minlength=n_tracks)
    present = np.flatnonzero(count)
    mean_area = np.bincount(ids, area, n_tracks)[present] / count[present]
    mean_c = np.stack([np.bincount(ids, centre[:, d], n_tracks)[present] for d in (0, 1)], 1)
    mean_c /= count[present, None]
    half_diag = np.hypot(width, height) / 2.0
    dist = np.hypot(mean_c[:, 0] - width / 2.0, mean_c[:, 1] - height / 2.0)
    centrality = np.clip(1.0 - dist / half_diag, 0.0, 1.0)
    duration = count[present] / max(len(track_ids), 1)
    score = (duration ** cfg.duration_exponent * mean_area ** cfg.area_exponent
             * centrality ** cfg.centrality_exponent)
    first = np.full(n_tracks, np.iinfo(np.int64).max)
    np.minimum.at(first, ids, frames)
    last = np.full(n_tracks, -1)
    np.maximum.at(last, ids, frames)
    out = [
        TrackSummary(int(k), int(count[k]), int(first[k]), int(last[k]), float(duration[j]),
                     float(mean_area[j]), float(centrality[j]), float(score[j]))
        for j, k in enumerate(present)
    ]
    out.sort(key=lambda s: (-s.score, -s.n_frames, s.track_id))
    return out


@dataclass(frozen=True)
class TrackSelection:
    """The main-person choice, recorded by the stage that makes it.

    Attributes:
        kept: Kept track ids, best first (slot ``p`` holds ``kept[p]`` when
            ``fixed_slots``).
        ranking: Every track's summary, best first.
        fixed_slots: True when a fixed number of persons is kept
            (``max_persons > 0``): pass it to :func:`pack_by_track`.
    """

    kept: tuple[int, ...]
    ranking: tuple[TrackSummary, ...]
    fixed_slots: bool

    def to_json(self) -> str:
        """JSON text of the selection (for an HDF5 attribute)."""
        return json.dumps({
            "kept": list(self.kept), "fixed_slots": self.fixed_slots,
            "ranking": [asdict(s) for s in self.ranking],
        })


def select_main_tracks(
    track_ids: Sequence[np.ndarray],
    boxes: Sequence[np.ndarray],
    width: int,
    height: int,
    cfg: TrackConfig | None = None,
) -> TrackSelection:
    """Keep the best ``cfg.max_persons`` tracks (all if 0) of at least ``cfg.min_frames`` frames.

    Args:
        track_ids: Per frame ``(N_t,)`` ids from :func:`associate_tracks`.
        boxes: Per frame ``(N_t, 4)`` xyxy boxes.
        width: Image width in pixels.
        height: Image height in pixels.
        cfg: Options (defaults if None).

    Returns:
        The :class:`TrackSelection`.
    """
    cfg = cfg or TrackConfig()
    ranking = rank_tracks(track_ids, boxes, width, height, cfg)
    eligible = [s.track_id for s in ranking if s.n_frames >= cfg.min_frames]
    kept = eligible[: cfg.max_persons] if cfg.max_persons > 0 else eligible
    return TrackSelection(tuple(kept), tuple(ranking), cfg.max_persons > 0)


# ----------------------------------------------------------------------- packing

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


def _flatten(
    track_ids: Sequence[np.ndarray], boxes: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate per-frame ids and boxes, with each row's frame position."""
    if len(track_ids) != len(boxes):
        raise ShapeError(f"boxes: {len(boxes)} frames but track_ids has {len(track_ids)}")
    ids = [np.asarray(x, np.int64).reshape(-1) for x in track_ids]
    bx = [np.asarray(x, np.float64).reshape(-1, 4) for x in boxes]
    for t, (i, b) in enumerate(zip(ids, bx, strict=True)):
        if i.shape[0] != b.shape[0]:
            raise ShapeError(f"boxes[{t}]: {b.shape[0]} rows but {i.shape[0]} track ids", frame=t)
    counts = [i.size for i in ids]
    frames = np.repeat(np.arange(len(ids)), counts)
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, 4)), frames
    return np.concatenate(ids), np.concatenate(bx), frames


__all__ = [
    "TrackConfig", "TrackSummary", "TrackSelection", "DEFAULT_FILLS", "box_iou", "keypoint_oks",
    "associate_tracks", "rank_tracks", "select_main_tracks", "pack_by_track",
]
