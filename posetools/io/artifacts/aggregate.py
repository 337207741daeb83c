"""``aggregate/<video_id>.h5``: one SST-A skeleton per person track and frame.

With the temporal refinement on (``aggregate.refine``), ``keypoints``, ``scores`` and
``valid`` hold the refined pose; SST-A's own output is kept in the ``raw/`` group and
the refinement's masks in ``refine/`` (:class:`RefineRecord`). Without it neither
group exists and the layout is the one of stage version 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import h5py
import numpy as np

from ...errors import StoreError
from ..store import read_strings, text, write_strings
from .frames import FrameAxis, read_rows


@dataclass(frozen=True)
class RefineRecord:
    """What the temporal refinement adds to an aggregate artifact (``T, P, K`` as there).

    Attributes:
        raw_keypoints: ``(T, P, K, 2) float32`` SST-A's pose before refinement.
        raw_scores: ``(T, P, K) float32``.
        raw_valid: ``(T, P) bool``.
        rejected: ``(T, P, K) bool`` joints an outlier test removed (``filled`` too
            when gap repair wrote them back).
        filled: ``(T, P, K) bool`` joints written by the refinement's gap repair.
        refine_json: JSON of the refinement options used.
        sample_period: Seconds per pose sample the seconds / Hz options were converted
            with (0: fewer than two samples, nothing refined).
    """

    raw_keypoints: np.ndarray
    raw_scores: np.ndarray
    raw_valid: np.ndarray
    rejected: np.ndarray
    filled: np.ndarray
    refine_json: str
    sample_period: float

    def write(self, out: h5py.File) -> None:
        """Write the ``raw/`` and ``refine/`` groups and the ``refine_*`` attributes."""
        raw = out.create_group("raw")
        raw.create_dataset("keypoints", data=np.asarray(self.raw_keypoints, np.float32))
        raw.create_dataset("scores", data=np.asarray(self.raw_scores, np.float32))
        raw.create_dataset("valid", data=np.asarray(self.raw_valid, bool))
        ref = out.create_group("refine")
        ref.create_dataset("rejected", data=np.asarray(self.rejected, bool))
        ref.create_dataset("filled", data=np.asarray(self.filled, bool))
        out.attrs["refine_json"] = self.refine_json
        out.attrs["refine_sample_period"] = float(self.sample_period)

    @staticmethod
    def read(fh: h5py.File) -> RefineRecord | None:
        """The record of a refined artifact, ``None`` when it has no ``raw/`` group.

        Raises:
            KeyError: ``raw/`` exists but the rest of the record does not.
        """
        if "raw" not in fh:
            return None
        a = fh.attrs
        return RefineRecord(
            np.asarray(fh["raw/keypoints"][...], np.float32),
            np.asarray(fh["raw/scores"][...], np.float32), np.asarray(fh["raw/valid"][...], bool),
            np.asarray(fh["refine/rejected"][...], bool),
            np.asarray(fh["refine/filled"][...], bool), text(a["refine_json"]),
            float(a["refine_sample_period"]))


@dataclass(frozen=True)
class AggregateArtifact:
    """SST-A over a video (``T`` root frames, ``P`` tracks, ``K`` joints, ``M`` experts).

    ``keypoints``, ``scores`` and ``valid`` are the pose every consumer reads (refined
    when ``refine`` is set); every other per-joint array describes SST-A's selection,
    i.e. the pose in ``refine.raw_*`` when refined.

    Attributes:
        frames: The root frame axis (copied from ``estimate``).
        keypoints: ``(T, P, K, 2) float32`` pixels, NaN missing / discarded.
        scores: ``(T, P, K) float32``, 0 missing.
        source_expert: ``(T, P, K) int8`` index into ``experts`` of SST-A's selection;
            -1 none or filled by SST-A.
        confidence: ``(T, P) float32`` SST-A confidence C.
        valid: ``(T, P) bool`` rows holding a kept pose.
        filled: ``(T, P, K) bool`` joints written by SST-A's gap filling.
        track_ids: ``(T, P) int32`` reference track ids, -1 padding.
        matched: ``(M, T, P) int16`` instance of each expert matched to each track.
        expert_ran: ``(M, T) bool`` whether each expert ran on each row.
        joint_names: Names of ``layout``'s joints.
        layout: Common layout name.
        experts: Expert names in config order.
        reference_expert: Name of the expert defining the tracks.
        gamma: Confidence threshold used.
        ssta_json: JSON of every option of the stage.
        refine: The temporal refinement's record; ``None``: not refined.
    """

    frames: FrameAxis
    keypoints: np.ndarray
    scores: np.ndarray
    source_expert: np.ndarray
    confidence: np.ndarray
    valid: np.ndarray
    filled: np.ndarray
    track_ids: np.ndarray
    matched: np.ndarray
    expert_ran: np.ndarray
    joint_names: tuple[str, ...]
    layout: str
    experts: tuple[str, ...]
    reference_expert: str
    gamma: float
    ssta_json: str
    refine: RefineRecord | None = None

    def write(self, out: h5py.File) -> None:
        """Write the layout of ``docs/formats.md`` ("aggregate")."""
        self.frames.write(out)
        out.create_dataset("keypoints", data=self.keypoints)
        out.create_dataset("scores", data=self.scores)
        out.create_dataset("source_expert", data=self.source_expert)
        out.create_dataset("confidence", data=self.confidence)
        out.create_dataset("valid", data=self.valid)
        out.create_dataset("filled", data=self.filled)
        out.create_dataset("track_ids", data=self.track_ids)
        out.create_dataset("matched", data=self.matched.astype(np.int16))
        out.create_dataset("expert_ran", data=self.expert_ran)
        write_strings(out, "joint_names", list(self.joint_names))
        a = out.attrs
        a["layout"] = self.layout
        a["experts"] = json.dumps(list(self.experts))
        a["reference_expert"] = self.reference_expert
        a["gamma"] = float(self.gamma)
        a["ssta_json"] = self.ssta_json
        if self.refine is not None:
            self.refine.write(out)

    @staticmethod
    def read(fh: h5py.File, video_id: str | None = None) -> AggregateArtifact:
        """Read an aggregate artifact (or the aggregate part of a normalize artifact).

        Raises:
            StoreError: It does not follow the layout or its arrays disagree in shape.
        """
        try:
            a = fh.attrs
            art = AggregateArtifact(
                FrameAxis.read(fh, video_id),
                np.asarray(fh["keypoints"][...], np.float32),
                np.asarray(fh["scores"][...], np.float32),
                fh["source_expert"][...], fh["confidence"][...],
                np.asarray(fh["valid"][...], bool), np.asarray(fh["filled"][...], bool),
                fh["track_ids"][...], fh["matched"][...], fh["expert_ran"][...],
                tuple(read_strings(fh, "joint_names")), text(a["layout"]),
                tuple(json.loads(a["experts"])), text(a["reference_expert"]), float(a["gamma"]),
                text(a["ssta_json"]), RefineRecord.read(fh))
        except (KeyError, ValueError) as e:
            raise StoreError(f"aggregate artifact is malformed: {e}", video_id=video_id) from None
        art.check(video_id)
        return art

    @staticmethod
    def rows(fh: h5py.File, pos: np.ndarray) -> dict[str, np.ndarray]:
        """Per-frame rows at frame positions ``pos`` (any order, repeats allowed).

        ``frame_index``, ``keypoints``, ``scores``, ``valid``, read without loading whole
        datasets.
        """
        return {n: read_rows(fh[n], pos) for n in ("frame_index", "keypoints", "scores", "valid")}

    def check(self, video_id: str | None = None) -> None:
        """Raise :class:`StoreError` unless the arrays agree on ``(T, P, K)``."""
        t, p, k = self.scores.shape
        want = {"keypoints": (t, p, k, 2), "valid": (t, p), "source_expert": (t, p, k),
                "confidence": (t, p), "filled": (t, p, k), "track_ids": (t, p)}
        bad = [f"{n} {getattr(self, n).shape}" for n, s in want.items()
               if getattr(self, n).shape != s]
        if self.refine is not None:
            want = {"raw_keypoints": (t, p, k, 2), "raw_scores": (t, p, k), "raw_valid": (t, p),
                    "rejected": (t, p, k), "filled": (t, p, k)}
            bad += [f"refine.{n} {getattr(self.refine, n).shape}" for n, s in want.items()
                    if getattr(self.refine, n).shape != s]
        if bad or self.frames.num_frames != t or len(self.joint_names) != k:
            raise StoreError(
                f"aggregate arrays do not match scores (T, P, K) = {(t, p, k)}: "
                f"{', '.join(bad) or 'frame axis / joint names'}", video_id=video_id)


__all__ = ["AggregateArtifact", "RefineRecord"]
