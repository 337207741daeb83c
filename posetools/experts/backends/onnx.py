"""ONNX Runtime backend: the official ONNX exports of RTMDet, RTMPose and RTMO.

Runs OpenMMLab's deploy exports with numpy pre- and post-processing only (no torch, no
mm*). ``model`` is the path of the ``.onnx`` file; what the file is follows from its
output names:

* ``dets (B, N, 5)`` + ``labels (B, N)`` -> **RTMDet** person detector. Input: the frame
  in BGR order, resized keeping its aspect ratio into the model's input size, placed at
  the top-left of a canvas filled with 114, normalised with mean (103.53, 116.28, 123.675)
  and std (57.375, 57.12, 58.395). Boxes are scaled back by the resize ratio; only label
  0 (``person``) is kept.
* ``simcc_x (B, K, W*r)`` + ``simcc_y (B, K, H*r)`` -> **RTMPose / RTMW** top-down expert
  (SimCC). Each box is enlarged 1.25x about its centre, widened or heightened to the
  input's aspect ratio, and cut out with an affine warp to the input size (RGB,
  mean (123.675, 116.28, 103.53), std (58.395, 57.12, 57.375)). Decoding: argmax of each
  1-D distribution divided by the split ratio ``r`` (from the output widths) gives the
  input-space location, ``min(max_x, max_y)`` the score; locations map back through the
  inverse of the crop.
* ``dets (B, N, 5)`` + ``keypoints (B, N, K, 3)`` -> **RTMO** one-stage expert. Input:
  BGR letterbox as for RTMDet but not normalised (RTMO's preprocessor has mean 0, std 1);
  boxes and keypoints are scaled back by the resize ratio; the third keypoint channel is
  the (sigmoid) visibility score.

Results are raw, as in the mm backend (:mod:`posetools.experts.backends.mm`): the stage
clips SimCC maxima and RTMO sigmoid scores to [0, 1] and gives joints scoring 0 NaN
coordinates (:mod:`posetools.experts.finalize`). The CUDA execution provider is used
when ``device`` is ``cuda*`` and the installed onnxruntime has it, else the CPU
provider. When the model's batch axis is dynamic, up to ``batch_size`` crops
(top-down) or frames run per session call; a model exported with a fixed batch of 1
runs one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ...config.models import DetectorConfig, ExpertConfig
from ...errors import CheckpointError, ConfigError, ExpertError, MissingBackendError, ShapeError
from ...skeletons import SkeletonLayout, get_layout
from ..batching import chunks
from ..devices import resolve_device
from ..topdown import run_top_down
from ..types import Detections, Poses
from ..weights import weights_sha256

try:
    import onnxruntime as ort
except ImportError as _e:  # pragma: no cover - exercised only without onnxruntime
    raise MissingBackendError(f"onnxruntime is not installed: pip install 'posetools[onnx]' "
                              f"({_e})") from _e

__all__ = ["OnnxDetector", "OnnxPoseExpert", "affine_crop", "simcc_decode", "letterbox"]

DET_MEAN = np.array([103.53, 116.28, 123.675], np.float32)  # BGR order
DET_STD = np.array([57.375, 57.12, 58.395], np.float32)
POSE_MEAN = np.array([123.675, 116.28, 103.53], np.float32)  # RGB order
POSE_STD = np.array([58.395, 57.12, 57.375], np.float32)
BOX_PADDING = 1.25
_LAYOUT_BY_K = {17: "coco17", 133: "coco_wholebody133"}


def _check_image(image: np.ndarray, i: int) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ShapeError(
            f"images[{i}]: expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}"
        )


def letterbox(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio into a ``size = (H, W)`` canvas filled with 114.

    Args:
        image: ``(h, w, 3) uint8``.
        size: Canvas ``(H, W)``.

    Returns:
        ``(canvas (H, W, 3) uint8, ratio)``; the image sits at the top-left and input
        coordinates map back to the image by dividing by ``ratio``.
    """
    h, w = image.shape[:2]
    ratio = min(size[0] / h, size[1] / w)
    nw, nh = max(1, round(w * ratio)), max(1, round(h * ratio))
    canvas = np.full((size[0], size[1], 3), 114, np.uint8)
    canvas[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return canvas, ratio


def affine_crop(
    image: np.ndarray, box: np.ndarray, size: tuple[int, int], padding: float = BOX_PADDING
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a box out of an image into the model's input size, as mmpose's TopdownAffine.

    Args:
        image: ``(h, w, 3) uint8``.
        box: ``(4,)`` xyxy pixels.
        size: Model input ``(H, W)``.
        padding: Box enlargement about its centre.

    Returns:
        ``(crop (H, W, 3) uint8, center (2,), scale (2,))`` where ``scale`` is the
        ``(width, height)`` of the image region the crop covers, so an input-space point
        ``p`` maps back to ``p / (W, H) * scale + center - scale / 2``.
    """
    hh, ww = size
    x1, y1, x2, y2 = (float(v) for v in box)
    center = np.array([(x1 + x2) / 2, (y1 + y2) / 2], np.float32)
    bw, bh = (x2 - x1) * padding, (y2 - y1) * padding
    aspect = ww / hh
    if bw > bh * aspect:
        bh = bw / aspect
    else:
        bw = bh * aspect
    scale = np.array([bw, bh], np.float32)
    a = ww / bw
    m = np.array([[a, 0.0, ww / 2 - a * center[0]], [0.0, a, hh / 2 - a * center[1]]],
                 np.float64)
    crop = cv2.warpAffine(image, m, (ww, hh), flags=cv2.INTER_LINEAR)
    return crop, center, scale


def simcc_decode(
    simcc_x: np.ndarray, simcc_y: np.ndarray, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """Decode SimCC outputs to input-space locations and raw scores.

    Args:
        simcc_x: ``(B, K, W*ratio)``.
        simcc_y: ``(B, K, H*ratio)``.
        ratio: SimCC split ratio.

    Returns:
        ``(locs (B, K, 2) float32, scores (B, K) float32)``; scores are
        ``min(max_x, max_y)`` (uncalibrated), locations of scores <= 0 are NaN.
    """
    x = np.argmax(simcc_x, axis=-1).astype(np.float32) / ratio
    y = np.argmax(simcc_y, axis=-1).astype(np.float32) / ratio
    scores = np.minimum(simcc_x.max(axis=-1), simcc_y.max(axis=-1)).astype(np.float32)
    locs = np.stack([x, y], axis=-1)
    locs[scores <= 0] = np.nan
    return locs, scores


class _Session:
    """An ONNX Runtime session with its input geometry and batching ability."""

    def __init__(self, path: str, device: str) -> None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise CheckpointError(f"ONNX model file not found: {p}")
        providers = ["CPUExecutionProvider"]
        device = resolve_device(device, "onnx")
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise ConfigError(f"device: {device!r} but onnxruntime has no CUDA provider "
                                  f"(install onnxruntime-gpu)")
            idx = int(device.split(":")[1]) if ":" in device else 0
            providers = [("CUDAExecutionProvider", {"device_id": idx}), "CPUExecutionProvider"]
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            self.sess = ort.InferenceSession(str(p), opts, providers=providers)
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise CheckpointError(f"cannot load ONNX model {p}: {e}") from e
        inp = self.sess.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        if len(shape) != 4 or not all(isinstance(d, int) for d in shape[2:]):
            raise ConfigError(f"model: {p.name} input must be (B, 3, H, W) with fixed H, W; "
                              f"got {shape}")
        self.size = (int(shape[2]), int(shape[3]))
        self.dynamic_batch = not isinstance(shape[0], int)
        self.outputs = {o.name: o for o in self.sess.get_outputs()}
        self.path = p
        self.checksum = weights_sha256(p)

    def run(self, batch: np.ndarray, names: Sequence[str]) -> list[np.ndarray]:
        """Run on ``(B, 3, H, W)`` float32, splitting into single items if batch is fixed."""
        if self.dynamic_batch or len(batch) == 1:
            return self.sess.run(list(names), {self.input_name: batch})
        parts = [self.sess.run(list(names), {self.input_name: batch[i : i + 1]})
                 for i in range(len(batch))]
        return [np.concatenate([p[j] for p in parts]) for j in range(len(names))]


def _to_input(images: Sequence[np.ndarray], mean: np.ndarray, std: np.ndarray | None):
    x = np.stack(images).astype(np.float32)
    if std is not None:
        x = (x - mean) / std
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


class OnnxDetector:
    """RTMDet (official ONNX export) person detector.

    Args:
        cfg: ``cfg.model`` is the ``.onnx`` path.
    """

    def __init__(self, cfg: DetectorConfig) -> None:
        self.cfg = cfg
        self._s = _Session(cfg.model, cfg.device)
        if not {"dets", "labels"} <= set(self._s.outputs):
            raise ConfigError(f"model: {self._s.path.name} is not a detector export "
                              f"(outputs {sorted(self._s.outputs)}, want dets, labels)")
        self.model_id = self._s.path.stem

    def checksum(self) -> str:
        """sha256 of the ``.onnx`` file."""
        return self._s.checksum

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect persons; one :class:`Detections` per ``(H, W, 3) uint8`` RGB frame."""
        out: list[Detections] = []
        for idx in chunks(range(len(images)), self.cfg.batch_size):
            canv, ratios = [], []
            for i in idx:
                _check_image(images[i], i)
                c, r = letterbox(images[i][..., ::-1], self._s.size)
                canv.append(c)
                ratios.append(r)
            dets, labels = self._s.run(_to_input(canv, DET_MEAN, DET_STD), ("dets", "labels"))
            for j in range(len(idx)):
                d, lab = dets[j], labels[j].reshape(-1)
                person = lab == 0
                out.append(Detections((d[person, :4] / ratios[j]).astype(np.float32),
                                      d[person, 4].astype(np.float32)))
        return out


class OnnxPoseExpert:
    """RTMPose / RTMW (top-down, SimCC) or RTMO (one-stage) official ONNX export.

    Args:
        cfg: ``cfg.model`` is the ``.onnx`` path; ``cfg.top_down`` must match the model.
    """

    def __init__(self, cfg: ExpertConfig) -> None:
        self.cfg = cfg
        self._s = _Session(cfg.model, cfg.device)
        outs = set(self._s.outputs)
        if {"simcc_x", "simcc_y"} <= outs:
            self.top_down = True
            k = self._s.outputs["simcc_x"].shape[1]
        elif {"dets", "keypoints"} <= outs:
            self.top_down = False
            k = self._s.outputs["keypoints"].shape[2]
        else:
            raise ConfigError(f"model: {self._s.path.name} is neither an RTMPose (simcc_x, "
                              f"simcc_y) nor an RTMO (dets, keypoints) export: {sorted(outs)}")
        self.model_id = self._s.path.stem
        if cfg.top_down != self.top_down:
            what = "top-down: set top_down: true" if self.top_down else (
                "one-stage: set top_down: false")
            raise ConfigError(f"experts.{cfg.name}.top_down: {self.model_id} is {what}")
        if not isinstance(k, int) or k not in _LAYOUT_BY_K:
            raise ConfigError(f"model: {self.model_id} has {k} keypoints, no posetools layout")
        self.num_joints = k
        self.layout: SkeletonLayout = get_layout(_LAYOUT_BY_K[k])

    def checksum(self) -> str:
        """sha256 of the ``.onnx`` file."""
        return self._s.checksum

    def estimate(
        self, images: Sequence[np.ndarray], boxes: Sequence[Detections] | None = None
    ) -> list[Poses]:
        """Estimate poses (on ``boxes[i]`` for RTMPose; RTMO takes ``boxes=None``).

        Returns:
            One :class:`Poses` per frame; see :class:`~posetools.experts.base.Poses`.
        """
        for i, im in enumerate(images):
            _check_image(im, i)
        if not self.top_down:
            if boxes is not None:
                raise ExpertError(f"{self.model_id} is one-stage: estimate() takes no boxes")
            return self._one_stage(images)
        if boxes is None:
            raise ExpertError(f"{self.model_id} is top-down: estimate() needs boxes")
        if len(boxes) != len(images):
            raise ShapeError(f"boxes: {len(boxes)} entries for {len(images)} images")
        return self._top_down(images, boxes)

    def _top_down(self, images: Sequence[np.ndarray], dets: Sequence[Detections]) -> list[Poses]:
        h, w = self._s.size

        def infer(chunk: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
            crops, geo = [], []
            for f, i in chunk:
                crop, c, s = affine_crop(images[f], dets[f].boxes[i], (h, w))
                crops.append(crop)
                geo.append((c, s))
            sx, sy = self._s.run(_to_input(crops, POSE_MEAN, POSE_STD), ("simcc_x", "simcc_y"))
            locs, scores = simcc_decode(sx, sy, sx.shape[-1] / w)
            kp = np.stack([locs[j] / np.array([w, h], np.float32) * s + c - s / 2
                           for j, (c, s) in enumerate(geo)])
            return kp, scores

        return run_top_down(dets, infer, num_joints=self.num_joints,
                            batch_size=self.cfg.batch_size,
                            min_instance_score=self.cfg.min_instance_score)

    def _one_stage(self, images: Sequence[np.ndarray]) -> list[Poses]:
        out = []
        for idx in chunks(range(len(images)), self.cfg.batch_size):
            canv, ratios = [], []
            for i in idx:
                c, r = letterbox(images[i][..., ::-1], self._s.size)
                canv.append(c)
                ratios.append(r)
            dets, kpts = self._s.run(_to_input(canv, POSE_MEAN, None), ("dets", "keypoints"))
            for j in range(len(idx)):
                valid = dets[j][:, 4] > 0  # fixed-size exports pad with zero-score rows
                d, k = dets[j][valid], kpts[j][valid]
                if len(d) == 0:
                    out.append(Poses.empty(self.num_joints))
                    continue
                out.append(Poses((k[..., :2] / ratios[j]).astype(np.float32),
                                 k[..., 2].astype(np.float32),
                                 (d[:, :4] / ratios[j]).astype(np.float32),
                                 d[:, 4].astype(np.float32)))
        return out
