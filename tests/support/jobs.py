"""Run a stage's ``process`` directly on one video (no runner), for stage tests."""

from __future__ import annotations

from pathlib import Path

import h5py

from posetools.io.manifest import ManifestEntry
from posetools.stages.base import Stage, VideoJob


def make_job(path: Path, **upstream: Path) -> VideoJob:
    """A job for the video at ``path`` (id = file stem) with the given upstream artifacts."""
    return VideoJob(entry=ManifestEntry(video_id=path.stem, path=path, row=1), video_path=path,
                    out=path.parent, upstream=upstream)


def run_process(stage: Stage, job: VideoJob, out_path: Path) -> tuple[dict, int]:
    """Run ``stage.process`` into ``out_path``; return its summary and the frames it reported."""
    seen: list[int] = []
    with h5py.File(out_path, "w") as fh:
        summary = stage.process(job, fh, progress=seen.append)
    return summary, sum(seen)
