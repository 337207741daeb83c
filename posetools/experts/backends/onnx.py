"""ONNX Runtime backend: RTMDet, RTMPose / RTMW, HRNet and RTMO exports, numpy only.

``model`` is the path of an ``.onnx`` file; no torch and no mm* at run time. The
pre- and post-processing are the pure functions of :mod:`posetools.experts.onnx_ops`
(each reproduces one mmdet / mmpose test-time step exactly); this module holds the
sessions and the batching.

**Files from ``posetools export-onnx``** carry their settings in ``posetools.*``
metadata (:mod:`posetools.experts.onnx_meta`): family, input size, channel order,
mean / std, padding, flip test, decoding and NMS settings. The YAML names only the
file. Families: ``rtmdet`` (``dets (B, M, 5)`` + ``labels (B, M)``, NMS in the graph),
``rtmdet-raw`` (``cls_scores (B, N, C)`` + ``bbox_dists (B, N, 4)``; decode, per-level
top-k and class-wise NMS in numpy, at ``max(file score_thr, score_threshold)``),
``simcc`` (``simcc_x`` + ``simcc_y``), ``heatmap`` (``heatmaps (B, K, h, w)``),
``rtmo`` (``dets (B, M, 5)`` + ``keypoints (B, M, K, 3)``).

**Files without that metadata** (mmdeploy's, or other exporters') are still accepted
and read by their output names with the conventions of OpenMMLab's deploy exports
(:data:`OFFICIAL`): ``dets`` + ``labels`` RTMDet (BGR, mmdet mean / std, top-left
letterbox filled with 114), ``simcc_x`` + ``simcc_y`` RTMPose (RGB, ImageNet mean /
std, box padding 1.25, split ratio from the output widths), ``dets`` + ``keypoints``
RTMO (BGR, no normalisation, centred letterbox filled with 114). Anything else is
refused with the outputs it has.

Results are raw, as in the mm backend: the stages clip scores and apply thresholds
and NMS (:mod:`posetools.experts.finalize`). Top-down crops of all frames of a call are
pooled by :func:`~posetools.experts.topdown.run_top_down` and run ``batch_size`` per
session call, warped straight into one reused uint8 batch and normalised into one
reused float32 batch (so an instance is not safe to call from two threads at once).
The session uses ``threads`` intra-op threads (``0``: ONNX Runtime's default, one per
physical core), sequential execution and no thread spinning (idle spinning threads
take the core the video decoder needs). ``device: cuda*`` uses the CUDA execution
provider; a session that ONNX Runtime quietly put on the CPU instead (CUDA or cuDNN
libraries that fail to load) is a :class:`~posetools.errors.DeviceError`, never a
slow CPU run. ``precision: fp16`` converts the graph to float16 when the session is
made (:func:`half_model`; inputs and outputs stay float32). A file exported with a
fixed batch of 1 runs one item per call.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...config.models import DetectorConfig, ExpertConfig
from ...errors import (
    CheckpointError,
    ConfigError,
    DeviceError,
    ExpertError,
    MissingBackendError,
    ShapeError,
)
from ...skeletons import SkeletonLayout, get_layout
from .. import onnx_meta
from .. import onnx_ops as ops
from ..batching import chunks
from ..devices import cuda_index, resolve_device, use_half
from ..topdown import run_top_down
from ..types import Detections, Poses
from ..weights import weights_sha256

try:
    import onnxruntime as ort
except ImportError as _e:  # pragma: no cover - exercised only without onnxruntime
    raise MissingBackendError(f"onnxruntime is not installed: pip install 'posetools[onnx]' "
                              f"({_e})") from _e

__all__ = ["OnnxDetector", "OnnxPoseExpert", "OFFICIAL", "session_options"]

_DET_NORM = {"mean": [103.53, 116.28, 123.675], "std": [57.375, 57.12, 58.395]}
OFFICIAL: dict[str, dict[str, Any]] = {
    "rtmdet": {"channel_order": "BGR", "preprocess": "resize_pad", "pad_value": 114.0,
               **_DET_NORM},
    "simcc": {"channel_order": "RGB", "preprocess": "topdown_affine", "bbox_padding": 1.25,
              "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375]},
    "rtmo": {"channel_order": "BGR", "preprocess": "bottomup_affine", "pad_value": 114.0,
             "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
}
"""Settings assumed for files without ``posetools.*`` metadata, by family."""

_OUTPUTS = {"rtmdet": ("dets", "labels"), "rtmdet-raw": ("cls_scores", "bbox_dists"),
            "simcc": ("simcc_x", "simcc_y"), "heatmap": ("heatmaps",),
            "rtmo": ("dets", "keypoints")}
_LAYOUT_BY_K = {17: "coco17", 133: "coco_wholebody133"}


def session_options(threads: int = 0, spinning: bool = False) -> ort.SessionOptions:
    """CPU session options of the backend.

    Args:
        threads: Intra-op threads (``0``: ONNX Runtime's default, one per physical core).
        spinning: Let idle intra-op threads spin (ONNX Runtime's default; off here).
    """
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return opts


def half_model(path: Path) -> bytes:
    """The model at ``path`` converted to float16, with float32 inputs and outputs.

    ONNX Runtime's converter keeps the ops it knows to be unsafe in half precision (NMS,
    TopK, Resize...) in float32 and inserts the casts; the graph's inputs and outputs stay
    float32, so the pre- and post-processing do not change.

    Raises:
        MissingBackendError: The ``onnx`` package is not installed.
    """
    try:
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16
    except ImportError as e:
        raise MissingBackendError(f"precision: fp16 of the onnx backend needs the onnx "
                                  f"package: pip install 'posetools[onnx]' ({e})") from e
    model = onnx.load(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # notes about values clamped to the float16 range
        half = convert_float_to_float16(model, keep_io_types=True)
    return half.SerializeToString()


def _check_image(image: np.ndarray, i: int) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ShapeError(
            f"images[{i}]: expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}"
        )


def _family_by_outputs(names: set[str]) -> str | None:
    for family in ("rtmdet", "simcc", "rtmo", "rtmdet-raw", "heatmap"):
        if set(_OUTPUTS[family]) <= names:
            return family
    return None


class _Session:
    """An ONNX Runtime session with its input geometry and preprocessing settings.

    Attributes:
        family: The file's family (metadata, else from its output names).
        meta: Its settings (metadata over the :data:`OFFICIAL` defaults).
        size_wh: Network input ``(W, H)``.
    """

    def __init__(self, path: str, device: str | None, threads: int,
                 precision: str = "fp32") -> None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise CheckpointError(f"ONNX model file not found: {p} (make it with `posetools "
                                  f"export-onnx MODEL -o {p}`, README section [onnx])")
        device = resolve_device(device, "onnx")
        providers: list = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            providers = [("CUDAExecutionProvider", {"device_id": cuda_index(device)}),
                         "CPUExecutionProvider"]
        self.half = use_half(precision, "onnx", device)
        try:
            model = half_model(p) if self.half else str(p)
            with warnings.catch_warnings():  # a missing provider is checked below
                warnings.simplefilter("ignore", UserWarning)
                self.sess = ort.InferenceSession(model, session_options(threads),
                                                 providers=providers)
        except MissingBackendError:
            raise
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise CheckpointError(f"cannot load ONNX model {p}: {e}") from e
        if device.startswith("cuda") and "CUDAExecutionProvider" not in self.sess.get_providers():
            # onnxruntime falls back to the CPU when CUDA / cuDNN libraries fail to load
            raise DeviceError(f"device: {device!r}, but ONNX Runtime could not start its CUDA "
                              f"provider for {p.name} (CUDA or cuDNN libraries missing or not "
                              f"the versions this onnxruntime-gpu needs)")
        inp = self.sess.get_inputs()[0]
        shape = inp.shape
        if len(shape) != 4 or not all(isinstance(d, int) for d in shape[2:]):
            raise ConfigError(f"model: {p.name} input must be (B, 3, H, W) with fixed H, W; "
                              f"got {shape}")
        self.input_name = inp.name
        self.size_wh = (int(shape[3]), int(shape[2]))
        self.dynamic_batch = not isinstance(shape[0], int)
        self.outputs = {o.name: o for o in self.sess.get_outputs()}
        self.path = p
        self.checksum = weights_sha256(p)
        try:
            meta = onnx_meta.decode(self.sess.get_modelmeta().custom_metadata_map)
        except ValueError as e:
            raise ConfigError(f"model: {p.name}: {e}") from e
        self.family = str(meta.get("family") or _family_by_outputs(set(self.outputs)) or "")
        self.meta: dict[str, Any] = {**OFFICIAL.get(self.family, {}), **meta}
        self.model_id = str(meta.get("model") or p.stem)
        self._buf: np.ndarray | None = None
        self._norm: tuple[np.ndarray, np.ndarray, bool] | None = None

    def check(self, families: Sequence[str], what: str) -> None:
        """Refuse a file whose family is not one of ``families`` (or lacks its outputs)."""
        want = _OUTPUTS.get(self.family, ())
        if self.family not in families or not set(want) <= set(self.outputs):
            raise ConfigError(f"model: {self.path.name} is not {what} (outputs "
                              f"{sorted(self.outputs)}, family {self.family or 'unknown'})")
        if self.family not in OFFICIAL and "input_size" not in self.meta:
            raise ConfigError(f"model: {self.path.name}: a {self.family} file needs the "
                              "metadata of `posetools export-onnx` (re-export it)")
        if self.meta.get("tensor_layout", "NCHW") != "NCHW":
            raise ConfigError(f"model: {self.path.name}: tensor_layout "
                              f"{self.meta['tensor_layout']!r} (NCHW only)")
        if list(self.meta.get("input_size", self.size_wh)) != list(self.size_wh):
            raise ConfigError(f"model: {self.path.name}: metadata input_size "
                              f"{self.meta['input_size']} but the graph takes {self.size_wh}")
        self._norm = (np.asarray(self.meta["mean"], np.float32),
                      np.asarray(self.meta["std"], np.float32),
                      self.meta["channel_order"] == "BGR")  # frames arrive RGB

    def normalize(self, images: np.ndarray) -> np.ndarray:
        """``(B, H, W, 3) uint8`` RGB -> the network input ``(B, 3, H, W) float32``.

        Written into a buffer reused across calls (grown on demand).
        """
        w, h = self.size_wh
        n = len(images)
        if self._buf is None or self._buf.shape[0] < n:
            self._buf = np.empty((n, 3, h, w), np.float32)
        assert self._norm is not None, "check() first"
        mean, std, swap = self._norm
        return ops.to_nchw(images, mean, std, swap_rb=swap, out=self._buf[:n])

    def run(self, batch: np.ndarray, names: Sequence[str]) -> list[np.ndarray]:
        """Run on ``(B, 3, H, W)`` float32, one item per call if the batch axis is fixed."""
        if self.dynamic_batch or len(batch) == 1:
            return self.sess.run(list(names), {self.input_name: batch})
        parts = [self.sess.run(list(names), {self.input_name: batch[i : i + 1]})
                 for i in range(len(batch))]
        return [np.concatenate([p[j] for p in parts]) for j in range(len(names))]


class OnnxDetector:
    """RTMDet person detector from an ``.onnx`` file (NMS in the graph, or raw outputs).

    Args:
        cfg: ``cfg.model`` is the ``.onnx`` path; ``cfg.threads`` the session's threads.

    Raises:
        CheckpointError: The file is missing or not a loadable model.
        ConfigError: Not a detector file, or an unusable device.
    """

    def __init__(self, cfg: DetectorConfig) -> None:
        self.cfg = cfg
        self._s = s = _Session(cfg.model, cfg.device, cfg.threads, cfg.precision)
        s.check(("rtmdet", "rtmdet-raw"), "a detector export (want dets, labels or "
                "cls_scores, bbox_dists)")
        self.model_id = s.model_id
        classes = list(s.meta.get("classes") or ["person"])
        self._person = classes.index("person") if "person" in classes else 0
        if s.family == "rtmdet-raw":
            self._priors, self._levels = ops.grid_priors(s.size_wh, s.meta["strides"],
                                                         float(s.meta.get("prior_offset", 0)))

    def checksum(self) -> str:
        """sha256 of the ``.onnx`` file."""
        return self._s.checksum

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect persons.

        Args:
            images: Frames, each ``(H, W, 3) uint8`` RGB.

        Returns:
            One raw :class:`Detections` per frame (person class only): boxes ``(N, 4)``
            xyxy image pixels, scores ``(N,)``; the stage clips, thresholds and
            suppresses them.
        """
        s, out = self._s, []
        w, h = s.size_wh
        for idx in chunks(range(len(images)), self.cfg.batch_size):
            canvas = np.empty((len(idx), h, w, 3), np.uint8)
            scales = []
            for j, i in enumerate(idx):
                _check_image(images[i], i)
                scales.append(ops.resize_pad(images[i], s.size_wh, s.meta["pad_value"],
                                             out=canvas[j])[1])
            x = s.normalize(canvas)
            if s.family == "rtmdet-raw":
                res = self._decode_raw(*s.run(x, _OUTPUTS["rtmdet-raw"]), scales)
            else:
                dets, labels = s.run(x, _OUTPUTS["rtmdet"])
                res = [(d[:, :4] * ops.rescale_factors(sc), d[:, 4], lab.reshape(-1))
                       for d, lab, sc in zip(dets, labels, scales, strict=True)]
            for boxes, scores, labels in res:
                keep = (labels == self._person) & (scores > 0)  # score 0: padding rows
                out.append(Detections(boxes[keep].astype(np.float32),
                                      scores[keep].astype(np.float32)))
        return out

    def _decode_raw(self, scores: np.ndarray, dists: np.ndarray,
                    scales: Sequence[np.ndarray]) -> list[tuple]:
        """Decode raw outputs (:func:`~posetools.experts.onnx_ops.rtmdet_decode`).

        Args:
            scores: ``cls_scores (B, N, C)``.
            dists: ``bbox_dists (B, N, 4)``.
            scales: Per image, the ``(2,)`` resize factors of its letterbox.

        Returns:
            Per image ``(boxes (M, 4) image pixels, scores (M,), labels (M,))``.
        """
        m = self._s.meta
        thr = max(float(m.get("score_thr", 0.0)), float(self.cfg.score_threshold))
        return [ops.rtmdet_decode(sc, d, self._priors, self._levels, self._s.size_wh, thr,
                                  int(m["nms_pre"]), float(m["nms_iou"]), int(m["max_det"]),
                                  scale)
                for sc, d, scale in zip(scores, dists, scales, strict=True)]


class OnnxPoseExpert:
    """RTMPose / RTMW / HRNet (top-down) or RTMO (one-stage) from an ``.onnx`` file.

    Args:
        cfg: ``cfg.model`` is the ``.onnx`` path; ``cfg.top_down`` must match the model.

    Raises:
        CheckpointError: The file is missing or not a loadable model.
        ConfigError: Not a pose file, ``top_down`` does not match it, no posetools
            layout for its keypoints, or an unusable device.
    """

    def __init__(self, cfg: ExpertConfig) -> None:
        self.cfg = cfg
        self._s = s = _Session(cfg.model, cfg.device, cfg.threads, cfg.precision)
        s.check(("simcc", "heatmap", "rtmo"), "a pose export: neither an RTMPose (simcc_x, "
                "simcc_y) / heatmap (heatmaps) top-down nor an RTMO (dets, keypoints) model")
        self.model_id = s.model_id
        self.top_down = s.family != "rtmo"
        if cfg.top_down != self.top_down:
            what = "top-down: set top_down: true" if self.top_down else (
                "one-stage: set top_down: false")
            raise ConfigError(f"experts.{cfg.name}.top_down: {self.model_id} is {what}")
        first = s.outputs[_OUTPUTS[s.family][-1 if s.family == "rtmo" else 0]]
        k = s.meta.get("num_keypoints") or first.shape[1 if self.top_down else 2]
        layout = s.meta.get("keypoint_layout") or (
            _LAYOUT_BY_K.get(k) if isinstance(k, int) else None)
        if layout is None:
            raise ConfigError(f"model: {self.model_id} has {k} keypoints, no posetools layout")
        self.layout: SkeletonLayout = get_layout(layout)
        if len(self.layout.joints) != k:
            raise ConfigError(f"model: {self.model_id} has {k} keypoints, layout {layout} has "
                              f"{len(self.layout.joints)}")
        self.num_joints = int(k)
        self._crops: np.ndarray | None = None

    def checksum(self) -> str:
        """sha256 of the ``.onnx`` file."""
        return self._s.checksum

    def estimate(
        self, images: Sequence[np.ndarray], boxes: Sequence[Detections] | None = None
    ) -> list[Poses]:
        """Estimate poses.

        Args:
            images: Frames, each ``(H, W, 3) uint8`` RGB.
            boxes: Top-down: one :class:`Detections` per frame; one-stage: ``None``.

        Returns:
            One raw :class:`Poses` per frame: keypoints ``(N, K, 2)`` image pixels,
            uncalibrated scores ``(N, K)``, boxes ``(N, 4)``, box scores ``(N,)``.

        Raises:
            ExpertError: A top-down model got no boxes, or a one-stage model got boxes.
            ShapeError: Wrong image shape / dtype or ``len(boxes) != len(images)``.
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

    def _crop_buffer(self, n: int) -> np.ndarray:
        """A reused ``(>= n, H, W, 3) uint8`` crop batch."""
        w, h = self._s.size_wh
        if self._crops is None or self._crops.shape[0] < n:
            self._crops = np.empty((n, h, w, 3), np.uint8)
        return self._crops

    def _decode(self, outs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Outputs -> input-space locations ``(B, K, 2)`` and raw scores ``(B, K)``."""
        s = self._s
        if s.family == "heatmap":
            return ops.heatmap_decode(outs[0], s.size_wh)
        sx, sy = outs
        ratio = s.meta.get("simcc_split_ratio") or sx.shape[-1] / s.size_wh[0]
        return ops.simcc_decode(sx, sy, float(ratio))

    def _top_down(self, images: Sequence[np.ndarray], dets: Sequence[Detections]) -> list[Poses]:
        s = self._s
        pad = float(s.meta.get("bbox_padding", 1.25))
        names = _OUTPUTS[s.family]

        def infer(chunk: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
            jobs = [(f, dets[f].boxes[i]) for f, i in chunk]
            crops, center, scale = ops.topdown_crops(images, jobs, s.size_wh, pad,
                                                     out=self._crop_buffer(len(jobs)))
            locs, scores = self._decode(s.run(s.normalize(crops), names))
            return ops.input_to_image(locs, center, scale, s.size_wh), scores

        return run_top_down(dets, infer, num_joints=self.num_joints,
                            batch_size=self.cfg.batch_size,
                            min_instance_score=self.cfg.min_instance_score)

    def _one_stage(self, images: Sequence[np.ndarray]) -> list[Poses]:
        s, out = self._s, []
        w, h = s.size_wh
        for idx in chunks(range(len(images)), self.cfg.batch_size):
            canvas = np.empty((len(idx), h, w, 3), np.uint8)
            geo = [ops.bottomup_warp(images[i], s.size_wh, s.meta["pad_value"], out=canvas[j])
                   for j, i in enumerate(idx)]
            dets, kpts = s.run(s.normalize(canvas), _OUTPUTS["rtmo"])
            for j in range(len(idx)):
                valid = dets[j][:, 4] > 0  # fixed-size outputs pad with zero-score rows
                d, k = dets[j][valid], kpts[j][valid]
                if len(d) == 0:
                    out.append(Poses.empty(self.num_joints))
                    continue
                _, c, sz = geo[j]
                boxes = ops.input_to_image(d[:, :4].reshape(-1, 2, 2), c, sz, s.size_wh)
                out.append(Poses(ops.input_to_image(k[..., :2], c, sz, s.size_wh),
                                 k[..., 2].astype(np.float32), boxes.reshape(-1, 4),
                                 d[:, 4].astype(np.float32)))
        return out
