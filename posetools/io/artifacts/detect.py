"""``detect/<video_id>.h5``: person boxes per frame, padded to ``(T, N, 4)``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import h5py
import numpy as np

from ...errors import StoreError
from ..store import text
from .frames import FrameAxis


@dataclass(frozen=True)
class DetectArtifact:
    """Per-frame person detections of one video.

    Attributes:
        frames: The frames the detector ran on.
        boxes: ``(T, N, 4) float32`` xyxy, NaN padding.
        box_scores: ``(T, N) float32``, 0 padding.
        n_instances: ``(T,) int32`` real boxes per frame (``boxes[t, :n]``).
        backend: Detector backend.
        model_id: Model id.
        model_checksum: Checksum of the weights.
        detector_json: JSON of the detector's semantic config.
    """

    frames: FrameAxis
    boxes: np.ndarray
    box_scores: np.ndarray
    n_instances: np.ndarray
    backend: str
    model_id: str
    model_checksum: str
    detector_json: str

    @staticmethod
    def pack(boxes: Sequence[np.ndarray], scores: Sequence[np.ndarray]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pad per-frame ``(n_t, 4)`` boxes and ``(n_t,)`` scores.

        Returns:
            ``boxes (T, N, 4) float32`` (NaN padding), ``box_scores (T, N) float32``
            (0 padding), ``n_instances (T,) int32``, with ``N = max(1, max_t n_t)``.
        """
        n = np.array([len(s) for s in scores], np.int32)
        width = max(1, int(n.max(initial=0)))
        out_b = np.full((len(scores), width, 4), np.nan, np.float32)
        out_s = np.zeros((len(scores), width), np.float32)
        for t, (b, s) in enumerate(zip(boxes, scores, strict=True)):
            out_b[t, : len(s)] = b
            out_s[t, : len(s)] = s
        return out_b, out_s, n

    def per_frame(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """``{original frame index: (boxes (n, 4) float32, scores (n,) float32)}``."""
        return {
            int(i): (self.boxes[t, : self.n_instances[t]].astype(np.float32),
                     self.box_scores[t, : self.n_instances[t]].astype(np.float32))
            for t, i in enumerate(self.frames.frame_index)
        }

    def write(self, out: h5py.File) -> None:
        """Write the layout of ``docs/formats.md`` ("detect")."""
        self.frames.write(out)
        out.create_dataset("boxes", data=self.boxes)
        out.create_dataset("box_scores", data=self.box_scores)
        out.create_dataset("n_instances", data=self.n_instances)
        a = out.attrs
        a["backend"] = self.backend
        a["model_id"] = self.model_id
        a["model_checksum"] = self.model_checksum
        a["detector_json"] = self.detector_json

    @staticmethod
    def read(fh: h5py.File, video_id: str | None = None) -> DetectArtifact:
        """Read a detect artifact.

        Raises:
            StoreError: It does not follow the layout.
        """
        try:
            a = fh.attrs
            return DetectArtifact(
                FrameAxis.read(fh, video_id), fh["boxes"][...], fh["box_scores"][...],
                fh["n_instances"][...], text(a["backend"]), text(a["model_id"]),
                text(a["model_checksum"]), text(a["detector_json"]))
        except KeyError as e:
            raise StoreError(f"detect artifact is malformed: missing {e}",
                             video_id=video_id) from None


__all__ = ["DetectArtifact"]
