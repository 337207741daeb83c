"""``aggregate/<video_id>.h5``: one SST-A skeleton per person track and frame."""

from __future__ import annotations

import json
from dataclasses import dataclass

import h5py
import numpy as np

from ...errors import StoreError
from ..store import read_strings, text, write_strings
from .frames import FrameAxis, read_rows


@dataclass(frozen=True)
class AggregateArtifact:
    """SST-A over a video (``T`` root frames, ``P`` tracks, ``K`` joints, ``M`` experts).

    Attributes:
        frames: The root frame axis (copied from ``estimate``).
        keypoints: ``(T, P, K, 2) float32`` pixels, NaN missing / discarded.
        scores: ``(T, P, K) float32``, 0 missing.
        source_expert: ``(T, P, K) int8`` index into ``experts``; -1 none or filled.
        confidence: ``(T, P) float32`` SST-A confidence C.
        valid: ``(T, P) bool`` rows holding a kept pose.
        filled: ``(T, P, K) bool`` joints written by gap filling.
        track_ids: ``(T, P) int32`` reference track ids, -1 padding.
        matched: ``(M, T, P) int16`` instance of each expert matched to each track.
        expert_ran: ``(M, T) bool`` whether each expert ran on each row.
        joint_names: Names of ``layout``'s joints.
        layout: Common layout name.
        experts: Expert names in config order.
        reference_expert: Name of the expert defining the tracks.
        gamma: Confidence threshold used.
        ssta_json: JSON of every SST-A option used.
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
                text(a["ssta_json"]))
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
        if bad or self.frames.num_frames != t or len(self.joint_names) != k:
            raise StoreError(
                f"aggregate arrays do not match scores (T, P, K) = {(t, p, k)}: "
                f"{', '.join(bad) or 'frame axis / joint names'}", video_id=video_id)


__all__ = ["AggregateArtifact"]
