"""Helpers shared by the stages that decode video or read upstream artifacts."""

from __future__ import annotations

import h5py
import numpy as np

from ..errors import MissingUpstreamError
from ..video import VideoInfo, VideoReader
from .base import VideoJob


def open_video(job: VideoJob, video_cfg) -> VideoReader:
    """A :class:`VideoReader` for ``job``.

    Honours the manifest's start/end and the pipeline's ``video`` section
    (``frame_stride``, ``truncation_tolerance``, ``prefetch``).
    """
    return VideoReader(
        job.video_path,
        video_id=job.video_id,
        frame_stride=video_cfg.frame_stride,
        start=job.entry.start,
        end=job.entry.end,
        truncation_tolerance=video_cfg.truncation_tolerance,
        prefetch=video_cfg.prefetch,
    )


def write_frames(out: h5py.File, frame_index: list[int] | np.ndarray, pts: list[float] | np.ndarray,
                 info: VideoInfo, frame_stride: int) -> None:
    """Write the frame axis every per-frame artifact shares.

    Datasets: ``frame_index (T,) int64`` (original indices), ``pts (T,) float64``
    (seconds). Attrs: ``width``, ``height`` (after rotation), ``rotation`` (clockwise
    degrees applied), ``frame_stride``, ``fps``, ``header_frames``, ``decoded_frames``
    (-1 when decoding stopped at ``end``), ``frame_count_mismatch``.
    """
    out.create_dataset("frame_index", data=np.asarray(frame_index, dtype=np.int64))
    out.create_dataset("pts", data=np.asarray(pts, dtype=np.float64))
    a = out.attrs
    a["width"] = info.width
    a["height"] = info.height
    a["rotation"] = info.rotation
    a["frame_stride"] = frame_stride
    a["fps"] = info.fps
    a["header_frames"] = info.header_frames
    a["decoded_frames"] = -1 if info.decoded_frames is None else info.decoded_frames
    a["frame_count_mismatch"] = bool(info.frame_count_mismatch)
    a["video_notes"] = "; ".join(info.notes)


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
