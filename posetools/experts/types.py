"""Detector / pose-expert interfaces, their typed configs and result containers.

Conventions (all backends):

* Images are ``(H, W, 3) uint8`` **RGB**, rotation already applied.
* Boxes are ``(N, 4) float32`` xyxy in image pixels; box scores ``(N,) float32``.
* Keypoints are ``(N, K, 2) float32`` (x, y) in image pixels; scores ``(N, K)
  float32`` in ``[0, 1]`` meaning "probability the joint is visible and correctly
  placed" (each backend documents its mapping). A joint the model's layout lacks,
  or that is missing, has score 0 and coordinates NaN.
* Zero detections give zero instances. No backend ever invents a whole-image box.
* Every call takes a *batch of frames* and returns one result per frame.

Score calibration (each backend module documents its mapping): MediaPipe and
YOLO-pose joint scores are their sigmoid visibility outputs, unchanged; OpenMMLab
SimCC / heatmap maxima are clipped to [0, 1]; HOG SVM margins go through a
logistic. Backends return these *raw* results; the stages apply
:func:`posetools.experts.finalize.finalize_detections` /
:func:`~posetools.experts.finalize.finalize_poses` (thresholds, NMS, clipping) once,
identically for every backend.

Poses that other tools already produced come from a :class:`PoseSource` instead
(``backend: import``): the estimate stage asks it once per video for
:class:`SourcePoses` and takes each decoded frame's instances by its original frame
index; nothing runs on the images.

Build models with :func:`posetools.experts.build.build_expert` /
:func:`~posetools.experts.build.build_detector`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..skeletons import SkeletonLayout


@dataclass(frozen=True)
class Detections:
    """Person detections in one frame.

    Attributes:
        boxes: ``(N, 4) float32`` xyxy pixels.
        scores: ``(N,) float32`` detector scores in [0, 1] (kept as the detector gave them).
    """

    boxes: np.ndarray
    scores: np.ndarray

    @staticmethod
    def empty() -> Detections:
        """Zero detections."""
        return Detections(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


@dataclass(frozen=True)
class Poses:
    """Pose instances in one frame.

    Attributes:
        keypoints: ``(N, K, 2) float32`` pixels (NaN for missing joints).
        scores: ``(N, K) float32`` in [0, 1].
        boxes: ``(N, 4) float32`` xyxy: the detector box (top-down) or the
            expert's own box (one-stage); for single-person models the keypoint
            bounding box.
        box_scores: ``(N,) float32`` the detector's or the expert's instance score.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    box_scores: np.ndarray

    @staticmethod
    def empty(num_joints: int) -> Poses:
        """Zero instances for a layout of ``num_joints`` joints."""
        return Poses(
            np.zeros((0, num_joints, 2), np.float32),
            np.zeros((0, num_joints), np.float32),
            np.zeros((0, 4), np.float32),
            np.zeros((0,), np.float32),
        )

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])


@runtime_checkable
class Detector(Protocol):
    """Person detector over batches of frames."""

    model_id: str

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect persons in each image; one :class:`Detections` per image."""
        ...

    def checksum(self) -> str:
        """Checksum of the weights (sha256 hex or OpenMMLab hash prefix)."""
        ...


@runtime_checkable
class PoseExpert(Protocol):
    """2D pose expert over batches of frames.

    Attributes:
        layout: Skeleton layout of the returned keypoints.
        top_down: True if :meth:`estimate` needs per-frame boxes.
        model_id: Human-readable model id (e.g. ``rtmpose-m_8xb256-420e_coco-256x192``).
    """

    layout: SkeletonLayout
    top_down: bool
    model_id: str

    def estimate(
        self, images: Sequence[np.ndarray], boxes: Sequence[Detections] | None = None
    ) -> list[Poses]:
        """Estimate poses in each image (on ``boxes[i]`` when top-down)."""
        ...

    def checksum(self) -> str:
        """Checksum of the weights."""
        ...


@dataclass(frozen=True)
class SourcePoses:
    """One video's poses from a :class:`PoseSource`, by original frame index.

    Attributes:
        layout: Skeleton layout of the keypoints (may differ per video when the
            source infers it from the file).
        by_frame: Raw (not yet finalized) instances of each frame that has any.
        frames: ``(F,) int64`` every frame the source lists, with or without persons.
        description: What was read and how frame numbers were obtained.
    """

    layout: SkeletonLayout
    by_frame: Mapping[int, Poses]
    frames: np.ndarray
    description: str

    def at(self, frame_index: int) -> Poses:
        """The instances of a frame; zero instances for a frame the source has no record of."""
        p = self.by_frame.get(int(frame_index))
        return p if p is not None else Poses.empty(self.layout.num_joints)


@runtime_checkable
class PoseSource(Protocol):
    """Poses that already exist (files another tool wrote), read once per video.

    Attributes:
        top_down: Always ``False`` (no detector boxes are used).
        model_id: What is read (format and path template).
    """

    top_down: bool
    model_id: str

    def load(self, video_id: str) -> SourcePoses:
        """Read the poses of one video.

        Raises:
            PosetoolsError: The input is missing or malformed (fails this video only).
        """
        ...

    def checksum(self) -> str:
        """Stands for the weights' checksum in fingerprints (the options, not file contents)."""
        ...


__all__ = ["Detections", "Poses", "Detector", "PoseExpert", "PoseSource", "SourcePoses"]
