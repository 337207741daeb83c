"""The ``estimate`` stage: 2D poses per frame from one or more experts.

The video is decoded once (``video.frame_stride`` applies, decoding runs in a
background thread overlapping inference) and every expert runs on each batch of
frames. Per expert, instances are associated into tracks across frames
(:mod:`posetools.track`), the top ``track.max_persons`` tracks are kept (main
person selection; the ranking of all tracks is stored) and packed into
``(T_k, P, ...)`` arrays. Top-down experts read their boxes from the ``detect``
stage. A failing expert raises :class:`~posetools.errors.ExpertError` with the
video, frame and stage, which the runner records as a failure of this video.
Layout: ``docs/formats.md`` ("estimate").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from ..config import require
from ..errors import (
    ConfigError,
    ExpertError,
    MissingUpstreamError,
    PosetoolsError,
    ShapeError,
)
from ..experts.base import Detections, ExpertConfig, Poses, cached_expert, reset_model
from ..experts.batching import call_model, chunks
from ..experts.postprocess import finalize_poses
from ..skeletons import COCO17, SkeletonLayout, convert_layout
from ..store import write_strings
from ..track import TrackConfig, associate_tracks, pack_by_track, select_main_tracks
from ..video import Frame, iter_batches
from .base import ProgressFn, Stage, VideoJob
from .common import open_video, write_frames
from .detect import read_detections


def _default_experts() -> tuple[ExpertConfig, ...]:
    return (ExpertConfig(name="blazepose", backend="mediapipe"),)


@dataclass(frozen=True)
class EstimateConfig:
    """Options of the ``estimate`` stage.

    Attributes:
        experts: The pose experts, each run once per video (at least one; unique
            names). Default: BlazePose via MediaPipe, single main person.
        track: Association across frames and main-person selection
            (``track.max_persons`` instances are kept per frame).
    """

    experts: tuple[ExpertConfig, ...] = field(default_factory=_default_experts)
    track: TrackConfig = field(default_factory=TrackConfig)

    def __post_init__(self) -> None:
        require(len(self.experts) >= 1, "experts: list at least one expert")
        names = [e.name for e in self.experts]
        dup = sorted({n for n in names if names.count(n) > 1})
        require(not dup, f"experts: duplicate expert name(s) {dup}")


@dataclass
class _Run:
    """Per-expert accumulation over one video."""

    cfg: ExpertConfig
    expert: Any
    frame_index: list[int] = field(default_factory=list)
    poses: list[Poses] = field(default_factory=list)

    @property
    def what(self) -> str:
        return f"expert '{self.cfg.name}' ({self.cfg.backend}:{self.expert.model_id})"


class EstimateStage(Stage):
    """Run every configured pose expert on a video; see ``docs/formats.md``."""

    name = "estimate"
    version = "1"

    def inputs(self) -> tuple[str, ...]:
        """``("detect",)`` when some expert is top-down, else nothing."""
        return ("detect",) if any(e.top_down for e in self.pipeline.estimate.experts) else ()

    def reads_video(self) -> bool:
        """The experts read the frames."""
        return True

    def params(self) -> dict[str, Any]:
        """Semantic parameters: experts (no device/batch size), tracking, frame stride."""
        cfg = self.pipeline.estimate
        return {
            "experts": [e.semantic() for e in cfg.experts],
            "track": _plain(cfg.track),
            "frame_stride": self.pipeline.video.frame_stride,
        }

    def model_checksum(self) -> str:
        """``name=checksum`` of every expert's weights, ``;``-joined.

        An expert that cannot be built (missing backend, missing weights) gives
        ``name=unavailable:<ErrorClass>`` here; :meth:`process` then fails each
        video with the real error, recorded in the ledger.
        """
        parts = []
        for e in self.pipeline.estimate.experts:
            try:
                parts.append(f"{e.name}={cached_expert(e).checksum()}")
            except Exception as err:  # reported per video by process(), never here
                parts.append(f"{e.name}=unavailable:{type(err).__name__}")
        return ";".join(parts)

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Estimate poses with every expert and write the ``estimate`` layout."""
        cfg = self.pipeline.estimate
        runs = []
        for e in cfg.experts:
            expert = _build(e, job, self.name)
            reset_model(expert)
            runs.append(_Run(e, expert))
        dets = read_detections(job) if any(e.top_down for e in cfg.experts) else None
        reader = open_video(job, self.pipeline.video)
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
                for chunk in chunks(mine, run.cfg.batch_size):
                    self._run_chunk(run, list(chunk), dets, job)
            progress(len(batch))
        width, height = reader.info.width, reader.info.height
        write_frames(out, idx, pts, reader.info, self.pipeline.video.frame_stride)
        out.attrs["experts"] = json.dumps([e.name for e in cfg.experts])
        summary: dict[str, Any] = {"frames": len(idx)}
        grp = out.create_group("experts")
        for run in runs:
            summary[run.cfg.name] = self._write_expert(grp, run, width, height)
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
        k = run.expert.layout.num_joints
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

    def _write_expert(self, grp: h5py.Group, run: _Run, width: int, height: int) -> dict:
        cfg = self.pipeline.estimate
        layout = run.expert.layout
        packed, tracks, selection_json = track_and_pack(
            run.poses, np.asarray(run.frame_index, np.int64), layout, cfg.track, width, height
        )
        g = grp.create_group(run.cfg.name)
        g.create_dataset("frame_index", data=np.asarray(run.frame_index, np.int64))
        for name in ("keypoints", "scores", "boxes", "box_scores", "track_ids", "n_instances",
                     "n_detected"):
            g.create_dataset(name, data=packed[name])
        tg = g.create_group("tracks")
        for col, arr in tracks.items():
            tg.create_dataset(col, data=arr)
        a = g.attrs
        a["layout"] = layout.name
        a["backend"] = run.cfg.backend
        a["model_id"] = run.expert.model_id
        a["model_checksum"] = run.expert.checksum()
        a["top_down"] = bool(run.cfg.top_down)
        a["frame_stride"] = run.cfg.frame_stride
        a["max_persons"] = cfg.track.max_persons
        a["expert_json"] = json.dumps(run.cfg.semantic(), sort_keys=True)
        a["selection_json"] = selection_json
        write_strings(g, "joint_names", list(layout.joints))
        return {
            "frames": len(run.frame_index),
            "frames_with_person": int((packed["n_instances"] > 0).sum()),
            "tracks": int(tracks["id"].size),
            "kept": int(tracks["kept"].sum()),
        }


