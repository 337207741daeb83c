"""The ``aggregate`` stage: SST-A over the experts of the ``estimate`` stage.

Reads ``estimate/<vid>.h5``, maps every expert to the common layout
(:func:`posetools.skeletons.convert_layout`), places each expert's rows on the
estimate's root frame axis (an expert with a frame stride has rows only where it
ran; the others are "did not run" for SST-A), and runs
:func:`posetools.ssta.ssta_aggregate_video`. The reference expert (whose
instance slots define the person tracks) is ``reference_expert`` or, by
default, the expert with the most instances over the video (ties: first
listed). Layout: ``docs/formats.md`` ("aggregate").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from ..config import to_dict
from ..errors import PosetoolsError, StoreError
from ..skeletons import convert_layout, get_layout
from ..ssta import SSTAConfig, VideoAggregate, choose_reference, ssta_aggregate_video
from ..store import write_strings
from .base import ProgressFn, Stage, VideoJob
from .common import upstream_file

FRAME_ATTRS = ("width", "height", "rotation", "frame_stride", "fps", "header_frames",
               "decoded_frames", "frame_count_mismatch", "video_notes")
"""Root attributes describing the frame axis, copied from the upstream artifact."""


@dataclass(frozen=True)
class AggregateConfig(SSTAConfig):
    """Options of the ``aggregate`` stage: the SST-A options plus the reference expert.

    Every :class:`~posetools.ssta.SSTAConfig` field (defaults: the thesis).

    The reference script's choices are ``{gamma: 0.06, confidence_joints: limbs,
    normalizer: shoulder_width, low_confidence: zero_confidence}``.

    Attributes:
        reference_expert: Name of the expert whose instance slots define the
            tracks; ``None``: the one with the most instances (ties: first listed).
    """

    reference_expert: str | None = None


@dataclass
class EstimateInputs:
    """The estimate artifact of one video, mapped to the common layout and frame axis.

    Attributes:
        frame_index: ``(T,) int64`` root frame indices.
        pts: ``(T,) float64``.
        attrs: Frame-axis root attributes to copy.
        names: Expert names in config order.
        keypoints: Per expert ``(T, P_k, K, 2) float32`` (NaN where it did not run).
        scores: Per expert ``(T, P_k, K) float32``.
        track_ids: Per expert ``(T, P_k) int32``.
        ran: ``(M, T) bool``.
        n_instances: Per expert ``(T,) int32`` (0 where it did not run).
    """

    frame_index: np.ndarray
    pts: np.ndarray
    attrs: dict[str, Any]
    names: list[str]
    keypoints: list[np.ndarray]
    scores: list[np.ndarray]
    track_ids: list[np.ndarray]
    ran: np.ndarray
    n_instances: list[np.ndarray]


def read_estimate(fh: h5py.File, layout: str, video_id: str | None = None) -> EstimateInputs:
    """Read an estimate artifact and map every expert to ``layout`` and the root frames.

    Raises:
        StoreError: The artifact does not follow the documented layout.
        ConfigError: An expert's layout cannot be converted to ``layout``.
    """
    try:
        frame_index = np.asarray(fh["frame_index"][...], dtype=np.int64)
        pts = np.asarray(fh["pts"][...], dtype=np.float64)
        names = json.loads(fh.attrs["experts"])
        groups = [fh["experts"][n] for n in names]
    except (KeyError, ValueError, TypeError) as e:
        raise StoreError(f"estimate artifact is malformed: {e}", video_id=video_id) from None
    if not names:
        raise StoreError("estimate artifact lists no experts", video_id=video_id)
    t = frame_index.shape[0]
    k = get_layout(layout).num_joints
    out = EstimateInputs(frame_index, pts, {a: fh.attrs[a] for a in FRAME_ATTRS if a in fh.attrs},
                         list(names), [], [], [], np.zeros((len(names), t), bool), [])
    for e, (name, g) in enumerate(zip(names, groups, strict=True)):
        try:
            fi = np.asarray(g["frame_index"][...], dtype=np.int64)
            kp, sc = g["keypoints"][...], g["scores"][...]
            tid = np.asarray(g["track_ids"][...], dtype=np.int32)
            src_layout = g.attrs["layout"]
        except KeyError as err:
            raise StoreError(f"expert '{name}': missing {err}", video_id=video_id) from None
        src_layout = src_layout.decode() if isinstance(src_layout, bytes) else str(src_layout)
        rows = np.searchsorted(frame_index, fi)
        if fi.size and (rows.max() >= t or not np.array_equal(frame_index[rows], fi)):
            raise StoreError(f"expert '{name}': frame_index is not a subset of the root frames",
                             video_id=video_id)
        try:
            kp, sc = convert_layout(kp, sc, src_layout, layout)
        except PosetoolsError as err:
            raise err.with_context(video_id=video_id) from None
        p = kp.shape[1]
        full_kp = np.full((t, p, k, 2), np.nan, np.float32)
        full_sc = np.zeros((t, p, k), np.float32)
        full_tid = np.full((t, p), -1, np.int32)
        full_kp[rows], full_sc[rows], full_tid[rows] = kp, sc, tid
        out.ran[e, rows] = True
        out.keypoints.append(full_kp)
        out.scores.append(full_sc)
        out.track_ids.append(full_tid)
        out.n_instances.append((full_sc > 0).any(axis=-1).sum(axis=-1).astype(np.int32))
    return out


def write_aggregate(out: h5py.File, inp: EstimateInputs, res: VideoAggregate, layout: str,
                    reference: int, params: dict[str, Any]) -> None:
    """Write the aggregate layout (see ``docs/formats.md``)."""
    out.create_dataset("frame_index", data=inp.frame_index)
    out.create_dataset("pts", data=inp.pts)
    for a, v in inp.attrs.items():
        out.attrs[a] = v
    out.create_dataset("keypoints", data=res.keypoints)
    out.create_dataset("scores", data=res.scores)
    out.create_dataset("source_expert", data=res.source_expert)
    out.create_dataset("confidence", data=res.confidence)
    out.create_dataset("valid", data=res.valid)
    out.create_dataset("filled", data=res.filled)
    out.create_dataset("track_ids", data=res.track_ids)
    out.create_dataset("matched", data=res.matched.astype(np.int16))
    out.create_dataset("expert_ran", data=inp.ran)
    write_strings(out, "joint_names", list(get_layout(layout).joints))
    a = out.attrs
    a["layout"] = layout
    a["experts"] = json.dumps(inp.names)
    a["reference_expert"] = inp.names[reference]
    a["gamma"] = float(params["gamma"])
    a["ssta_json"] = json.dumps(params, sort_keys=True)


class AggregateStage(Stage):
    """Selective Spatio-Temporal Aggregation of the estimate stage's experts."""

    name = "aggregate"
    version = "1"

    def inputs(self) -> tuple[str, ...]:
        """Reads the ``estimate`` artifact."""
        return ("estimate",)

    def params(self) -> dict[str, Any]:
        """Every SST-A option and the reference expert."""
        return to_dict(self.pipeline.aggregate)

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Aggregate one video; see the module docstring."""
        cfg: AggregateConfig = self.pipeline.aggregate
        with upstream_file(job, "estimate") as fh:
            inp = read_estimate(fh, cfg.layout, job.video_id)
        if cfg.reference_expert is None:
            ref = choose_reference(inp.n_instances)
        elif cfg.reference_expert in inp.names:
            ref = inp.names.index(cfg.reference_expert)
        else:
            raise StoreError(
                f"aggregate.reference_expert {cfg.reference_expert!r} is not an expert of the "
                f"estimate artifact ({', '.join(inp.names)})", video_id=job.video_id,
                stage=self.name)
        res = ssta_aggregate_video(inp.keypoints, inp.scores, inp.ran, cfg, reference=ref,
                                   track_ids=inp.track_ids[ref], frame_pos=inp.frame_index)
        write_aggregate(out, inp, res, cfg.layout, ref, self.params())
        t = inp.frame_index.shape[0]
        progress(t)
        src = res.source_expert[res.source_expert >= 0]
        return {
            "frames": t,
            "persons": int(res.keypoints.shape[1]),
            "reference": inp.names[ref],
            "valid": int(res.valid.sum()),
            "filled_joints": int(res.filled.sum()),
            "selected": {n: int((src == i).sum()) for i, n in enumerate(inp.names)},
        }
