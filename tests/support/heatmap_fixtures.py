"""Synthetic pose sequences and hand-written upstream artifacts for the heatmap tests.

The artifacts follow the documented ``aggregate`` layout (``docs/formats.md``);
the sequences are a COCO-17 figure walking across the frame and swinging its
arms, with occasional missing joints and a second person in part of the clip.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from posetools.io.manifest import ManifestEntry
from posetools.stages.base import VideoJob
from tests.support.artifacts import aggregate_artifact, frame_axis, write_artifact

# A standing COCO-17 figure in a unit box (x right, y down; "left" = subject's left).
TEMPLATE = np.array([
    [0.50, 0.10], [0.53, 0.08], [0.47, 0.08], [0.56, 0.10], [0.44, 0.10],
    [0.62, 0.25], [0.38, 0.25], [0.68, 0.42], [0.32, 0.42], [0.70, 0.58], [0.30, 0.58],
    [0.57, 0.58], [0.43, 0.58], [0.58, 0.78], [0.42, 0.78], [0.58, 0.97], [0.42, 0.97],
], dtype=np.float64)


def walking_sequence(
    n_frames: int,
    *,
    persons: int = 2,
    width: int = 640,
    height: int = 480,
    missing: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(keypoints (T,P,17,2), scores (T,P,17), valid (T,P))`` in source pixels.

    Person 0 is present in every frame; person ``p > 0`` only in the middle
    half of the clip (absent slots are NaN / 0 / False).
    """
    rng = np.random.default_rng(seed)
    kp = np.full((n_frames, persons, 17, 2), np.nan, np.float32)
    sc = np.zeros((n_frames, persons, 17), np.float32)
    valid = np.zeros((n_frames, persons), bool)
    for p in range(persons):
        body_h = height * (0.6 - 0.1 * p)
        for t in range(n_frames):
            if p > 0 and not (n_frames // 4 <= t < 3 * n_frames // 4):
                continue
            pose = TEMPLATE.copy()
            swing = 0.6 * np.sin(2 * np.pi * t / 30 + p)
            for shoulder, chain in ((5, (7, 9)), (6, (8, 10))):
                c, s = np.cos(swing), np.sin(swing)
                rel = pose[list(chain)] - pose[shoulder]
                pose[list(chain)] = pose[shoulder] + rel @ np.array([[c, s], [-s, c]])
            x0 = 0.1 * width + p * 0.35 * width + t * (0.3 * width / max(n_frames, 1))
            y0 = 0.2 * height
            xy = pose * body_h + np.array([x0, y0]) + rng.normal(0, 1.5, pose.shape)
            score = rng.uniform(0.3, 1.0, 17)
            gone = rng.random(17) < missing
            xy[gone] = np.nan
            score[gone] = 0
            kp[t, p], sc[t, p], valid[t, p] = xy, score, True
    return kp, sc, valid


def write_aggregate(
    path: Path,
    keypoints: np.ndarray,
    scores: np.ndarray,
    valid: np.ndarray,
    *,
    width: int = 640,
    height: int = 480,
    layout: str = "coco17",
    fps: float = 30.0,
) -> Path:
    """Write an ``aggregate/<vid>.h5`` artifact in the documented layout."""
    n_t = scores.shape[0]
    frames = frame_axis(np.arange(n_t) * 2, fps=fps, width=width, height=height, frame_stride=2)
    write_artifact(path, aggregate_artifact(keypoints, scores, valid, frames, layout=layout))
    return path


def make_job(out: Path, video_id: str, upstream: dict[str, Path]) -> VideoJob:
    """A :class:`VideoJob` for a non-video stage."""
    entry = ManifestEntry(video_id=video_id, path=out / f"{video_id}.mp4", row=1)
    return VideoJob(entry=entry, video_path=entry.path, out=out, upstream=upstream)


def run_heatmaps_stage(out: Path, video_id: str, config=None) -> tuple[Path, dict]:
    """Run :class:`HeatmapsStage` on ``OUT/aggregate/<video_id>.h5`` into ``OUT/heatmaps/``."""
    from posetools.config.schema import HeatmapsConfig, VideoConfig
    from posetools.stages.heatmaps import HeatmapsStage

    stage = HeatmapsStage(config or HeatmapsConfig(), VideoConfig())
    job = make_job(out, video_id, {"aggregate": out / "aggregate" / f"{video_id}.h5"})
    dest = out / "heatmaps" / f"{video_id}.h5"
    dest.parent.mkdir(parents=True, exist_ok=True)
    frames = []
    with h5py.File(dest, "w") as fh:
        summary = stage.process(job, fh, frames.append)
    summary["progress"] = sum(frames)
    return dest, summary