def track_and_pack(
    poses: list[Poses],
    frame_index: np.ndarray,
    layout: SkeletonLayout,
    cfg: TrackConfig,
    width: int,
    height: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], str]:
    """Associate one expert's instances into tracks, keep the main ones and pad.

    Args:
        poses: One :class:`Poses` per frame the expert ran on (``T_k`` frames).
        frame_index: ``(T_k,)`` original frame indices of those frames.
        layout: The expert's layout (``K`` joints).
        cfg: Tracking and selection options.
        width: Frame width in pixels.
        height: Frame height in pixels.

    Returns:
        ``(packed, tracks, selection_json)``. ``packed``: ``keypoints (T_k, P, K, 2)
        float32`` (NaN padding), ``scores (T_k, P, K) float32`` (0), ``boxes (T_k, P, 4)
        float32`` (NaN), ``box_scores (T_k, P) float32`` (0), ``track_ids (T_k, P) int32``
        (-1), ``n_instances (T_k,) int32`` (kept instances), ``n_detected (T_k,) int32``
        (instances before selection). ``P = max_persons`` when it is > 0, else the
        largest number of instances in a frame (at least 1); slot ``p`` holds the
        ``p``-th ranked kept track. ``tracks``: one row per track, best first:
        ``id, n_frames, first_frame, last_frame`` (original frame indices),
        ``duration, mean_area, centrality, score`` (float64), ``kept`` (bool),
        ``rank`` (int32).
    """
    k = layout.num_joints
    boxes = [p.boxes for p in poses]
    kps = None
    if cfg.use_oks:
        try:
            kps = [convert_layout(p.keypoints, p.scores, layout, COCO17)[0] for p in poses]
        except ConfigError:
            kps = None  # no COCO-17 view of this layout: IoU only
    ids = associate_tracks(boxes, [p.box_scores for p in poses], cfg,
                           keypoints=kps, layout=COCO17 if kps is not None else None)
    sel = select_main_tracks(ids, boxes, width, height, cfg)
    empty = Poses.empty(k)
    per = poses if poses else []
    packed = pack_by_track(
        ids, sel.kept,
        {"keypoints": [p.keypoints for p in per], "scores": [p.scores for p in per],
         "boxes": [p.boxes for p in per], "box_scores": [p.box_scores for p in per]},
        fixed_slots=sel.fixed_slots,
    )
    t = len(poses)
    want = cfg.max_persons if cfg.max_persons > 0 else max(1, packed["track_ids"].shape[1])
    packed = _pad_slots(packed, want, t, k, empty)
    packed["n_detected"] = np.array([len(p) for p in poses], np.int32)
    rank = {tid: r for r, tid in enumerate(sel.kept)}
    fi = np.asarray(frame_index, np.int64)
    rows = sel.ranking
    tracks = {
        "id": np.array([s.track_id for s in rows], np.int32),
        "n_frames": np.array([s.n_frames for s in rows], np.int32),
        "first_frame": np.array([fi[s.first_frame] for s in rows], np.int64),
        "last_frame": np.array([fi[s.last_frame] for s in rows], np.int64),
        "duration": np.array([s.duration for s in rows], np.float64),
        "mean_area": np.array([s.mean_area for s in rows], np.float64),
        "centrality": np.array([s.centrality for s in rows], np.float64),
        "score": np.array([s.score for s in rows], np.float64),
        "kept": np.array([s.track_id in rank for s in rows], bool),
        "rank": np.array([rank.get(s.track_id, -1) for s in rows], np.int32),
    }
    return packed, tracks, sel.to_json()


def _pad_slots(packed: dict[str, np.ndarray], p_want: int, t: int, k: int,
               empty: Poses) -> dict[str, np.ndarray]:
    """Grow the instance axis to ``p_want`` slots with the padding conventions."""
    shapes = {"keypoints": ((k, 2), np.float32, np.nan), "scores": ((k,), np.float32, 0.0),
              "boxes": ((4,), np.float32, np.nan), "box_scores": ((), np.float32, 0.0),
              "track_ids": ((), np.int32, -1)}
    out = {}
    for name, (tail, dtype, fill) in shapes.items():
        arr = np.full((t, p_want, *tail), fill, dtype)
        src = np.asarray(packed[name])
        p_have = min(src.shape[1], p_want) if src.ndim >= 2 else 0
        if p_have:
            arr[:, :p_have] = src[:, :p_have].reshape(t, p_have, *tail)
        out[name] = arr
    out["n_instances"] = (out["track_ids"] >= 0).sum(axis=1).astype(np.int32)
    return out


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


def _plain(obj: Any) -> Any:
    from ..config import to_dict

    return to_dict(obj)


__all__ = ["EstimateConfig", "EstimateStage", "track_and_pack"]
