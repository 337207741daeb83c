"""The ``detect`` stage: person boxes per frame, for top-down experts.

Decodes the video once (``video.frame_stride`` applies), runs the configured
detector on batches of frames, applies the detector config's thresholds and NMS
once (:func:`~posetools.experts.finalize.finalize_detections`) and stores every
frame's boxes — frames with nobody stay present with ``n_instances = 0``. Layout:
:class:`~posetools.io.artifacts.detect.DetectArtifact`.
"""

from __future__ import annotations

import json
from typing import Any

import h5py

from ..config.models import detector_params
from ..config.schema import DetectConfig
from ..errors import ExpertError, PosetoolsError, ShapeError
from ..experts.batching import call_model
from ..experts.build import cached_detector, reset_model
from ..experts.checksums import FileHash, model_checksum
from ..experts.finalize import finalize_detections
from ..experts.types import Detections
from ..io.artifacts.detect import DetectArtifact
from ..io.artifacts.frames import FrameAxis
from ..io.video import iter_batches
from .base import ProgressFn, Stage, VideoJob
from .common import open_video


def read_detections(fh: h5py.File, video_id: str | None = None) -> dict[int, Detections]:
    """A ``detect`` artifact as ``{original frame index: Detections}``."""
    art = DetectArtifact.read(fh, video_id)
    return {i: Detections(b, s) for i, (b, s) in art.per_frame().items()}


class DetectStage(Stage):
    """Run a person detector on every (strided) frame; see ``docs/formats.md``."""

    name = "detect"
    version = "1"
    config: DetectConfig

    def reads_video(self) -> bool:
        """The detector reads the frames."""
        return True

    def params(self) -> dict[str, Any]:
        """Semantic parameters: the detector's semantic fields and the frame stride."""
        return {"detector": detector_params(self.config.detector),
                "frame_stride": self.video.frame_stride}

    uses_models = True

    def model_checksum(self, file_hash: FileHash | None = None) -> str:
        """Checksum of the detector weights, from the files (no model is built).

        A detector whose weights or backend are missing gives ``unavailable:<ErrorClass>``;
        :meth:`process` then fails each video with the real error.
        """
        try:
            return model_checksum(self.config.detector, file_hash)
        except Exception as err:  # reported per video by process(), never here
            return f"unavailable:{type(err).__name__}"

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Detect persons in every selected frame and write the ``detect`` layout."""
        cfg = self.config.detector
        try:
            detector = cached_detector(cfg)
        except PosetoolsError as err:
            raise err.with_context(video_id=job.video_id, stage=self.name) from None
        except Exception as err:
            raise ExpertError(f"detector {cfg.backend}:{cfg.model or 'default'} cannot be "
                              f"built: {type(err).__name__}: {err}",
                              video_id=job.video_id, stage=self.name) from err
        reset_model(detector)
        reader = open_video(job, self.video)
        w, h = reader.info.width, reader.info.height
        what = f"detector {cfg.backend}:{detector.model_id}"
        idx: list[int] = []
        pts: list[float] = []
        dets: list[Detections] = []
        for batch in iter_batches(iter(reader), cfg.batch_size):
            raw = call_model(detector.detect, [f.image for f in batch], n=len(batch), what=what,
                             stage=self.name, video_id=job.video_id, frame=batch[0].index)
            for f, d in zip(batch, raw, strict=True):
                if d.boxes.shape != (len(d), 4) or d.scores.shape != (len(d),):
                    raise ShapeError(f"{what}: boxes {d.boxes.shape} / scores {d.scores.shape}",
                                     video_id=job.video_id, frame=f.index, stage=self.name)
                idx.append(f.index)
                pts.append(f.pts)
                dets.append(finalize_detections(d, cfg, w, h))
            progress(len(batch))
        boxes, scores, n = DetectArtifact.pack([d.boxes for d in dets], [d.scores for d in dets])
        DetectArtifact(FrameAxis.from_video(idx, pts, reader.info, self.video.frame_stride),
                       boxes, scores, n, cfg.backend, detector.model_id, detector.checksum(),
                       json.dumps(detector_params(cfg), sort_keys=True)).write(out)
        return {"frames": len(idx), "boxes": int(n.sum()), "empty_frames": int((n == 0).sum())}


__all__ = ["DetectStage", "read_detections"]
