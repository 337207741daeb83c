"""MediaPipe BlazePose (``mediapipe==0.10.14``): the embedded default expert.

Uses the legacy ``mediapipe.solutions.pose`` graph with ``model_complexity=1``
("full"), whose two TFLite models (``pose_detection.tflite`` and
``pose_landmark_full.tflite``) ship inside the mediapipe wheel, so it runs
offline. The "lite" and "heavy" variants are *not* in the wheel (MediaPipe
downloads them on first use) and are refused with a :class:`CheckpointError`.

Modes:

* **Single person** (``top_down: false``, the default): BlazePose's own detector
  finds one main person per frame. The graph runs in *video mode*
  (``static_image_mode=False``): after the first detection it tracks the person
  from the previous frame's landmarks, which is faster but stateful — call
  :meth:`MediaPipePoseExpert.reset` at the start of every video (the stages do).
  The instance box is the bounding box of the landmarks with visibility >= 0.5
  (all landmarks if fewer than two qualify), clipped to the image; the instance
  score is the mean visibility of the 33 landmarks.
* **Top-down** (``top_down: true``): BlazePose runs in static-image mode on each
  detector box, enlarged by 50 % about its centre and clipped to the image, and its
  landmarks are mapped back to image pixels. Tighter crops make BlazePose's own
  detector miss people (PCK@0.2 on the COCO GT boxes: 0.978 at 25 %, 0.989 at
  50 %). The instance box and score are the detector's. A box on which BlazePose
  finds nobody gives no instance.

Score calibration: the keypoint score is BlazePose's ``visibility`` output, a
sigmoid in [0, 1] trained as the probability that the landmark is visible (in the
frame and not occluded); it is used unchanged. Landmarks predicted outside the
image keep their coordinates and their (typically low) visibility.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ...config.models import DetectorConfig, ExpertConfig
from ...errors import CheckpointError, ConfigError, ExpertError, ShapeError
from ...geometry import clip_boxes, crop_region, keypoint_box
from ...skeletons import BLAZEPOSE33
from ..install import missing_backend
from ..types import Detections, Poses
from ..weights import files_sha256, weights_sha256

MIN_DETECTION_CONFIDENCE = 0.5
"""BlazePose's person-detector threshold (MediaPipe's default)."""
MIN_TRACKING_CONFIDENCE = 0.5
"""Video mode re-runs the detector when landmark tracking confidence drops below this."""
BOX_MIN_VISIBILITY = 0.5
"""Landmarks with at least this visibility define the single-person box."""
CROP_MARGIN = 1.5
"""Top-down crops enlarge the detector box by this factor about its centre."""


def _import_mediapipe():
    try:
        import mediapipe as mp
        from mediapipe.python.solutions import pose as mp_pose
    except ImportError as e:  # pragma: no cover - mediapipe is a core dependency
        raise missing_backend("mediapipe", e) from e
    return mp, mp_pose


def model_files(model: str = "full") -> list[Path]:
    """The bundled TFLite files BlazePose ``model`` uses (detector, landmark model).

    Raises:
        ConfigError: Unknown model name.
        CheckpointError: The variant is not in the installed wheel (only ``full`` is).
    """
    model = model or "full"
    if model not in ("lite", "full", "heavy"):
        raise ConfigError(f"model: mediapipe model must be 'full' (or lite/heavy), got {model!r}")
    spec = importlib.util.find_spec("mediapipe")  # its files, without importing it
    if spec is None or not spec.submodule_search_locations:
        raise missing_backend("mediapipe")
    root = Path(next(iter(spec.submodule_search_locations))).resolve() / "modules"
    files = [root / "pose_detection" / "pose_detection.tflite",
             root / "pose_landmark" / f"pose_landmark_{model}.tflite"]
    for f in files:
        if not f.is_file():
            raise CheckpointError(
                f"mediapipe model '{model}' needs {f.name}, which the installed mediapipe "
                f"wheel does not ship (only 'full' is bundled; nothing is downloaded)"
            )
    return files


def _landmark_box(xy: np.ndarray, vis: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(1, 4) float32`` box of the confident landmarks, clipped to the image.

    Landmarks with visibility >= :data:`BOX_MIN_VISIBILITY` (all finite landmarks if
    fewer than two qualify).
    """
    finite = np.isfinite(xy).all(axis=-1)
    use = finite & (vis >= BOX_MIN_VISIBILITY)
    if use.sum() < 2:
        use = finite
    box = keypoint_box(xy[None].astype(np.float64), use[None]).astype(np.float32)
    return clip_boxes(box, width, height)


def weights_checksum(cfg: ExpertConfig | DetectorConfig,
                     file_hash: Callable[[Path], str] = weights_sha256) -> str:
    """The checksum of the bundled weights a config uses, without building the graph."""
    return files_sha256(_bundled_model(cfg)[1], file_hash)


def _complexity(model: str) -> int:
    return {"lite": 0, "full": 1, "heavy": 2}[model or "full"]


