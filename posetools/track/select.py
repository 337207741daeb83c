"""Main-person selection: rank tracks by duration x area x centrality (pure numpy).

:func:`rank_tracks` scores each track by ``duration^a x mean_area^b x centrality^c``
(exponents in :class:`~posetools.config.algorithms.TrackConfig`) and
:func:`select_main_tracks` keeps the best ``max_persons``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..config.algorithms import TrackConfig
from ..errors import PosetoolsError, ShapeError


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
