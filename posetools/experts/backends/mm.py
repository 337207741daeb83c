"""OpenMMLab backend: mmdet person detectors and mmpose pose experts.

This is the only posetools module that imports ``mmcv`` / ``mmengine`` / ``mmdet`` /
``mmpose``. Importing it without that stack raises
:class:`~posetools.errors.MissingBackendError` with the install hint.

Models are named by a short zoo name (see :mod:`posetools.experts.zoo`: ``rtmdet-tiny``,
``faster-rcnn-r50``, ``rtmpose-m``, ``rtmw-l``, ``hrnet-w32``, ``rtmo-s``...) whose config
is the one bundled in the installed package, or by a path to any mmdet / mmpose config.
Weights come from the zoo cache, a local file, or (tests / benchmarks only) the
explicit ``checkpoint: random-init``.

What this backend does beyond mmpose's own APIs:

* **Batches across frames.** ``MMPoseInferencer`` and ``inference_topdown`` run one
  image at a time. Here detector inputs are batched over ``batch_size`` frames, and
  top-down crops of *all* frames in a call are pooled and run ``batch_size`` crops per
  forward pass; one-stage models batch ``batch_size`` frames.
* **Empty detections give zero instances.** mmpose's ``inference_topdown`` (and the
  inferencer) invent a whole-image box when there is none; here a frame without boxes
  never reaches the model.
* **Detector scores are kept** as the instances' ``box_scores``.
* **Scope isolation.** mmengine keeps one global "default scope" that decides which
  package's registry resolves a type name; building or running an mmdet model while it
  says ``mmpose`` (or the reverse) picks the wrong transforms (mmpose issue #2044). Every
  build and every call here runs inside ``DefaultScope.overwrite_default_scope`` for the
  model's own scope, and the caller's scope is restored afterwards.
* **Detector post-processing.** The config's pre-NMS score threshold is raised to the
  ``score_threshold`` asked for. Class-wise NMS only lets a box be suppressed by a
  higher-scoring one, so the boxes kept above the threshold are unchanged, while the NMS
  no longer sorts thousands of hopeless candidates. Only the ``person`` class is kept
  (index of ``person`` in the config's class list, else class 0); the stage then applies
  the final per-frame NMS at ``nms_iou`` and keeps the ``max_detections`` best.
* **Models are cached per process** (keyed by config, weights, device and detector
  threshold), so a worker reused across videos builds each model once.
* **Inference rewrites** (``FAST_INFERENCE``, on by default): BatchNorm folded into the
  preceding conv (OpenMMLab's ``--fuse-conv-bn``; skipped for models that share a conv
  across BNs) and channels-last memory. Same function up to float rounding; on CPU here
  about 1.4x faster end to end (``benchmarks/mm_vs_inferencer.py``).

Keypoint score calibration: this backend returns the raw scores below; the stage's
:func:`~posetools.experts.finalize.finalize_poses` clips them to ``[0, 1]`` and gives
a joint whose score is 0, or below ``min_keypoint_score``, score 0 and NaN coordinates:

* **SimCC heads (RTMPose, RTMW):** mmpose reports ``min(max_x, max_y)`` of the raw 1-D
  classification logits. Training matches ``softmax(beta * logits)`` to Gaussian labels
  whose peak is 1, so a confidently localised joint scores about 1; values above 1 are
  over-confident peaks and values <= 0 mark joints mmpose itself treats as not found.
  We **clip to [0, 1]**. Clipping rather than a squashing function keeps the thresholds
  RTMPose users know (e.g. 0.3 in OpenMMLab's demos) meaning the same thing; the only
  information lost is the ordering among joints already at full confidence.
* **Heatmap heads (HRNet):** the heatmap maximum (targets are Gaussians of peak 1);
  clipped to [0, 1].
* **RTMO:** keypoint visibility scores come out of a sigmoid; clipped for safety only.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...config.models import DetectorConfig, ExpertConfig
from ...errors import CheckpointError, ConfigError, ExpertError, MissingBackendError, ShapeError
from ...skeletons import SkeletonLayout, get_layout
from .. import zoo
from ..batching import chunks
from ..devices import resolve_device
from ..install import MM_INSTALL_HINT
from ..topdown import run_top_down
from ..types import Detections, Poses

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mmcv  # noqa: F401 - fail early: mmpose needs the full mmcv (mmcv.ops)
        import mmdet.registry
        import mmdet.utils
        import mmpose.registry
        import mmpose.utils
        import torch
        from mmcv.cnn import fuse_conv_bn
        from mmengine.config import Config
        from mmengine.dataset import Compose, pseudo_collate
        from mmengine.model import revert_sync_batchnorm
        from mmengine.registry import DefaultScope
        from mmpose.apis.inference import dataset_meta_from_config

        mmdet.utils.register_all_modules(init_default_scope=False)
        mmpose.utils.register_all_modules(init_default_scope=False)
except ImportError as _e:  # pragma: no cover - exercised only without the stack
    raise MissingBackendError(f"{MM_INSTALL_HINT} ({_e})") from _e

__all__ = ["MMDetector", "MMPoseExpert", "RANDOM_INIT_SEED", "clear_model_cache"]

RANDOM_INIT_SEED = 0
FAST_INFERENCE = True
"""Apply :func:`_fast_inference` to every model built (set False to keep models as built,
e.g. to save their ``state_dict`` as a checkpoint)."""
"""Seed of ``checkpoint: random-init`` weights (same weights in every process)."""

_LAYOUT_BY_K = {17: "coco17", 133: "coco_wholebody133"}
_BUILD_LOCK = threading.RLock()


@contextmanager
def _scope(name: str) -> Iterator[None]:
    """Run with mmengine's default scope set to ``name``; restore the caller's after."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with DefaultScope.overwrite_default_scope(name):
            yield


