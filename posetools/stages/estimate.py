"""The ``estimate`` stage: 2D poses per frame from one or more experts.

The video is decoded once (``video.frame_stride`` applies, decoding runs in a
background thread overlapping inference) and every expert runs on each batch of
frames; each expert's raw output is finalized once
(:func:`~posetools.experts.finalize.finalize_poses`). Per expert, instances are
associated into tracks across frames, the top ``track.max_persons`` tracks are kept
(main person selection; the ranking of all tracks is stored) and packed into
``(T_k, P, ...)`` arrays (:func:`posetools.track.track_and_pack`). Top-down experts
read their boxes from the ``detect`` stage. An import expert
(:class:`~posetools.experts.types.PoseSource`, ``backend: import``) is read once
per video and gives each decoded frame the instances recorded for its original
frame index (zero when none). A failing expert raises
:class:`~posetools.errors.ExpertError` (a bad import file
:class:`~posetools.errors.FormatError`) with the video, frame and stage, which the
runner records as a failure of this video. Layout:
:class:`~posetools.io.artifacts.estimate.EstimateArtifact`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..config.loader import semantic
from ..config.models import ExpertConfig, expert_params
from ..config.schema import EstimateConfig
from ..errors import ExpertError, MissingUpstreamError, PosetoolsError, ShapeError
from ..experts.batching import call_model, chunks
from ..experts.build import cached_expert, reset_model
from ..experts.checksums import FileHash, model_checksum
from ..experts.finalize import finalize_poses
from ..experts.types import Detections, Poses, PoseSource, SourcePoses
from ..io.artifacts.estimate import EstimateArtifact, ExpertPoses
from ..io.artifacts.frames import FrameAxis
from ..io.manifest import ManifestEntry
from ..io.video import Frame, iter_batches
from ..track import track_and_pack
from .base import ProgressFn, Stage, VideoJob
from .common import open_video, upstream_file
from .detect import read_detections


@dataclass
class _Run:
    """Per-expert accumulation over one video."""

    cfg: ExpertConfig
    expert: Any
    source: SourcePoses | None = None
    frame_index: list[int] = field(default_factory=list)
    poses: list[Poses] = field(default_factory=list)

    @property
    def what(self) -> str:
        return f"expert '{self.cfg.name}' ({self.cfg.backend}:{self.expert.model_id})"

    @property
    def layout(self):
        return self.source.layout if self.source is not None else self.expert.layout


class EstimateStage(Stage):
    """Run every configured pose expert on a video; see ``docs/formats.md``."""

    name = "estimate"
    version = "1"
    config: EstimateConfig

    def inputs(self) -> tuple[str, ...]:
        """``("detect",)`` when some expert is top-down, else nothing."""
        return ("detect",) if any(e.top_down for e in self.config.experts) else ()

    def reads_video(self) -> bool:
        """The experts read the frames."""
        return True

    def params(self) -> dict[str, Any]:
        """Semantic parameters: experts (no device/batch size), tracking, frame stride."""
        return {"experts": [expert_params(e) for e in self.config.experts],
                "track": semantic(self.config.track),
                "frame_stride": self.video.frame_stride}

    uses_models = True

    def model_checksum(self, file_hash: FileHash | None = None) -> str:
        """``name=checksum`` of every expert's weights, ``;``-joined (no model is built).

        An expert whose backend or weights are missing gives
        ``name=unavailable:<ErrorClass>`` here; :meth:`process` then fails each
        video with the real error, recorded in the ledger.
        """
        parts = []
        for e in self.config.experts:
            try:
                parts.append(f"{e.name}={model_checksum(e, file_hash)}")
            except Exception as err:  # reported per video by process(), never here
                parts.append(f"{e.name}=unavailable:{type(err).__name__}")
        return ";".join(parts)

    def extra_inputs(self, entry: ManifestEntry) -> list[Path]:
        """The files the ``import`` experts read for this video."""
        return [p for e in self.config.experts if e.backend == "import"
                for p in e.import_inputs(entry.video_id)]

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Estimate poses with every expert and write the ``estimate`` layout."""
        cfg = self.config
        runs = []
        for e in cfg.experts:
            expert = _build(e, job, self.name)
            reset_model(expert)
            run = _Run(e, expert)
            if isinstance(expert, PoseSource):
                run.source = _load_source(run, job, self.name)
            runs.append(run)
        dets = None
        if any(e.top_down for e in cfg.experts):
            with upstream_file(job, "detect") as fh:
                dets = read_detections(fh, job.video_id)
        reader = open_video(job, self.video)
        idx: list[int] = []
        pts: list[float] = []
        decode_batch = max(e.batch_size for e in cfg.experts)
        for batch in iter_batches(iter(reader), decode_batch):
            pos0 = len(idx)
            idx.extend(f.index for f in batch)
            pts.extend(f.pts for f in batch)
            for run in runs:
                stride = run.cfg.frame_stride
                mine = [f for j, f in enumerate(batch) if (pos0 + j) % stride == 0]
                if run.source is not None:
                    for f in mine:
                        run.frame_index.append(f.index)
                        run.poses.append(finalize_poses(run.source.at(f.index), run.cfg))
                    continue
                for chunk in chunks(mine, run.cfg.batch_size):
                    self._run_chunk(run, list(chunk), dets, job)
            progress(len(batch))
        info = reader.info
        experts = tuple(self._track(run, info.width, info.height) for run in runs)
        EstimateArtifact(FrameAxis.from_video(idx, pts, info, self.video.frame_stride),
                         experts).write(out)
        summary: dict[str, Any] = {"frames": len(idx)}
        for run, e in zip(runs, experts, strict=True):
            summary[e.name] = {
                "frames": len(e.frame_index),
                "frames_with_person": int((e.n_instances > 0).sum()),
                "tracks": int(e.tracks["id"].size),
                "kept": int(e.tracks["kept"].sum()),
            }
            if run.source is not None:
                summary[e.name].update(_source_summary(run, idx, job, self.name))
        return summary

    def _run_chunk(self, run: _Run, chunk: list[Frame], dets: dict[int, Detections] | None,
                   job: VideoJob) -> None:
        boxes = None
        if run.cfg.top_down:
            assert dets is not None
            missing = [f.index for f in chunk if f.index not in dets]
            if missing:
                raise MissingUpstreamError(
                    f"the detect artifact has no boxes for frame {missing[0]} (was it computed "
                    f"with another video.frame_stride or start/end?)",
                    video_id=job.video_id, frame=missing[0], stage=self.name,
                )
            boxes = [dets[f.index] for f in chunk]
        res = call_model(run.expert.estimate, [f.image for f in chunk], boxes, n=len(chunk),
                         what=run.what, stage=self.name, video_id=job.video_id,
                         frame=chunk[0].index)
        k = run.layout.num_joints
        for f, p in zip(chunk, res, strict=True):
            n = len(p)
            if (p.keypoints.shape != (n, k, 2) or p.scores.shape != (n, k)
                    or p.boxes.shape != (n, 4) or p.box_scores.shape != (n,)):
                raise ShapeError(
                    f"{run.what}: expected keypoints ({n}, {k}, 2), scores ({n}, {k}), boxes "
                    f"({n}, 4), box_scores ({n},); got {p.keypoints.shape}, {p.scores.shape}, "
                    f"{p.boxes.shape}, {p.box_scores.shape}",
                    video_id=job.video_id, frame=f.index, stage=self.name,
                )
            run.frame_index.append(f.index)
            run.poses.append(finalize_poses(p, run.cfg))

    def _track(self, run: _Run, width: int, height: int) -> ExpertPoses:
        layout = run.layout
        fi = np.asarray(run.frame_index, np.int64)
        packed, tracks, selection_json = track_and_pack(
            [p.keypoints for p in run.poses], [p.scores for p in run.poses],
            [p.boxes for p in run.poses], [p.box_scores for p in run.poses],
            fi, layout, self.config.track, width, height)
        return ExpertPoses(
            run.cfg.name, fi, *(packed[n] for n in ("keypoints", "scores", "boxes", "box_scores",
                                                     "track_ids", "n_instances", "n_detected")),
            tracks, layout.name, run.cfg.backend, run.expert.model_id, run.expert.checksum(),
            bool(run.cfg.top_down), run.cfg.frame_stride, self.config.track.max_persons,
            json.dumps(expert_params(run.cfg), sort_keys=True), selection_json,
            tuple(layout.joints))


