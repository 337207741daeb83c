"""The ``probe`` stage: decode every frame and record the frame axis.

Proves the ingest path on a video (pts, shape, rotation, decoded vs header
count) and gives later stages and users a cheap per-video summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from .base import ProgressFn, Stage, VideoJob
from .common import open_video, write_frames


@dataclass(frozen=True)
class ProbeConfig:
    """Options of the ``probe`` stage.

    Attributes:
        brightness: Also store per-frame mean luma (``mean_luma (T,) float32``),
            handy for spotting black or blank segments.
    """

    brightness: bool = True


class ProbeStage(Stage):
    """Decode a video and store its frame axis (see ``docs/formats.md``)."""

    name = "probe"
    version = "1"

    def reads_video(self) -> bool:
        """Probe reads the video."""
        return True

    def params(self) -> dict[str, Any]:
        """Semantic parameters."""
        return {
            "frame_stride": self.pipeline.video.frame_stride,
            "truncation_tolerance": self.pipeline.video.truncation_tolerance,
            "brightness": self.pipeline.probe.brightness,
        }

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Decode all selected frames; write ``frame_index``, ``pts``, ``mean_luma``."""
        reader = open_video(job, self.pipeline.video)
        idx, pts, luma = [], [], []
        for f in reader:
            idx.append(f.index)
            pts.append(f.pts)
            if self.pipeline.probe.brightness:
                luma.append(float(f.image.mean(dtype=np.float64)))
            progress(1)
        write_frames(out, idx, pts, reader.info, self.pipeline.video.frame_stride)
        if self.pipeline.probe.brightness:
            out.create_dataset("mean_luma", data=np.asarray(luma, dtype=np.float32))
        out.attrs["pix_fmt"] = reader.info.pix_fmt
        out.attrs["codec"] = reader.info.codec
        return {"frames": len(idx), "decoded": reader.info.decoded_frames,
                "mismatch": reader.info.frame_count_mismatch}
