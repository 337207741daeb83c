"""OpenCV's HOG + linear-SVM people detector: a *weak* classical fallback.

It needs no weights download (the Dalal-Triggs SVM ships inside OpenCV) and no
deep-learning stack, so top-down experts can run offline without OpenMMLab. It
is weak: it finds upright, mostly unoccluded pedestrians of at least ~64x128
pixels (after the internal downscale), misses sitting/lying/partial people and
produces loose boxes and false positives. Prefer an ``mm``/``onnx`` detector
whenever one is available.

Score calibration: HOG returns an SVM margin ``w`` (unbounded, ``w > 0`` on the
positive side of the hyperplane). It is mapped to ``1 / (1 + exp(-w))``, so the
SVM decision boundary is 0.5 and larger margins approach 1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from ...config.models import DetectorConfig
from ...errors import ConfigError
from ..install import missing_backend
from ..types import Detections

MAX_SIDE = 640
"""Images are downscaled so their long side is at most this before detection."""
WIN_STRIDE = (8, 8)
PADDING = (8, 8)
SCALE = 1.05


def _cv2():
    try:
        import cv2
    except ImportError as e:  # pragma: no cover - opencv is a core dependency
        raise missing_backend("hog", e) from e
    return cv2


def weights_checksum(cfg: DetectorConfig, file_hash=None) -> str:
    """sha256 of OpenCV's default people SVM plus the OpenCV version (no detector built)."""
    cv2 = _cv2()
    h = hashlib.sha256(np.asarray(cv2.HOGDescriptor_getDefaultPeopleDetector(),
                                  np.float32).tobytes())
    h.update(cv2.__version__.encode())
    return h.hexdigest()


class HogDetector:
    """Person boxes from OpenCV's default HOG people detector (see module docstring).

    Args:
        cfg: Detector config; ``model`` must be empty or ``hog``; no checkpoint.
    """

    def __init__(self, cfg: DetectorConfig) -> None:
        if cfg.model not in ("", "hog"):
            raise ConfigError(f"model: the hog backend has one model ('hog'), got {cfg.model!r}")
        if cfg.checkpoint is not None:
            raise ConfigError("checkpoint: the hog backend has no checkpoint")
        cv2 = _cv2()
        self.cfg = cfg
        self.model_id = "opencv-hog-default-people"
        self._cv2 = cv2
        self._hog = cv2.HOGDescriptor()
        self._svm = cv2.HOGDescriptor_getDefaultPeopleDetector()
        self._hog.setSVMDetector(self._svm)

    def checksum(self) -> str:
        """sha256 of the SVM coefficients plus the OpenCV version that shipped them."""
        return weights_checksum(self.cfg)

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Raw person boxes per image (thresholds/NMS are applied by the stage)."""
        return [self._one(img) for img in images]

    def _one(self, image: np.ndarray) -> Detections:
        cv2 = self._cv2
        h, w = image.shape[:2]
        s = min(1.0, MAX_SIDE / max(h, w))
        small = image if s == 1.0 else cv2.resize(
            image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA
        )
        gray = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2GRAY)
        if min(gray.shape) < 128:
            return Detections.empty()
        rects, weights = self._hog.detectMultiScale(
            gray, hitThreshold=0.0, winStride=WIN_STRIDE, padding=PADDING, scale=SCALE,
        )
        if len(rects) == 0:
            return Detections.empty()
        r = np.asarray(rects, np.float32).reshape(-1, 4) / s
        boxes = np.stack([r[:, 0], r[:, 1], r[:, 0] + r[:, 2], r[:, 1] + r[:, 3]], axis=1)
        margin = np.asarray(weights, np.float64).reshape(-1)
        scores = (1.0 / (1.0 + np.exp(-margin))).astype(np.float32)
        return Detections(boxes.astype(np.float32), scores)


__all__ = ["HogDetector"]
