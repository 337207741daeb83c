"""Build the detector or pose expert a config names: one dispatch table, lazy imports.

:data:`DETECTORS` and :data:`EXPERTS` map each ``backend`` value of
:class:`~posetools.config.models.DetectorConfig` /
:class:`~posetools.config.models.ExpertConfig` to the module and class that
implement it; the module is imported only when the backend is used, so a missing
optional dependency fails only the pipelines that need it, with its install hint.
The backend always gets a concrete device (``cpu`` or ``cuda:N``,
:func:`~posetools.experts.devices.resolve_device`).
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from functools import cache

from ..config.models import DetectorConfig, ExpertConfig
from ..errors import ConfigError, MissingBackendError
from .devices import resolve_device
from .install import missing_backend
from .types import Detector, PoseExpert, PoseSource

_PKG = "posetools.experts.backends"

DETECTORS: dict[str, tuple[str, str]] = {
    "hog": ("hog", "HogDetector"),
    "mediapipe": ("mediapipe", "MediaPipeDetector"),
    "mm": ("mm", "MMDetector"),
    "onnx": ("onnx", "OnnxDetector"),
}
"""Detector backend -> (module in ``posetools.experts.backends``, class)."""

EXPERTS: dict[str, tuple[str, str]] = {
    "mediapipe": ("mediapipe", "MediaPipePoseExpert"),
    "ultralytics": ("ultralytics", "UltralyticsPoseExpert"),
    "mm": ("mm", "MMPoseExpert"),
    "onnx": ("onnx", "OnnxPoseExpert"),
    "import": ("imported", "ImportPoseSource"),
}
"""Expert backend -> (module in ``posetools.experts.backends``, class).

``import`` builds a :class:`~posetools.experts.types.PoseSource` (files other tools
wrote), which the estimate stage queries per video instead of per frame."""


def _construct(table: dict[str, tuple[str, str]], backend: str, cfg):
    if backend not in table:
        raise ConfigError(f"backend: unknown {backend!r} (known: {', '.join(table)})")
    module, cls = table[backend]
    cfg = replace(cfg, device=resolve_device(cfg.device, backend))
    try:
        return getattr(importlib.import_module(f"{_PKG}.{module}"), cls)(cfg)
    except MissingBackendError:
        raise
    except ImportError as e:
        raise missing_backend(backend, e) from e


def build_detector(cfg: DetectorConfig) -> Detector:
    """Construct the detector a config names (every call builds a new model).

    Raises:
        MissingBackendError: The backend's optional dependencies are not installed.
        CheckpointError: The weights cannot be found.
        DeviceError: CUDA was asked for and cannot be used.
    """
    return _construct(DETECTORS, cfg.backend, cfg)


def build_expert(cfg: ExpertConfig) -> PoseExpert | PoseSource:
    """Construct the pose expert a config names (every call builds a new model).

    Raises:
        MissingBackendError: The backend's optional dependencies are not installed.
        CheckpointError: The weights cannot be found.
        DeviceError: CUDA was asked for and cannot be used.
    """
    return _construct(EXPERTS, cfg.backend, cfg)


@cache
def cached_detector(cfg: DetectorConfig) -> Detector:
    """:func:`build_detector`, memoized per process on the (frozen) config.

    The runner keeps worker processes alive across videos, so a model is loaded
    once per process. Failures are not cached.
    """
    return build_detector(cfg)


@cache
def cached_expert(cfg: ExpertConfig) -> PoseExpert | PoseSource:
    """:func:`build_expert`, memoized per process on the (frozen) config.

    Stateful experts (MediaPipe in video mode) expose ``reset()``; call it at the
    start of every video (:func:`reset_model`).
    """
    return build_expert(cfg)


def reset_model(model: object) -> None:
    """Call ``model.reset()`` if the model has per-video state (no-op otherwise)."""
    reset = getattr(model, "reset", None)
    if callable(reset):
        reset()


__all__ = ["DETECTORS", "EXPERTS", "build_detector", "build_expert", "cached_detector",
           "cached_expert", "reset_model"]