@dataclass
class _Built:
    """A built model with what running it needs."""

    model: torch.nn.Module
    scope: str
    pipeline: Compose
    meta: dict
    checksum: str
    name: str
    cfg: Config
    rgb_ok: bool = False

    def prepare(self, info: dict) -> dict:
        """Run the test pipeline on ``info['img']`` (RGB) and return the packed sample.

        The models expect BGR. When every transform treats the three channels alike
        (resize, affine warp, padding with one grey value), the RGB frame goes through
        the pipeline and only the small packed tensor has its channels swapped: the
        same numbers as converting the full frame first, without the full-frame copy.
        """
        if self.rgb_ok:
            packed = self.pipeline(info)
            packed["inputs"] = packed["inputs"][[2, 1, 0]]
            return packed
        info["img"] = cv2.cvtColor(info["img"], cv2.COLOR_RGB2BGR)
        return self.pipeline(info)


def _check_device(device: str | None) -> str:
    return resolve_device(device, "mm")


def _load_weights(model: torch.nn.Module, checkpoint: str) -> None:
    sd = zoo.load_state_dict(Path(checkpoint))
    try:
        res = model.load_state_dict(sd, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise CheckpointError(f"checkpoint {checkpoint} does not fit the model config: {e}") from e
    missing = [
        k for k in res.missing_keys
        if not k.endswith("num_batches_tracked") and not k.startswith("data_preprocessor.")
    ]
    if missing:
        raise CheckpointError(
            f"checkpoint {checkpoint} does not fit the model config: {len(missing)} weights "
            f"missing (e.g. {', '.join(missing[:3])})"
        )


@functools.lru_cache(maxsize=16)
def _build(kind: str, config: str, checkpoint: str, device: str, score_thr: float) -> _Built:
    """Build (once per process) a detector or pose model; see module docstring."""
    device = _check_device(device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _build_quiet(kind, config, checkpoint, device, score_thr)


def _build_quiet(kind: str, config: str, checkpoint: str, device: str, score_thr: float) -> _Built:
    cfg = Config.fromfile(config)
    scope = cfg.get("default_scope") or ("mmdet" if kind == "detector" else "mmpose")
    if kind == "detector":
        tc = cfg.model.get("test_cfg") or {}
        tc = tc.get("rcnn", tc)  # two-stage detectors: threshold of the R-CNN stage
        if "score_thr" in tc:
            tc["score_thr"] = max(float(tc["score_thr"]), score_thr)
        steps = [
            t for t in cfg.test_dataloader.dataset.pipeline
            if not str(t["type"]).split(".")[-1].startswith("LoadAnnotations")
        ]
        steps[0] = dict(type="mmdet.LoadImageFromNDArray")
        registry = mmdet.registry.MODELS
    else:
        steps = list(cfg.test_dataloader.dataset.pipeline)
        registry = mmpose.registry.MODELS
    with _BUILD_LOCK, _scope(scope), torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        model = revert_sync_batchnorm(registry.build(cfg.model))
        pipeline = Compose(steps)
    if checkpoint != zoo.RANDOM_INIT:
        _load_weights(model, checkpoint)
    meta: dict = {}
    if kind == "expert":
        meta = dataset_meta_from_config(cfg, dataset_mode="train") or {}
        if "num_keypoints" not in meta:
            raise ConfigError(f"model: cannot read the keypoint metainfo of {config}")
        model.dataset_meta = meta
    else:
        classes = (cfg.test_dataloader.dataset.get("metainfo") or {}).get("classes")
        meta = {"classes": tuple(classes) if classes else None}
    model.cfg = cfg
    model.to(device).eval()
    if FAST_INFERENCE:
        model = _fast_inference(model)
    return _Built(model, scope, pipeline, meta, zoo.checkpoint_checksum(checkpoint),
                  Path(config).stem, cfg, _channel_symmetric(steps))


def _fast_inference(model):
    """Inference-only rewrites: fold BatchNorm into the conv before it, channels-last memory.

    Folding (OpenMMLab's ``--fuse-conv-bn``) computes the same function up to float
    rounding, but only when every conv has its own BN: RTMDet's head shares one conv
    between pyramid levels that each have their own BN, and folding those would be
    wrong. Models with a shared conv are therefore left unfolded. Channels-last memory
    lets oneDNN / cuDNN pick faster convolution kernels; it never changes results.
    """
    convs = Counter(id(m) for _, m in model.named_modules(remove_duplicate=False)
                    if isinstance(m, torch.nn.modules.conv._ConvNd))
    if all(n == 1 for n in convs.values()):
        model = fuse_conv_bn(model)
    return model.to(memory_format=torch.channels_last)


_SYMMETRIC = {"LoadImageFromNDArray", "LoadImage", "Resize", "Pad", "PackDetInputs",
              "GetBBoxCenterScale", "TopdownAffine", "PackPoseInputs", "BottomupResize"}


def _channel_symmetric(steps: list) -> bool:
    """True if no test transform can tell RGB from BGR (see :meth:`_Built.prepare`)."""
    for t in steps:
        if str(t["type"]).split(".")[-1] not in _SYMMETRIC:
            return False
        pad = t.get("pad_val")
        pad = pad.get("img", pad) if isinstance(pad, dict) else pad
        if isinstance(pad, list | tuple) and len(set(pad)) > 1:
            return False
    return True


def clear_model_cache() -> None:
    """Drop the per-process model cache (frees the models' memory)."""
    _build.cache_clear()


def _checked(image: np.ndarray, i: int) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ShapeError(
            f"images[{i}]: expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}"
        )
    return image


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


class MMDetector:
    """Person detector backed by an mmdet model (RTMDet, Faster R-CNN, any mmdet config).

    Args:
        cfg: Detector config; ``cfg.model`` is a zoo name or an mmdet config path.

    Raises:
        MissingBackendError: The mm stack is missing (at import of this module).
        CheckpointError: Weights missing / wrong / not downloadable.
        ConfigError: Unusable device.
    """

    def __init__(self, cfg: DetectorConfig) -> None:
        self.cfg = cfg
        config, entry = zoo.resolve_config(cfg.model or "rtmdet-tiny", "detector")
        ckpt = zoo.resolve_checkpoint(cfg.checkpoint, entry)
        self._b = _build("detector", str(config), str(ckpt), cfg.device,
                         float(cfg.score_threshold))
        self.model_id = entry.name if entry is not None else self._b.name
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
            with _scope(b.scope), torch.inference_mode():
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
        ConfigError: ``top_down`` does not match the model, unsupported keypoint layout,
            unusable device.
        CheckpointError: Weights missing / wrong / not downloadable.
    """

    def __init__(self, cfg: ExpertConfig) -> None:
        self.cfg = cfg
        config, entry = zoo.resolve_config(cfg.model or "rtmpose-m", "expert")
        ckpt = zoo.resolve_checkpoint(cfg.checkpoint, entry)
        self._b = _build("expert", str(config), str(ckpt), cfg.device, 0.0)
        self.model_id = entry.name if entry is not None else self._b.name
        est = self._b.cfg.model.type
        self.top_down = est == "TopdownPoseEstimator"
        if not self.top_down and est != "BottomupPoseEstimator":
            raise ConfigError(f"model: unsupported mmpose estimator type {est!r}")
        if cfg.top_down != self.top_down:
            what = "a top-down model: set top_down: true" if self.top_down else (
                "a one-stage model that finds people itself: set top_down: false")
            raise ConfigError(f"experts.{cfg.name}.top_down: {self.model_id} is {what}")
        k = int(self._b.meta["num_keypoints"])
        name = entry.layout if entry is not None and entry.layout else _LAYOUT_BY_K.get(k)
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
            with _scope(b.scope), torch.inference_mode():
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
            with _scope(b.scope), torch.inference_mode():
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