def _load_source(run: _Run, job: VideoJob, stage: str) -> SourcePoses:
    """Read an import expert's poses of this video; errors carry the video and stage."""
    try:
        return run.expert.load(job.video_id)
    except PosetoolsError as err:
        err.message = f"{run.what}: {err.message}"
        raise err.with_context(video_id=job.video_id, stage=stage) from None


def _source_summary(run: _Run, decoded: list[int], job: VideoJob, stage: str) -> dict[str, Any]:
    """What an import expert matched; no matching frame at all is an error (wrong numbering)."""
    src = run.source
    assert src is not None
    listed = np.asarray(src.frames, np.int64)
    matched = np.isin(listed, np.asarray(decoded, np.int64))
    with_person = np.asarray(sorted(src.by_frame), np.int64)
    if listed.size and not matched.any():
        raise ExpertError(
            f"{run.what}: none of the {listed.size} frames the file lists "
            f"({int(listed.min())}..{int(listed.max())}) is a frame of the video "
            f"({decoded[0]}..{decoded[-1]}); check frame_pattern / frame_offset "
            f"({src.description})", video_id=job.video_id, stage=stage)
    return {"source": src.description, "frames_listed": int(listed.size),
            "frames_matched": int(matched.sum()),
            "frames_with_person_outside_video": int((~np.isin(with_person, decoded)).sum())}


def _build(cfg: ExpertConfig, job: VideoJob, stage: str):
    """The cached expert of ``cfg``; build failures carry the video and stage."""
    try:
        return cached_expert(cfg)
    except PosetoolsError as err:
        raise err.with_context(video_id=job.video_id, stage=stage) from None
    except Exception as err:
        raise ExpertError(
            f"expert '{cfg.name}' ({cfg.backend}:{cfg.model or 'default'}) cannot be built: "
            f"{type(err).__name__}: {err}", video_id=job.video_id, stage=stage,
        ) from err


__all__ = ["EstimateStage"]
