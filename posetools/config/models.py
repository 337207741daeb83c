"""Configs of the models a pipeline runs: person detectors and pose experts.

Which backend implements each ``backend`` value is decided in one place,
:mod:`posetools.experts.build`. ``checkpoint`` is declared :func:`weights` (the model
checksum stands for it in fingerprints); ``device``, ``batch_size`` and
``allow_pickle`` are :func:`runtime` knobs.

``backend: import`` is an expert that runs no model: it reads the keypoints another
tool already wrote (``format`` + ``path``; see ``docs/interop.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

from ..skeletons import LAYOUTS
from .loader import require, runtime, semantic, weights

_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")

DEVICE_RE = re.compile(r"cpu|auto|cuda(?::\d+)?")
"""The device strings a config or ``--device`` accepts."""


def valid_device(device: str | None) -> bool:
    """Whether ``device`` is ``None`` (the run's device) or matches :data:`DEVICE_RE`."""
    return device is None or bool(DEVICE_RE.fullmatch(device))


Backend = Literal["mediapipe", "ultralytics", "mm", "onnx", "import"]
Precision = Literal["fp32", "fp16"]
HALF_BACKENDS = ("mm", "onnx", "ultralytics")
"""Backends that run ``precision: fp16`` (on a CUDA device)."""
DetectorBackend = Literal["hog", "mediapipe", "mm", "onnx"]
ImportFormat = Literal["coco", "coco_results", "mmpose", "openpose", "alphapose", "pyskl"]
"""File formats ``backend: import`` reads (one reader each in ``posetools.io.formats``)."""

IMPORT_FIELDS = ("format", "path", "layout", "annotations", "frame_from", "frame_pattern",
                 "frame_offset", "score_scale", "allow_pickle")
""":class:`ExpertConfig` fields that only ``backend: import`` uses."""


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
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``; ``None`` (the default) takes
            the run's ``--device`` (runtime knob, not in fingerprints).
        batch_size: Frames (or crops) per forward pass (runtime knob).
        precision: ``fp32``, or ``fp16`` (half precision on a CUDA device; mm, onnx and
            ultralytics backends). Changes results slightly, so it is in fingerprints.
        top_down: Run on the ``detect`` stage's boxes (required for mm/onnx
            top-down models; optional for mediapipe, whose own detector otherwise
            finds one main person).
        min_keypoint_score: Scores below this are set to 0 and coordinates to NaN.
        min_instance_score: Instances with a lower box/instance score are dropped.
        frame_stride: Run on every n-th frame of the stage's frames (1 = all).
        format: ``import`` only: the file format to read.
        path: ``import`` only: file or folder template, ``{video_id}`` replaced by
            the manifest id (e.g. ``/data/openpose/{video_id}/``). Formats that hold
            several videos in one file (``pyskl``, ``coco`` with ``video_id`` per
            image) may omit the placeholder.
        layout: ``import`` only: joint layout of the file (default: per format,
            from the joint names or count; see ``docs/interop.md``).
        annotations: ``import`` only, ``coco_results``: template of the COCO
            annotation file whose ``images`` map ``image_id`` to frames.
        frame_from: ``import`` only: where frame numbers come from: ``auto`` (the
            format's rule), ``name`` (``frame_pattern`` on the file / image name),
            ``image_id`` (COCO ``image_id`` itself, plus ``frame_offset``).
        frame_pattern: ``import`` only: regular expression with one group that
            extracts the frame number from a name (default: the format's rule, e.g.
            the last run of digits).
        frame_offset: ``import`` only: added to every frame number read (e.g. -1
            for 1-based numbering).
        score_scale: ``import`` only: joint scores are divided by it, then clipped
            to [0, 1] (for tools whose scores are not probabilities).
        allow_pickle: ``import`` only: allow unpickling (``pyskl``): only for
            files you trust, unpickling can run code.
    """

    name: str
    backend: Backend
    model: str = ""
    checkpoint: str | None = weights(None)
    device: str | None = runtime(None)
    batch_size: int = runtime(8)
    precision: Precision = "fp32"
    top_down: bool = False
    min_keypoint_score: float = 0.0
    min_instance_score: float = 0.0
    frame_stride: int = 1
    format: ImportFormat | None = None
    path: str = ""
    layout: str | None = None
    annotations: str | None = None
    frame_from: Literal["auto", "name", "image_id"] = "auto"
    frame_pattern: str | None = None
    frame_offset: int = 0
    score_scale: float = 1.0
    allow_pickle: bool = runtime(False)

    def __post_init__(self) -> None:
        require(bool(_NAME_RE.fullmatch(self.name)),
                f"name: {self.name!r} must match [A-Za-z0-9_-]+")
        require(self.batch_size >= 1, "batch_size: must be >= 1")
        require(valid_device(self.device),
                f"device: {self.device!r} is not one of cpu, cuda, cuda:N, auto")
        require(self.precision == "fp32" or self.backend in HALF_BACKENDS,
                f"precision: fp16 runs on the {', '.join(HALF_BACKENDS)} backends only")
        require(0.0 <= self.min_keypoint_score <= 1.0, "min_keypoint_score: must be in [0, 1]")
        require(0.0 <= self.min_instance_score <= 1.0, "min_instance_score: must be in [0, 1]")
        require(self.frame_stride >= 1, "frame_stride: must be >= 1")
        if self.backend == "import":
            self._check_import()
        else:
            defaults = {f.name: f.default for f in fields(self)}
            for name in IMPORT_FIELDS:
                require(getattr(self, name) == defaults[name],
                        f"{name}: only used with backend: import")

    def import_inputs(self, video_id: str) -> list[Path]:
        """``import`` only: the files or folders read for ``video_id`` (templates filled)."""
        paths = [Path(self.path.format(video_id=video_id))]
        if self.annotations is not None:
            paths.append(Path(self.annotations.format(video_id=video_id)))
        return paths

    def _check_import(self) -> None:
        require(self.format is not None,
                "format: backend import needs the file format (coco, coco_results, mmpose, "
                "openpose, alphapose, pyskl)")
        require(bool(self.path.strip()), "path: backend import needs a file or folder template")
        require(not self.top_down, "top_down: imported poses use no detector boxes")
        for name in ("path", "annotations"):
            tpl = getattr(self, name)
            if tpl is not None:
                try:
                    tpl.format(video_id="x")
                except (KeyError, IndexError, ValueError):
                    raise ValueError(f"{name}: {tpl!r} is not a template with only "
                                     "{video_id}") from None
        require(self.layout is None or self.layout in LAYOUTS,
                f"layout: unknown {self.layout!r} (known: {', '.join(sorted(LAYOUTS))})")
        require(self.annotations is None or self.format == "coco_results",
                "annotations: only for format coco_results")
        require(self.format != "coco_results" or self.annotations is not None
                or self.frame_from == "image_id",
                "annotations: coco_results files hold image ids, not frames: give the COCO "
                "annotation file (annotations:) or say frame_from: image_id")
        require(self.frame_from != "image_id" or self.format in ("coco", "coco_results"),
                "frame_from: image_id only for the coco and coco_results formats")
        if self.frame_pattern is not None:
            try:
                groups = re.compile(self.frame_pattern).groups
            except re.error as e:
                raise ValueError(f"frame_pattern: invalid regular expression: {e}") from None
            require(groups == 1, "frame_pattern: needs exactly one group (the frame number)")
        require(self.score_scale > 0, "score_scale: must be > 0")
        require(self.format != "pyskl" or self.allow_pickle,
                "allow_pickle: reading a pickle can run code; set allow_pickle: true only for "
                "files you trust")


@dataclass(frozen=True)
class DetectorConfig:
    """The person detector of the ``detect`` stage.

    Attributes:
        backend: Implementation.
        model: Backend-specific model name (``rtmdet-tiny``, ``faster-rcnn-r50``,
            ``hog``, an ``.onnx`` path...).
        checkpoint: Local checkpoint path, or ``None`` for the model-zoo default.
        device: As for :class:`ExpertConfig` (runtime knob).
        batch_size: Runtime knob.
        precision: As for :class:`ExpertConfig`.
        score_threshold: Boxes below this score are dropped.
        nms_iou: IoU for the final per-frame NMS over person boxes.
        max_detections: Keep at most this many boxes per frame (highest scores).
    """

    backend: DetectorBackend = "hog"
    model: str = ""
    checkpoint: str | None = weights(None)
    device: str | None = runtime(None)
    batch_size: int = runtime(8)
    precision: Precision = "fp32"
    score_threshold: float = 0.3
    nms_iou: float = 0.65
    max_detections: int = 20

    def __post_init__(self) -> None:
        require(self.batch_size >= 1, "batch_size: must be >= 1")
        require(valid_device(self.device),
                f"device: {self.device!r} is not one of cpu, cuda, cuda:N, auto")
        require(self.precision == "fp32" or self.backend in HALF_BACKENDS,
                f"precision: fp16 runs on the {', '.join(HALF_BACKENDS)} backends only")
        require(0.0 <= self.score_threshold <= 1.0, "score_threshold: must be in [0, 1]")
        require(0.0 < self.nms_iou <= 1.0, "nms_iou: must be in (0, 1]")
        require(self.max_detections >= 1, "max_detections: must be >= 1")


def expert_params(cfg: ExpertConfig) -> dict:
    """The semantic parameters of an expert (what its fingerprint covers).

    :func:`~posetools.config.loader.semantic` of the config, without the import-only
    fields for the other backends (always at their defaults there) and without
    ``precision`` when it is ``fp32``: leaving them out keeps the fingerprints of
    pipelines that use neither unchanged.
    """
    params = detector_params(cfg)
    if cfg.backend != "import":
        for name in IMPORT_FIELDS:
            params.pop(name, None)
    return params


def detector_params(cfg: DetectorConfig | ExpertConfig) -> dict:
    """The semantic parameters of a model (``precision`` only when it is not ``fp32``)."""
    params = semantic(cfg)
    if params.get("precision") == "fp32":
        del params["precision"]
    return params
