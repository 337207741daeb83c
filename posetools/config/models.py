"""Configs of the models a pipeline runs: person detectors and pose experts.

Which backend implements each ``backend`` value is decided in one place,
:mod:`posetools.experts.build`. ``checkpoint`` is declared :func:`weights` (the model
checksum stands for it in fingerprints); ``device``, ``batch_size`` and ``threads``
are :func:`runtime` knobs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .loader import require, runtime, weights

_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")

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
        threads: ONNX Runtime intra-op threads of the ``onnx`` backend; ``0`` is ONNX
            Runtime's default (one per physical core). Other backends ignore it
            (runtime knob).
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
    checkpoint: str | None = weights(None)
    device: str = runtime("cpu")
    batch_size: int = runtime(8)
    threads: int = runtime(0)
    top_down: bool = False
    min_keypoint_score: float = 0.0
    min_instance_score: float = 0.0
    frame_stride: int = 1

    def __post_init__(self) -> None:
        require(bool(_NAME_RE.fullmatch(self.name)),
                f"name: {self.name!r} must match [A-Za-z0-9_-]+")
        require(self.batch_size >= 1, "batch_size: must be >= 1")
        require(self.threads >= 0, "threads: must be >= 0 (0: ONNX Runtime's default)")
        require(0.0 <= self.min_keypoint_score <= 1.0, "min_keypoint_score: must be in [0, 1]")
        require(0.0 <= self.min_instance_score <= 1.0, "min_instance_score: must be in [0, 1]")
        require(self.frame_stride >= 1, "frame_stride: must be >= 1")


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
        threads: ONNX Runtime intra-op threads (``onnx`` backend; ``0``: its default).
            Runtime knob.
        score_threshold: Boxes below this score are dropped.
        nms_iou: IoU for the final per-frame NMS over person boxes.
        max_detections: Keep at most this many boxes per frame (highest scores).
    """

    backend: DetectorBackend = "hog"
    model: str = ""
    checkpoint: str | None = weights(None)
    device: str = runtime("cpu")
    batch_size: int = runtime(8)
    threads: int = runtime(0)
    score_threshold: float = 0.3
    nms_iou: float = 0.65
    max_detections: int = 20

    def __post_init__(self) -> None:
        require(self.batch_size >= 1, "batch_size: must be >= 1")
        require(self.threads >= 0, "threads: must be >= 0 (0: ONNX Runtime's default)")
        require(0.0 <= self.score_threshold <= 1.0, "score_threshold: must be in [0, 1]")
        require(0.0 < self.nms_iou <= 1.0, "nms_iou: must be in (0, 1]")
        require(self.max_detections >= 1, "max_detections: must be >= 1")
