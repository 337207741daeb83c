"""Association of person instances across frames into tracks (pure numpy).

:func:`associate_tracks` gives every instance of every frame a track id (``0, 1,
2...`` in order of first appearance). Matching is greedy
(:func:`posetools.geometry.greedy_match`) on a similarity between each live track's
*predicted* box and the frame's boxes: the prediction moves the track's last box by
its smoothed per-frame velocity (constant-velocity model), so two people walking
past each other keep their ids while their boxes overlap. A track unseen for up to
``max_gap`` frames can still be continued; after that a new id starts. The
similarity is box IoU, or OKS on COCO-17 keypoints when requested and available.

Frames are positions in the sequences passed in (the stage's frame axis); a gap is
counted in those positions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config.algorithms import TrackConfig
from ..errors import ShapeError
from ..geometry import box_iou, greedy_match, oks
from ..skeletons import SkeletonLayout, oks_sigmas

_VELOCITY_MOMENTUM = 0.5  # weight of the newest displacement in the velocity average


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
    (``cfg.iou_threshold``), or, when ``cfg.use_oks`` and ``keypoints`` with their
    ``layout`` are given, the OKS (:func:`posetools.geometry.oks`, per-joint
    constants from :func:`posetools.skeletons.oks_sigmas`) between the track's last
    keypoints (shifted by its predicted box motion) and the frame's keypoints, with
    the predicted box area (at least 1e-9) as scale (``cfg.oks_threshold``); a pair
    sharing no visible joint falls back to IoU.

    Args:
        boxes: Per frame ``(N_t, 4)`` xyxy boxes. Rows with a non-finite value
            (padding) get id -1 and are ignored.
        scores: Per frame ``(N_t,)`` box scores (tie-breaking only), or None.
        cfg: Options (defaults if None).
        keypoints: Per frame ``(N_t, K, 2)`` keypoints (NaN = missing), for OKS.
        layout: Layout of ``keypoints`` (OKS needs it).

    Returns:
        Per frame ``(N_t,) int32`` track ids (``-1`` for ignored rows).

    Raises:
        ShapeError: A frame's arrays have inconsistent shapes.
    """
    cfg = cfg or TrackConfig()
    use_oks = cfg.use_oks and keypoints is not None and layout is not None
    if use_oks:
        n_k, sigmas = layout.num_joints, oks_sigmas(layout)
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
            if kp.shape != (n, n_k, 2):
                raise ShapeError(f"keypoints[{t}]: expected ({n}, {n_k}, 2), got {kp.shape}",
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
                    last_kp[k] if last_kp[k] is not None else np.full((n_k, 2), np.nan)
                    for k in live
                ]) + shift[:, None, :]
                areas = np.clip(pred[:, 2:] - pred[:, :2], 0, None).prod(axis=1)
                sim_k = oks(kp_pred, kp[det], np.maximum(areas, 1e-9), sigmas)
                sim = np.where(np.isnan(sim_k), sim, sim_k)
            col = greedy_match(sim, threshold, tie=s[det])
            matches = [(r, int(c)) for r, c in enumerate(col) if c >= 0]
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