class _Blaze:
    """One MediaPipe Pose graph (video or static mode), created lazily."""

    def __init__(self, model: str, static: bool) -> None:
        self.model = model
        self.static = static
        self._graph = None

    def run(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Landmarks of the main person in ``image``.

        Returns:
            ``(xy (33, 2) float32 pixels, visibility (33,) float32)`` or ``None``.
        """
        if self._graph is None:
            _, mp_pose = _import_mediapipe()
            self._graph = mp_pose.Pose(
                static_image_mode=self.static,
                model_complexity=_complexity(self.model),
                smooth_landmarks=True,
                enable_segmentation=False,
                min_detection_confidence=MIN_DETECTION_CONFIDENCE,
                min_tracking_confidence=MIN_TRACKING_CONFIDENCE,
            )
        img = np.ascontiguousarray(image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ShapeError(f"expected an (H, W, 3) uint8 RGB image, got {img.shape} {img.dtype}")
        with warnings.catch_warnings():
            # protobuf deprecation noise from MediaPipe's result conversion
            warnings.simplefilter("ignore", UserWarning)
            res = self._graph.process(img)
        if res.pose_landmarks is None:
            return None
        lm = res.pose_landmarks.landmark
        h, w = img.shape[:2]
        xy = np.array([(p.x * w, p.y * h) for p in lm], np.float32)
        vis = np.array([p.visibility for p in lm], np.float32)
        return xy, vis

    def close(self) -> None:
        """Release the graph (a new one is made on the next call)."""
        if self._graph is not None:
            self._graph.close()
            self._graph = None


def _bundled_model(cfg: ExpertConfig | DetectorConfig) -> tuple[str, list[Path]]:
    """The model variant a config names and its weight files in the wheel."""
    if cfg.checkpoint is not None:
        raise ConfigError("checkpoint: the mediapipe backend uses the wheel's bundled "
                          "weights; leave checkpoint unset")
    model = cfg.model or "full"
    return model, model_files(model)


class MediaPipePoseExpert:
    """BlazePose-33 expert (see the module docstring for modes and scores).

    Args:
        cfg: Expert config; ``model`` is ``full`` (default) — ``checkpoint`` is not
            supported (the weights are the wheel's).
    """

    layout = BLAZEPOSE33

    def __init__(self, cfg: ExpertConfig) -> None:
        self.cfg = cfg
        self.model, self._files = _bundled_model(cfg)
        self.top_down = cfg.top_down
        self.model_id = f"mediapipe-blazepose-{self.model}"
        self._video = _Blaze(self.model, static=False)
        self._static = _Blaze(self.model, static=True)

    def checksum(self) -> str:
        """sha256 over the bundled detector and landmark TFLite files."""
        return weights_checksum(self.cfg)

    def reset(self) -> None:
        """Forget video-mode tracking state (call at the start of each video)."""
        self._video.close()

    def estimate(
        self, images: Sequence[np.ndarray], boxes: Sequence[Detections] | None = None
    ) -> list[Poses]:
        """Poses per image: the main person, or one per box when top-down.

        Args:
            images: ``(H, W, 3) uint8`` RGB frames, in video order.
            boxes: Per-image detections (required when ``top_down``).

        Returns:
            One :class:`Poses` per image with ``K = 33``.
        """
        if self.top_down:
            if boxes is None or len(boxes) != len(images):
                raise ExpertError("top-down mediapipe needs one Detections per image")
            return [self._on_boxes(img, det) for img, det in zip(images, boxes, strict=True)]
        return [self._single(img) for img in images]

    def _single(self, image: np.ndarray) -> Poses:
        out = self._video.run(image)
        if out is None:
            return Poses.empty(33)
        xy, vis = out
        h, w = image.shape[:2]
        box = _landmark_box(xy, vis, w, h)
        return Poses(xy[None], vis[None], box, np.array([vis.mean()], np.float32))

    def _on_boxes(self, image: np.ndarray, det: Detections) -> Poses:
        h, w = image.shape[:2]
        kps, scs, bxs, bss = [], [], [], []
        for box, score in zip(det.boxes, det.scores, strict=True):
            win = crop_region(box, w, h, CROP_MARGIN)
            if win is None:
                continue
            x0, y0, x1, y1 = win
            out = self._static.run(image[y0:y1, x0:x1])
            if out is None:
                continue
            xy, vis = out
            kps.append(xy + np.array([x0, y0], np.float32))
            scs.append(vis)
            bxs.append(np.asarray(box, np.float32))
            bss.append(float(score))
        if not kps:
            return Poses.empty(33)
        return Poses(np.stack(kps), np.stack(scs), np.stack(bxs), np.asarray(bss, np.float32))


class MediaPipeDetector:
    """Single-person "detector" from BlazePose: the box of its landmarks.

    BlazePose's own person detector is not exposed by the MediaPipe Python API,
    so this runs the whole single-person graph (video mode; :meth:`reset` per
    video) and returns at most one box per frame: the bounding box of the
    landmarks with visibility >= 0.5, scored by the mean visibility. Useful to
    feed a top-down expert when a video has one main person and no other
    detector is installed.

    Args:
        cfg: Detector config; ``model`` is ``full`` (default).
    """

    def __init__(self, cfg: DetectorConfig) -> None:
        self.cfg = cfg
        self.model, self._files = _bundled_model(cfg)
        self.model_id = f"mediapipe-blazepose-{self.model}-box"
        self._video = _Blaze(self.model, static=False)

    def checksum(self) -> str:
        """sha256 over the bundled detector and landmark TFLite files."""
        return weights_checksum(self.cfg)

    def reset(self) -> None:
        """Forget video-mode tracking state (call at the start of each video)."""
        self._video.close()

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """At most one box per image (see the class docstring)."""
        out = []
        for img in images:
            res = self._video.run(img)
            if res is None:
                out.append(Detections.empty())
                continue
            xy, vis = res
            h, w = img.shape[:2]
            box = _landmark_box(xy, vis, w, h)
            out.append(Detections(box, np.array([vis.mean()], np.float32)))
        return out


def _quiet_logs() -> None:
    # MediaPipe's C++ logging (glog/absl) is chatty on stderr; keep warnings only.
    os.environ.setdefault("GLOG_minloglevel", "2")


_quiet_logs()

__all__ = ["MediaPipePoseExpert", "MediaPipeDetector", "model_files"]
