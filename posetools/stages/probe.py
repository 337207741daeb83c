"""The ``probe`` stage: decode every frame and record the frame axis.

Proves the ingest path on a video (pts, shape, rotation, decoded vs header
count) and gives later stages and users a cheap per-video summary. Layout:
:class:`~posetools.io.artifacts.probe.ProbeArtifact`.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from ..config.loader import semantic
from ..config.schema import ProbeConfig
from ..io.artifacts.frames import FrameAxis
from ..io.artifacts.probe import ProbeArtifact
from .base import ProgressFn, Stage, VideoJob
from .common import open_video


class ProbeStage(Stage):
    """Decode a video and store its frame axis (see ``docs/formats.md``)."""

    name = "probe"
    version = "1"
    config: ProbeConfig

    def reads_video(self) -> bool:
        """Probe reads the video."""
        return True

    def params(self) -> dict[str, Any]:
        """The ingest options and the probe options."""
        return {**semantic(self.video), **semantic(self.config)}

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Decode all selected frames; write ``frame_index``, ``pts``, ``mean_luma``."""
        reader = open_video(job, self.video)
        idx, pts, luma = [], [], []
        for f in reader:
            idx.append(f.index)
            pts.append(f.pts)
            if self.config.brightness:
                luma.append(float(f.image.mean(dtype=np.float64)))
            progress(1)
        info = reader.info
        ProbeArtifact(FrameAxis.from_video(idx, pts, info, self.video.frame_stride),
                      np.asarray(luma, dtype=np.float32) if self.config.brightness else None,
                      info.pix_fmt, info.codec).write(out)
        return {"frames": len(idx), "decoded": info.decoded_frames,
                "mismatch": info.frame_count_mismatch}
