"""``estimate/<video_id>.h5``: every expert's tracked poses, one group per expert."""

from __future__ import annotations

import json
from dataclasses import dataclass

import h5py
import numpy as np

from ...errors import StoreError
from ..store import read_strings, text, write_strings
from .frames import FrameAxis

PER_FRAME = ("keypoints", "scores", "boxes", "box_scores", "track_ids", "n_instances",
             "n_detected")
"""Per-frame datasets of an expert group (after its ``frame_index``), in written order."""

TRACK_COLUMNS = ("id", "n_frames", "first_frame", "last_frame", "duration", "mean_area",
                 "centrality", "score", "kept", "rank")
"""Columns of an expert's ``tracks/`` group (one row per track, best first)."""


@dataclass(frozen=True)
class ExpertPoses:
    """One expert's tracked poses (``T_k`` frames it ran on, ``P`` slots, ``K`` joints).

    Attributes:
        name: Expert name (the group name).
        frame_index: ``(T_k,) int64`` frames it ran on (a subset of the root frames).
        keypoints: ``(T_k, P, K, 2) float32`` pixels, NaN missing / empty.
        scores: ``(T_k, P, K) float32`` in [0, 1], 0 missing / empty.
        boxes: ``(T_k, P, 4) float32``, NaN padding.
        box_scores: ``(T_k, P) float32``, 0 padding.
        track_ids: ``(T_k, P) int32``, -1 padding.
        n_instances: ``(T_k,) int32`` filled slots.
        n_detected: ``(T_k,) int32`` instances before main-person selection.
        tracks: :data:`TRACK_COLUMNS` -> ``(R,)`` arrays.
        layout: Layout name of the keypoints.
        backend: Backend name.
        model_id: Model id.
        model_checksum: Checksum of the weights.
        top_down: Whether it ran on detector boxes.
        frame_stride: Its own frame stride.
        max_persons: ``track.max_persons`` used.
        expert_json: JSON of its semantic config.
        selection_json: JSON of the main-person choice.
        joint_names: Joint names of ``layout``.
    """

    name: str
    frame_index: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    box_scores: np.ndarray
    track_ids: np.ndarray
    n_instances: np.ndarray
    n_detected: np.ndarray
    tracks: dict[str, np.ndarray]
    layout: str
    backend: str
    model_id: str
    model_checksum: str
    top_down: bool
    frame_stride: int
    max_persons: int
    expert_json: str
    selection_json: str
    joint_names: tuple[str, ...]

    def _write(self, grp: h5py.Group) -> None:
        g = grp.create_group(self.name)
        g.create_dataset("frame_index", data=np.asarray(self.frame_index, np.int64))
        for name in PER_FRAME:
            g.create_dataset(name, data=getattr(self, name))
        tg = g.create_group("tracks")
        for col in TRACK_COLUMNS:
            tg.create_dataset(col, data=self.tracks[col])
        a = g.attrs
        a["layout"] = self.layout
        a["backend"] = self.backend
        a["model_id"] = self.model_id
        a["model_checksum"] = self.model_checksum
        a["top_down"] = bool(self.top_down)
        a["frame_stride"] = self.frame_stride
        a["max_persons"] = self.max_persons
        a["expert_json"] = self.expert_json
        a["selection_json"] = self.selection_json
        write_strings(g, "joint_names", list(self.joint_names))

    @staticmethod
    def _read(g: h5py.Group, name: str) -> ExpertPoses:
        a = g.attrs
        return ExpertPoses(
            name, np.asarray(g["frame_index"][...], np.int64),
            *(g[n][...] for n in PER_FRAME),
            {c: g["tracks"][c][...] for c in TRACK_COLUMNS},
            text(a["layout"]), text(a["backend"]), text(a["model_id"]),
            text(a["model_checksum"]), bool(a["top_down"]), int(a["frame_stride"]),
            int(a["max_persons"]), text(a["expert_json"]), text(a["selection_json"]),
            tuple(read_strings(g, "joint_names")))


@dataclass(frozen=True)
class EstimateArtifact:
    """The ``estimate`` artifact: the root frame axis and each expert's poses.

    Attributes:
        frames: The root frame axis (every frame the stage decoded).
        experts: Per expert, in config order.
    """

    frames: FrameAxis
    experts: tuple[ExpertPoses, ...]

    @property
    def names(self) -> list[str]:
        """Expert names in config order."""
        return [e.name for e in self.experts]

    def write(self, out: h5py.File) -> None:
        """Write the layout of ``docs/formats.md`` ("estimate")."""
        self.frames.write(out)
        out.attrs["experts"] = json.dumps(self.names)
        grp = out.create_group("experts")
        for e in self.experts:
            e._write(grp)

    @staticmethod
    def read(fh: h5py.File, video_id: str | None = None) -> EstimateArtifact:
        """Read an estimate artifact.

        Raises:
            StoreError: It does not follow the layout, or lists no expert.
        """
        try:
            names = json.loads(fh.attrs["experts"])
            experts = tuple(ExpertPoses._read(fh["experts"][n], n) for n in names)
        except (KeyError, ValueError, TypeError) as e:
            raise StoreError(f"estimate artifact is malformed: {e}", video_id=video_id) from None
        if not experts:
            raise StoreError("estimate artifact lists no experts", video_id=video_id)
        return EstimateArtifact(FrameAxis.read(fh, video_id), experts)


__all__ = ["EstimateArtifact", "ExpertPoses", "PER_FRAME", "TRACK_COLUMNS"]
