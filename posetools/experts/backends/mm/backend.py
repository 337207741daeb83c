"""The mm backend's detector and pose expert classes (see the package docstring)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ....config.models import DetectorConfig, ExpertConfig
from ....errors import ConfigError, ExpertError, ShapeError
from ....skeletons import SkeletonLayout, get_layout
from ... import zoo
from ...batching import chunks
from ...devices import resolve_device, use_half
from ...topdown import run_top_down
from ...types import Detections, Poses
from .models import LAYOUT_BY_K, BuiltModel, cached_model, pseudo_collate, running

__all__ = ["MMDetector", "MMPoseExpert"]


def _checked(image: np.ndarray, i: int) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ShapeError(
            f"images[{i}]: expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}"
        )
    return image


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _load(kind: str, cfg: DetectorConfig | ExpertConfig, default: str,
          score_thr: float) -> tuple[BuiltModel, bool, str, zoo.ZooEntry | None]:
    """``(model, half precision, model id, zoo entry)``; fp16 on the CPU fails before building."""
    config, entry = zoo.resolve_config(cfg.model or default, kind)
    ckpt = zoo.resolve_checkpoint(cfg.checkpoint, entry)
    device = resolve_device(cfg.device, "mm")
    half = use_half(cfg.precision, "mm", device)
    b = cached_model(kind, str(config), str(ckpt), device, score_thr)
    return b, half, entry.name if entry is not None else b.name, entry


class MMDetector:
    """Person detector backed by an mmdet model (RTMDet, Faster R-CNN, any mmdet config).

    Args:
        cfg: Detector config; ``cfg.model`` is a zoo name or an mmdet config path.

    Raises:
        MissingBackendError: The mm stack is missing (at import of this module).
        CheckpointError: Weights missing / wrong / not downloadable.
        DeviceError: CUDA asked for but unusable, or ``precision: fp16`` on the CPU.
    """

    def __init__(self, cfg: DetectorConfig) -> None:
        self.cfg = cfg
        self._b, self._half, self.model_id, _ = _load("detector", cfg, "rtmdet-tiny",
                                                      float(cfg.score_threshold))
        classes = self._b.meta.get("classes")
        self._person = classes.index("person") if classes and "person" in classes else 0

    def checksum(self) -> str:
        """sha256 of the weights file (``random-init`` for random weights)."""
        return self._b.checksum

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect persons.

        Args:
            images: Frames, each ``(H, W, 3) uint8`` RGB.

        Returns:
            One raw :class:`Detections` per frame (person class only): boxes ``(N, 4)``
            xyxy, scores ``(N,)``. The stage clips, thresholds and suppresses them
            (:func:`~posetools.experts.finalize.finalize_detections`).
        """
        b = self._b
        out: list[Detections] = []
        for idx in chunks(range(len(images)), self.cfg.batch_size):
            data = [b.prepare(dict(img=_checked(images[i], i), img_id=i)) for i in idx]
            with running(b, self._half):
                samples = b.model.test_step(pseudo_collate(data))
            out.extend(self._post(s.pred_instances) for s in samples)
        return out

    def _post(self, inst) -> Detections:
        labels = _numpy(inst.labels).reshape(-1)
        person = labels == self._person
        return Detections(_numpy(inst.bboxes).astype(np.float32).reshape(-1, 4)[person],
                          _numpy(inst.scores).astype(np.float32).reshape(-1)[person])


