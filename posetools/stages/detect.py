"""The ``detect`` stage: person boxes per frame, for top-down experts.

Decodes the video once (``video.frame_stride`` applies), runs the configured
detector on batches of frames and stores every frame's boxes — frames with
nobody stay present with ``n_instances = 0``. Layout: ``docs/formats.md``
("detect").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from ..errors import ExpertError, PosetoolsError, ShapeError
from ..experts.base import Detections, DetectorConfig, cached_detector, reset_model
from ..experts.batching import call_model
from ..experts.postprocess import finalize_detections
from ..video import iter_batches
from .base import ProgressFn, Stage, VideoJob
from .common import open_video, upstream_file, write_frames


@dataclass(frozen=True)
class DetectConfig:
    """Options of the ``detect`` stage.

    Attributes:
        detector: The person detector (backend, model, thresholds, runtime knobs).
    """

    detector: DetectorConfig = field(default_factory=DetectorConfig)


def pack_detections(dets: list[Detections]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pad per-frame detections into arrays.

    Args:
        dets: One :class:`Detections` per frame (``T`` frames).

    Returns:
        ``boxes (T, N, 4) float32`` (NaN padding), ``box_scores (T, N) float32``
        (0 padding), ``n_instances (T,) int32``, with ``N = max(1, max_t n_t)``.
    """
    n = np.array([len(d) for d in dets], np.int32)
    width = max(1, int(n.max(initial=0)))
    boxes = np.full((len(dets), width, 4), np.nan, np.float32)
    scores = np.zeros((len(dets), width), np.float32)
    for t, d in enumerate(dets):
        boxes[t, : len(d)] = d.boxes
        scores[t, : len(d)] = d.scores
    return boxes, scores, n


def read_detections(job: VideoJob) -> dict[int, Detections]:
    """The ``detect`` artifact of ``job`` as ``{original frame index: Detections}``."""
    with upstream_file(job, "detect") as fh:
        idx = fh["frame_index"][...]
        boxes = fh["boxes"][...]
        scores = fh["box_scores"][...]
        n = fh["n_instances"][...]
    return {
        int(i): Detections(boxes[t, : n[t]].astype(np.float32),
                           scores[t, : n[t]].astype(np.float32))
        for t, i in enumerate(idx)
    }


class DetectStage(Stage):
    """Run a person detector on every (strided) frame; see ``docs/formats.md``."""

    name = "detect"
    version = "1"

    def reads_video(self) -> bool:
        """The detector reads the frames."""
        return True

    def params(self) -> dict[str, Any]:
        """Semantic parameters: the detector's semantic fields and the frame stride."""
        return {
            "detector": self.pipeline.detect.detector.semantic(),
            "frame_stride": self.pipeline.video.frame_stride,
        }

    def model_checksum(self) -> str:
        """Checksum of the detector weights (model loaded once per process).

        A detector that cannot be built gives ``unavailable:<ErrorClass>``;
        :meth:`process` then fails each video with the real error.
        """
        try:
            return cached_detector(self.pipeline.detect.detector).checksum()
        except Exception as err:  # reported per video by process(), never here
            return f"unavailable:{type(err).__name__}"

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Detect persons in every selected frame and write the ``detect`` layout."""
        cfg = self.pipeline.detect.detector
        try:
            detector = cached_detector(cfg)
        except PosetoolsError as err:
            raise err.with_context(video_id=job.video_id, stage=self.name) from None
        except Exception as err:
            raise ExpertError(f"detector {cfg.backend}:{cfg.model or 'default'} cannot be "
                              f"built: {type(err).__name__}: {err}",
                              video_id=job.video_id, stage=self.name) from err
        reset_model(detector)
        reader = open_video(job, self.pipeline.video)
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
        write_frames(out, idx, pts, reader.info, self.pipeline.video.frame_stride)
        boxes, scores, n = pack_detections(dets)
        out.create_dataset("boxes", data=boxes)
        out.create_dataset("box_scores", data=scores)
        out.create_dataset("n_instances", data=n)
        a = out.attrs
        a["backend"] = cfg.backend
        a["model_id"] = detector.model_id
        a["model_checksum"] = detector.checksum()
        a["detector_json"] = json.dumps(cfg.semantic(), sort_keys=True)
        return {"frames": len(idx), "boxes": int(n.sum()), "empty_frames": int((n == 0).sum())}


__all__ = ["DetectConfig", "DetectStage", "pack_detections", "read_detections"]
