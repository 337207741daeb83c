"""ONNX Runtime backend on small ONNX graphs with the official exports' names and shapes.

The graphs are exported here from tiny torch modules that "see" the brightest spot of
their input, so the real session, the pre-processing (affine crop, letterbox) and the
post-processing (SimCC decode, inverse mappings) are checked end to end on geometry.
They carry no ``posetools.*`` metadata: this is the path of mmdeploy's files (settings
from :data:`~posetools.experts.backends.onnx.OFFICIAL`). The pure functions have their
own tests (``tests/experts/test_onnx_ops.py``), files written by ``export-onnx`` theirs
(``tests/experts/test_onnx_export.py``).
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from posetools.config.models import DetectorConfig, ExpertConfig  # noqa: E402
from posetools.errors import CheckpointError, ConfigError, DeviceError, ExpertError  # noqa: E402
from posetools.experts.backends import onnx as ox  # noqa: E402
from posetools.experts.finalize import finalize_detections, finalize_poses  # noqa: E402
from posetools.experts.types import Detections  # noqa: E402

K = 17
POSE_HW = (64, 48)  # RTMPose input (H, W); SimCC outputs are 2x wider
ONE_HW = (96, 96)  # RTMDet / RTMO input
MISSING = np.arange(K) >= 12  # joints whose SimCC maxima are pushed below 0 by the model


class SimccPose(torch.nn.Module):
    """simcc_x / simcc_y peak at the brightest column / row of the crop."""

    def forward(self, x):
        g = x.mean(1)  # (B, H, W)
        col = torch.nn.functional.interpolate(g.amax(1)[:, None], scale_factor=2.0)
        row = torch.nn.functional.interpolate(g.amax(2)[:, None], scale_factor=2.0)
        bias = torch.linspace(0.0, 6.0, K)[None, :, None] * (torch.arange(K) >= 12)[None, :, None]
        return col.repeat(1, K, 1) - bias, row.repeat(1, K, 1) - bias


class Heatmaps(torch.nn.Module):
    """A heatmap-head-shaped output (K maps at a quarter of the input size)."""

    def forward(self, x):
        return torch.nn.functional.avg_pool2d(x.mean(1, keepdim=True), 4).repeat(1, K, 1, 1)


def _brightest(x):
    g = x.mean(1).flatten(1)
    idx = g.argmax(1)
    w = x.shape[3]
    return (idx % w).float(), torch.div(idx, w, rounding_mode="floor").float()


class Rtmo(torch.nn.Module):
    """One pose at the brightest pixel plus a zero-score padding row.

    The box score is the top-left input value / 255: the padding value (114) when the
    letterbox is centred, as mmpose's ``BottomupResize``, image content otherwise.
    """

    def forward(self, x):
        cx, cy = _brightest(x)
        one = torch.ones_like(cx)
        box = torch.stack([cx - 4, cy - 4, cx + 4, cy + 4, x[:, 0, 0, 0] / 255], 1)
        dets = torch.stack([box, torch.zeros_like(box)], 1)  # (B, 2, 5)
        kp = torch.stack([cx, cy, 0.8 * one], 1)[:, None, None, :].repeat(1, 1, K, 1)
        kpts = torch.cat([kp, torch.zeros_like(kp)], 1)  # (B, 2, K, 3)
        return dets, kpts


class Rtmdet(torch.nn.Module):
    """A person box at the brightest pixel, a non-person box and a weak person box."""

    def forward(self, x):
        cx, cy = _brightest(x)
        one = torch.ones_like(cx)
        b = [cx - 5, cy - 5, cx + 5, cy + 5]
        dets = torch.stack([torch.stack([*b, 0.9 * one], 1), torch.stack([*b, 0.95 * one], 1),
                            torch.stack([*b, 0.1 * one], 1)], 1)
        labels = torch.stack([0 * cx, one, 0 * cx], 1).long()
        return dets, labels


def _export(module, hw, outputs, path: Path, dynamic: bool) -> str:
    axes = {n: {0: "batch"} for n in ("input", *outputs)} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter
        torch.onnx.export(module.eval(), (torch.zeros(1, 3, *hw),), str(path), dynamo=False,
                          input_names=["input"], output_names=list(outputs), dynamic_axes=axes,
                          opset_version=17)
    return str(path)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("onnx")
    return {
        "pose": _export(SimccPose(), POSE_HW, ("simcc_x", "simcc_y"), d / "pose.onnx", True),
        "pose_fixed": _export(SimccPose(), POSE_HW, ("simcc_x", "simcc_y"), d / "pf.onnx", False),
        "rtmo": _export(Rtmo(), ONE_HW, ("dets", "keypoints"), d / "rtmo.onnx", True),
        "det": _export(Rtmdet(), ONE_HW, ("dets", "labels"), d / "det.onnx", False),
    }


@pytest.fixture(scope="module")
def frame(videos_dir: Path) -> np.ndarray:
    """A real 1920x1080 frame, darkened, with a bright Gaussian spot at (1300, 420)."""
    cap = cv2.VideoCapture(str(videos_dir / "demo_skeleton.mp4"))
    ok, bgr = cap.read()
    cap.release()
    assert ok
    yy, xx = np.mgrid[:1080, :1920]
    blob = 170.0 * np.exp(-((xx - 1300.0) ** 2 + (yy - 420.0) ** 2) / (2 * 10.0**2))
    rgb = bgr[..., ::-1] // 3 + blob[..., None]  # a smooth peak: one brightest spot
    return np.ascontiguousarray(np.clip(rgb, 0, 255).astype(np.uint8))


def pose_expert(path: str, **kw) -> ox.OnnxPoseExpert:
    kw.setdefault("top_down", True)
    return ox.OnnxPoseExpert(ExpertConfig(name="o", backend="onnx", model=path, **kw))


def test_rtmpose_onnx_geometry_scores_and_missing_joints(models, frame):
    e = pose_expert(models["pose"], batch_size=4)
    assert e.layout.name == "coco17" and e.top_down and e._s.dynamic_batch
    hexdigest = hashlib.sha256(Path(models["pose"]).read_bytes()).hexdigest()
    assert e.checksum() == hexdigest and e.model_id == "pose"
    boxes = Detections(np.array([[1200, 300, 1380, 600], [1250, 380, 1330, 470]], np.float32),
                       np.array([0.9, 0.5], np.float32))
    out = e.estimate([frame, frame], [boxes, Detections.empty()])
    assert [len(p) for p in out] == [2, 0] and out[1].keypoints.shape == (0, K, 2)
    raw = out[0]
    assert (raw.scores[:, ~MISSING] > 1.0).all()  # backends return raw SimCC maxima (~2.6)
    p = finalize_poses(raw, e.cfg)  # what the estimate stage applies
    assert p.keypoints.shape == (2, K, 2) and p.scores.shape == (2, K)
    np.testing.assert_array_equal(p.box_scores, boxes.scores)
    np.testing.assert_array_equal(p.boxes, boxes.boxes)
    for n in range(2):
        crop_px = (p.boxes[n, 2] - p.boxes[n, 0]) * 1.25 / POSE_HW[1]  # image px per input px
        found = p.keypoints[n, ~MISSING]
        np.testing.assert_allclose(found, np.tile([1300, 420], (found.shape[0], 1)),
                                   atol=crop_px + 2)
    assert (p.scores[:, ~MISSING] == 1.0).all()  # raw maxima ~2.6: clipped to 1
    assert (p.scores[:, MISSING] == 0).all() and np.isnan(p.keypoints[:, MISSING]).all()
    assert e.estimate([], []) == []


def test_fixed_batch_export_gives_the_same_results(models, frame):
    dyn = pose_expert(models["pose"], batch_size=3)
    fixed = pose_expert(models["pose_fixed"], batch_size=3)
    assert not fixed._s.dynamic_batch
    boxes = [Detections(np.array([[1200, 300, 1380, 600]] * 3, np.float32) + [[0], [9], [17]],
                        np.array([0.9, 0.8, 0.7], np.float32))]
    a, b = dyn.estimate([frame], boxes)[0], fixed.estimate([frame], boxes)[0]
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_rtmo_onnx_centred_letterbox_roundtrip(models, frame):
    e = pose_expert(models["rtmo"], top_down=False, batch_size=2)
    assert not e.top_down
    out = e.estimate([frame, frame])
    for p in out:
        assert len(p) == 1  # the zero-score padding row is dropped
        tol = 1920 / ONE_HW[1] + 1
        np.testing.assert_allclose(p.keypoints[0], np.tile([1300, 420], (K, 1)), atol=tol)
        assert p.scores[0] == pytest.approx(np.full(K, 0.8))
        # the input's top-left pixel is padding: the 16:9 frame sits centred in the square
        assert p.box_scores[0] == pytest.approx(114 / 255)
        np.testing.assert_allclose(p.boxes[0], [1300 - 80, 420 - 80, 1300 + 80, 420 + 80],
                                   atol=tol)
    with pytest.raises(ExpertError, match="takes no boxes"):
        e.estimate([frame], [Detections.empty()])


def test_rtmdet_onnx_keeps_confident_persons(models, frame):
    d = ox.OnnxDetector(DetectorConfig(backend="onnx", model=models["det"], batch_size=2))
    assert not d._s.dynamic_batch  # fixed batch: run one frame at a time
    images = [frame, frame[:540, :960].copy()]
    raw = d.detect(images)
    assert len(raw) == 2 and len(raw[0]) == 2  # raw: the 0.1 box is still there
    out = [finalize_detections(r, d.cfg, im.shape[1], im.shape[0])  # what the stage applies
           for r, im in zip(raw, images, strict=True)]
    for det in out:
        assert len(det) == 1 and det.scores[0] == pytest.approx(0.9)
    np.testing.assert_allclose(out[0].boxes[0], [1200, 320, 1400, 520], atol=1920 / 96 + 1)
    assert d.detect([]) == []


def test_half_precision_runs_a_float16_graph_with_the_same_geometry(models, frame):
    onnx = pytest.importorskip("onnx")
    boxes = [Detections(np.array([[1200, 300, 1380, 600]], np.float32), np.array([0.9]))]
    full, half = (pose_expert(models["pose"], precision=p) for p in ("fp32", "fp16"))
    assert half._s.half and not full._s.half
    graph = onnx.load_from_string(ox.half_model(Path(models["pose"]))).graph
    assert {i.type.tensor_type.elem_type for i in graph.input} == {onnx.TensorProto.FLOAT}
    assert any(n.op_type == "Cast" for n in graph.node)  # float16 inside, float32 at the ends
    a, b = full.estimate([frame], boxes)[0], half.estimate([frame], boxes)[0]
    assert b.keypoints.dtype == np.float32 and b.scores.dtype == np.float32
    crop_px = 180 * 1.25 / POSE_HW[1]
    np.testing.assert_allclose(b.keypoints, a.keypoints, atol=crop_px)
    np.testing.assert_allclose(b.scores, a.scores, atol=2e-2)
    d32, d16 = (ox.OnnxDetector(DetectorConfig(backend="onnx", model=models["det"],
                                               precision=p)).detect([frame])[0]
                for p in ("fp32", "fp16"))
    assert len(d16) == len(d32) == 2
    np.testing.assert_allclose(d16.boxes, d32.boxes, atol=1920 / 96 + 1)
    np.testing.assert_allclose(d16.scores, d32.scores, atol=1e-3)


def test_a_cuda_session_that_falls_back_to_the_cpu_is_refused(models, monkeypatch):
    """onnxruntime-gpu whose CUDA libraries fail to load silently runs on the CPU.

    This onnxruntime has no CUDA provider, so asking for it gives exactly that fallback
    session; the device resolution (which would refuse it earlier) is bypassed.
    """
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    monkeypatch.setattr(ox, "resolve_device", lambda device, backend: "cuda:0")
    with pytest.raises(DeviceError) as e:
        pose_expert(models["pose"], device="cuda")
    assert "could not start its CUDA provider for pose.onnx" in str(e.value)
    assert "\n" not in str(e.value)


def test_wrong_models_are_refused(models, tmp_path):
    with pytest.raises(CheckpointError, match="not found.*export-onnx"):
        pose_expert(str(tmp_path / "none.onnx"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="cannot load"):
        pose_expert(str(junk))
    with pytest.raises(ConfigError, match="neither an RTMPose"):
        pose_expert(models["det"])
    with pytest.raises(ConfigError, match="not a detector"):
        ox.OnnxDetector(DetectorConfig(backend="onnx", model=models["pose"]))
    with pytest.raises(ConfigError, match="top_down: false"):
        pose_expert(models["rtmo"], top_down=True)
    hm = _export(Heatmaps(), POSE_HW, ("heatmaps",), tmp_path / "hm.onnx", True)
    with pytest.raises(ConfigError, match="needs the metadata of `posetools export-onnx`"):
        pose_expert(hm)  # no official convention for heatmap files without metadata
    with pytest.raises(ExpertError, match="needs boxes"):
        pose_expert(models["pose"]).estimate([np.zeros((8, 8, 3), np.uint8)])
    if "CUDAExecutionProvider" not in ox.ort.get_available_providers():
        with pytest.raises(ConfigError, match="CUDA"):
            pose_expert(models["pose"], device="cuda")
