"""Helpers shared by the stages that decode video or read upstream artifacts."""

from __future__ import annotations

import h5py

from ..config.schema import VideoConfig
from ..errors import MissingUpstreamError
from ..io.video import VideoReader
from .base import VideoJob


def open_video(job: VideoJob, video: VideoConfig) -> VideoReader:
    """A :class:`~posetools.io.video.VideoReader` for ``job``.

    Honours the manifest's start/end and the ``video`` section (``frame_stride``,
    ``truncation_tolerance``, ``prefetch``).
    """
    return VideoReader(
        job.video_path,
        video_id=job.video_id,
        frame_stride=video.frame_stride,
        start=job.entry.start,
        end=job.entry.end,
        truncation_tolerance=video.truncation_tolerance,
        prefetch=video.prefetch,
    )


def upstream_file(job: VideoJob, stage: str) -> h5py.File:
    """Open the committed upstream artifact of ``stage`` read-only.

    Raises:
        MissingUpstreamError: If the runner did not provide it.
    """
    path = job.upstream.get(stage)
    if path is None or not path.is_file():
        raise MissingUpstreamError(
            f"needs the committed output of stage '{stage}' (run it first)", video_id=job.video_id
        )
    return h5py.File(path, "r")
