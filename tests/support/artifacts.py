"""Build complete artifacts for stage tests through the artifact classes (never by hand)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from posetools.io.artifacts.aggregate import AggregateArtifact
from posetools.io.artifacts.estimate import TRACK_COLUMNS, EstimateArtifact, ExpertPoses
from posetools.io.artifacts.frames import FrameAxis
from posetools.skeletons import get_layout


def frame_axis(frame_index, *, fps: float = 30.0, width: int = 640, height: int = 480,
               frame_stride: int = 1) -> FrameAxis:
    """A frame axis with ``pts = frame_index / fps``."""
    fi = np.asarray(frame_index, np.int64)
    return FrameAxis(fi, fi / fps, width, height, 0, frame_stride, fps, len(fi), len(fi), False,
                     "")


def expert_poses(name: str, frame_index, keypoints, scores, layout: str, *,
                 backend: str = "test", track_ids=None) -> ExpertPoses:
    """One expert's group: boxes NaN, one track per slot, no ranking detail."""
    kp = np.asarray(keypoints, np.float32)
    sc = np.asarray(scores, np.float32)
    t, p = kp.shape[:2]
    present = (sc > 0).any(-1)
    tid = (np.where(present, np.arange(p)[None], -1) if track_ids is None
           else np.asarray(track_ids)).astype(np.int32)
    tracks = {c: np.zeros(0, np.float64) for c in TRACK_COLUMNS}
    return ExpertPoses(name, np.asarray(frame_index, np.int64), kp, sc,
                       np.full((t, p, 4), np.nan, np.float32), np.zeros((t, p), np.float32),
                       tid, present.sum(-1).astype(np.int32), present.sum(-1).astype(np.int32),
                       tracks, layout, backend, f"{name}-model", "", False, 1, p, "{}", "{}",
                       tuple(get_layout(layout).joints))


def write_estimate(path: Path, frames: FrameAxis, *experts: ExpertPoses) -> Path:
    """Write an estimate artifact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as fh:
        EstimateArtifact(frames, tuple(experts)).write(fh)
    return path


def aggregate_artifact(keypoints, scores, valid, frames: FrameAxis, *,
                       layout: str = "coco17") -> AggregateArtifact:
    """An aggregate of one synthetic expert that matched every valid slot."""
    sc = np.asarray(scores, np.float32)
    valid = np.asarray(valid, bool)
    t, p = sc.shape[:2]
    slots = np.where(valid, np.arange(p)[None], -1)
    return AggregateArtifact(
        frames, np.asarray(keypoints, np.float32), sc, np.where(sc > 0, 0, -1).astype(np.int8),
        sc.mean(-1).astype(np.float32) if sc.size else np.zeros((t, p), np.float32), valid,
        np.zeros(sc.shape, bool), slots.astype(np.int32), slots[None].astype(np.int16),
        np.ones((1, t), bool), tuple(get_layout(layout).joints), layout, ("synthetic",),
        "synthetic", 0.18, "{}")


def write_artifact(path: Path, artifact) -> Path:
    """Write any artifact object with a ``write(fh)`` method to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as fh:
        artifact.write(fh)
    return path
