"""The format-neutral pose sequence the readers and writers of formats exchange.

And how to get one from a posetools artifact (:func:`read_artifact`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ...errors import StoreError
from ..artifacts.aggregate import AggregateArtifact
from ..artifacts.heatmaps import HeatmapsArtifact
from ..store import text


@dataclass
class PoseSequence:
    """One video's keypoints in posetools conventions.

    Attributes:
        video_id: Id (pyskl ``frame_dir``).
        keypoints: ``(T, P, K, 2) float32``, NaN for missing.
        scores: ``(T, P, K) float32``, 0 for missing.
        valid: ``(T, P) bool`` person slot present in the frame.
        width: Frame width (0 if unknown).
        height: Frame height (0 if unknown).
        label: Class id or name, or ``None``.
        split: Split name, or ``None``.
        frame_index: ``(T,) int64`` original frame numbers.
        layout: Skeleton layout name, when known.
    """

    video_id: str
    keypoints: np.ndarray
    scores: np.ndarray
    valid: np.ndarray
    width: int = 0
    height: int = 0
    label: int | str | None = None
    split: str | None = None
    frame_index: np.ndarray | None = None
    layout: str | None = None


def read_artifact(path: str | Path, video_id: str | None = None) -> PoseSequence:
    """The keypoints of an ``aggregate``, ``normalize`` or ``heatmaps`` artifact.

    (``normalize`` keypoints are normalized coordinates, ``heatmaps`` keypoints are
    heatmap-grid pixels.)

    Raises:
        StoreError: The file cannot be read or is not such an artifact.
    """
    path = Path(path)
    try:
        with h5py.File(path, "r") as fh:
            if text(fh.attrs.get("stage", "")) == "heatmaps":
                h = HeatmapsArtifact.read(fh, video_id)
                return PoseSequence(video_id or path.stem, h.keypoints.astype(np.float32),
                                    h.scores.astype(np.float32), h.valid, h.width, h.height,
                                    frame_index=h.frame_index.astype(np.int64), layout=h.layout)
            a = AggregateArtifact.read(fh, video_id)
    except OSError as e:
        raise StoreError(f"{path}: cannot read keypoints: {e}") from None
    return PoseSequence(video_id or path.stem, a.keypoints, a.scores, a.valid, a.frames.width,
                        a.frames.height, frame_index=a.frames.frame_index, layout=a.layout)
