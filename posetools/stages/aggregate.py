"""The ``aggregate`` stage: SST-A over the experts of the ``estimate`` stage.

Reads ``estimate/<vid>.h5``, maps every expert to the common layout
(:func:`posetools.skeletons.convert_layout`), places each expert's rows on the
estimate's root frame axis (:func:`posetools.aggregate.place_on_frames`: an expert
with a frame stride has rows only where it ran; the others are "did not run" for
SST-A), and runs :func:`posetools.aggregate.ssta_aggregate_video`. The reference
expert (whose instance slots define the person tracks) is ``reference_expert`` or,
by default, the expert with the most instances over the video (ties: first
listed).

With ``refine`` set, each track is then refined in time
(:func:`posetools.temporal.refine_poses`: outliers, gap repair, smoothing): restarts
where the reference track id changes (:func:`posetools.aggregate.track_restarts`),
time from the frame axis ``pts``, and only the rows where an expert ran as samples
(so ``video.frame_stride`` and expert frame strides are both honoured). The refined
pose replaces ``keypoints``/``scores``/``valid`` and SST-A's is kept under ``raw/``.
Layout: :class:`~posetools.io.artifacts.aggregate.AggregateArtifact`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from ..aggregate import (
    VideoAggregate,
    choose_reference,
    place_on_frames,
    ssta_aggregate_video,
    track_restarts,
)
from ..config.algorithms import RefineConfig
from ..config.loader import semantic
from ..config.schema import AggregateConfig
from ..errors import PosetoolsError, ShapeError, StoreError
from ..io.artifacts.aggregate import AggregateArtifact, RefineRecord
from ..io.artifacts.estimate import EstimateArtifact
from ..skeletons import convert_layout, get_layout
from ..temporal import refine_poses
from .base import ProgressFn, Stage, VideoJob
from .common import upstream_file


@dataclass
class CommonAxis:
    """The experts of an estimate artifact in one layout, on the root frame axis.

    Attributes:
        keypoints: Per expert ``(T, P_k, K, 2) float32`` (NaN where it did not run).
        scores: Per expert ``(T, P_k, K) float32``.
        track_ids: Per expert ``(T, P_k) int32``.
        ran: ``(M, T) bool``.
        n_instances: Per expert ``(T,) int32`` (0 where it did not run).
    """

    keypoints: list[np.ndarray]
    scores: list[np.ndarray]
    track_ids: list[np.ndarray]
    ran: np.ndarray
    n_instances: list[np.ndarray]


def to_common_axis(est: EstimateArtifact, layout: str,
                   video_id: str | None = None) -> CommonAxis:
    """Map every expert of ``est`` to ``layout`` and to the root frames.

    Raises:
        StoreError: An expert's frames are not a subset of the root frames.
        ConfigError: An expert's layout cannot be converted to ``layout``.
    """
    fills = {"keypoints": np.nan, "scores": 0.0, "track_ids": -1}
    out = CommonAxis([], [], [], np.zeros((len(est.experts), est.frames.num_frames), bool), [])
    for e, ex in enumerate(est.experts):
        try:
            kp, sc = convert_layout(ex.keypoints, ex.scores, ex.layout, layout)
        except PosetoolsError as err:
            raise err.with_context(video_id=video_id) from None
        try:
            placed, ran = place_on_frames(
                est.frames.frame_index, ex.frame_index,
                {"keypoints": kp, "scores": sc,
                 "track_ids": np.asarray(ex.track_ids, np.int32)}, fills)
        except ShapeError as err:
            raise StoreError(f"expert '{ex.name}': {err.message}", video_id=video_id) from None
        out.ran[e] = ran
        out.keypoints.append(placed["keypoints"])
        out.scores.append(placed["scores"])
        out.track_ids.append(placed["track_ids"])
        out.n_instances.append((placed["scores"] > 0).any(axis=-1).sum(axis=-1).astype(np.int32))
    return out


class AggregateStage(Stage):
    """Selective Spatio-Temporal Aggregation of the estimate stage's experts."""

    name = "aggregate"
    version = "2"  # 2: aggregate.refine (raw/ and refine/ groups); SST-A fill stops at restarts
    config: AggregateConfig

    def inputs(self) -> tuple[str, ...]:
        """Reads the ``estimate`` artifact."""
        return ("estimate",)

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Aggregate one video; see the module docstring."""
        cfg = self.config
        with upstream_file(job, "estimate") as fh:
            est = EstimateArtifact.read(fh, job.video_id)
        inp = to_common_axis(est, cfg.layout, job.video_id)
        names = est.names
        if cfg.reference_expert is None:
            ref = choose_reference(inp.n_instances)
        elif cfg.reference_expert in names:
            ref = names.index(cfg.reference_expert)
        else:
            raise StoreError(
                f"aggregate.reference_expert {cfg.reference_expert!r} is not an expert of the "
                f"estimate artifact ({', '.join(names)})", video_id=job.video_id,
                stage=self.name)
        res = ssta_aggregate_video(inp.keypoints, inp.scores, inp.ran, cfg, reference=ref,
                                   track_ids=inp.track_ids[ref],
                                   frame_pos=est.frames.frame_index)
        params = self.params()
        kp, sc, valid, record = res.keypoints, res.scores, res.valid, None
        if cfg.refine is not None:
            kp, sc, valid, record = self._refine(cfg.refine, res, est.frames.pts,
                                                 inp.ran.any(axis=0), job.video_id)
        AggregateArtifact(
            est.frames, kp, sc, res.source_expert, res.confidence, valid, res.filled,
            res.track_ids, res.matched, inp.ran, tuple(get_layout(cfg.layout).joints),
            cfg.layout, tuple(names), names[ref], float(params["gamma"]),
            json.dumps(params, sort_keys=True), record).write(out)
        t = est.frames.num_frames
        progress(t)
        src = res.source_expert[res.source_expert >= 0]
        summary = {
            "frames": t,
            "persons": int(res.keypoints.shape[1]),
            "reference": names[ref],
            "valid": int(valid.sum()),
            "filled_joints": int(res.filled.sum()),
            "selected": {n: int((src == i).sum()) for i, n in enumerate(names)},
        }
        if record is not None:
            summary["refine"] = {"rejected_joints": int(record.rejected.sum()),
                                 "filled_joints": int(record.filled.sum())}
        return summary

    def _refine(self, rcfg: RefineConfig, res: VideoAggregate, pts: np.ndarray,
                sampled: np.ndarray, video_id: str,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, RefineRecord]:
        """The refined ``(keypoints, scores, valid)`` and the record kept beside them.

        Raises:
            StoreError: The frame axis ``pts`` cannot give a sample period.
        """
        try:
            r = refine_poses(res.keypoints, res.scores, res.valid, pts, rcfg,
                             restart=track_restarts(res.track_ids), sampled=sampled)
        except ValueError as e:
            raise StoreError(f"aggregate.refine: {e}", video_id=video_id,
                             stage=self.name) from None
        record = RefineRecord(res.keypoints, res.scores, res.valid, r.rejected, r.filled,
                              json.dumps(semantic(rcfg), sort_keys=True), r.sample_period)
        return r.keypoints, r.scores, r.valid, record