class MMPoseExpert:
    """2D pose expert backed by an mmpose model.

    Top-down models (RTMPose, RTMW, HRNet) need ``top_down: true`` and per-frame boxes;
    one-stage RTMO needs ``top_down: false`` and finds people itself.

    Args:
        cfg: Expert config; ``cfg.model`` is a zoo name or an mmpose config path.

    Raises:
        ConfigError: ``top_down`` does not match the model, unsupported keypoint layout.
        DeviceError: CUDA asked for but unusable, or ``precision: fp16`` on the CPU.
        CheckpointError: Weights missing / wrong / not downloadable.
    """

    def __init__(self, cfg: ExpertConfig) -> None:
        self.cfg = cfg
        self._b, self._half, self.model_id, entry = _load("expert", cfg, "rtmpose-m", 0.0)
        est = self._b.cfg.model.type
        self.top_down = est == "TopdownPoseEstimator"
        if not self.top_down and est != "BottomupPoseEstimator":
            raise ConfigError(f"model: unsupported mmpose estimator type {est!r}")
        if cfg.top_down != self.top_down:
            what = "a top-down model: set top_down: true" if self.top_down else (
                "a one-stage model that finds people itself: set top_down: false")
            raise ConfigError(f"experts.{cfg.name}.top_down: {self.model_id} is {what}")
        k = int(self._b.meta["num_keypoints"])
        name = entry.layout if entry is not None and entry.layout else LAYOUT_BY_K.get(k)
        if name is None:
            raise ConfigError(f"model: {self.model_id} has {k} keypoints, no posetools layout")
        self.layout: SkeletonLayout = get_layout(name)
        if len(self.layout.joints) != k:
            raise ConfigError(f"model: {self.model_id} has {k} keypoints, layout {name} has "
                              f"{len(self.layout.joints)}")
        self.num_joints = k

    def checksum(self) -> str:
        """sha256 of the weights file (``random-init`` for random weights)."""
        return self._b.checksum

    def estimate(
        self, images: Sequence[np.ndarray], boxes: Sequence[Detections] | None = None
    ) -> list[Poses]:
        """Estimate poses.

        Args:
            images: Frames, each ``(H, W, 3) uint8`` RGB.
            boxes: For top-down models, one :class:`Detections` per frame (ignored
                otherwise: one-stage models must get ``None``).

        Returns:
            One raw :class:`Poses` per frame: keypoints ``(N, K, 2)``, scores ``(N, K)``
            (uncalibrated, see module docstring), boxes ``(N, 4)``, box_scores ``(N,)``.
            Top-down: instance ``i`` belongs to the ``i``-th kept box (boxes scoring below
            ``min_instance_score`` are dropped).

        Raises:
            ExpertError: A top-down model got no boxes, or a one-stage model got boxes.
            ShapeError: Wrong image shape / dtype or ``len(boxes) != len(images)``.
        """
        if self.top_down:
            if boxes is None:
                raise ExpertError(f"{self.model_id} is top-down: estimate() needs boxes")
            if len(boxes) != len(images):
                raise ShapeError(f"boxes: {len(boxes)} entries for {len(images)} images")
            return self._top_down(images, boxes)
        if boxes is not None:
            raise ExpertError(f"{self.model_id} is one-stage: estimate() takes no boxes")
        return self._one_stage(images)

    def _top_down(self, images: Sequence[np.ndarray], dets: Sequence[Detections]) -> list[Poses]:
        b = self._b

        def infer(chunk: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
            data = []
            for f, i in chunk:
                info = dict(img=_checked(images[f], f),
                            bbox=dets[f].boxes[i : i + 1].astype(np.float32),
                            bbox_score=dets[f].scores[i : i + 1].astype(np.float32))
                info.update(b.meta)
                data.append(b.prepare(info))
            with running(b, self._half):
                samples = b.model.test_step(pseudo_collate(data))
            kp = np.stack([_numpy(s.pred_instances.keypoints)[0] for s in samples])
            sc = np.stack([_numpy(s.pred_instances.keypoint_scores)[0] for s in samples])
            return kp, sc

        return run_top_down(dets, infer, num_joints=self.num_joints,
                            batch_size=self.cfg.batch_size,
                            min_instance_score=self.cfg.min_instance_score)

    def _one_stage(self, images: Sequence[np.ndarray]) -> list[Poses]:
        b = self._b
        out = []
        for idx in chunks(range(len(images)), self.cfg.batch_size):
            data = []
            for i in idx:
                info = dict(img=_checked(images[i], i))
                info.update(b.meta)
                data.append(b.prepare(info))
            with running(b, self._half):
                samples = b.model.test_step(pseudo_collate(data))
            for s in samples:
                p = s.pred_instances
                if len(p) == 0:
                    out.append(Poses.empty(self.num_joints))
                    continue
                out.append(self._finish(_numpy(p.keypoints), _numpy(p.keypoint_scores),
                                        _numpy(p.bboxes), _numpy(p.bbox_scores)))
        return out

    @staticmethod
    def _finish(kp: np.ndarray, sc: np.ndarray, boxes: np.ndarray,
                box_scores: np.ndarray) -> Poses:
        """Raw poses in float32 (the stage clips scores and applies thresholds)."""
        return Poses(kp[..., :2].astype(np.float32), sc.astype(np.float32),
                     boxes.astype(np.float32).reshape(-1, 4),
                     box_scores.astype(np.float32).reshape(-1))
