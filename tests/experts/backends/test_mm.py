"""OpenMMLab backend on real frames with seeded random weights (``checkpoint: random-init``).

Needs the mm stack (``bash docker/install-mm-cpu.sh``; CI installs it). Models are
built once per module; the slow families run on one crop / one small frame.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("mmpose", reason="OpenMMLab stack not installed: bash docker/install-mm-cpu.sh")
pytest.importorskip("mmdet", reason="OpenMMLab stack not installed: bash docker/install-mm-cpu.sh")

from posetools.config.models import DetectorConfig, ExpertConfig  # noqa: E402
from posetools.errors import (  # noqa: E402
    CheckpointError,
    ConfigError,
    DeviceError,
    ExpertError,
    ShapeError,
)
from posetools.experts import zoo  # noqa: E402
from posetools.experts.backends import mm  # noqa: E402
from posetools.experts.finalize import finalize_detections, finalize_poses  # noqa: E402
from posetools.experts.types import Detections, Detector, PoseExpert  # noqa: E402

pytestmark = pytest.mark.mm

REPO = Path(__file__).resolve().parents[3]
RI = zoo.RANDOM_INIT
BOX = np.array([[700.0, 80.0, 1250.0, 1060.0]], np.float32)  # around the actor, frame 0


def read_frames(path: Path, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    for _ in range(n):
        ok, bgr = cap.read()
        assert ok
        frames.append(np.ascontiguousarray(bgr[..., ::-1]))
    cap.release()
    return frames


@pytest.fixture(scope="module")
def frames(videos_dir: Path) -> list[np.ndarray]:
    return read_frames(videos_dir / "demo_skeleton.mp4", 2)  # 1920x1080 RGB


@pytest.fixture(scope="module")
def small_frame(videos_dir: Path) -> np.ndarray:
    return read_frames(videos_dir / "mmaction2_test.mp4", 1)[0]  # 340x256 RGB


def expert(model: str, *, top_down: bool = True, **kw) -> mm.MMPoseExpert:
    kw.setdefault("checkpoint", RI)
    return mm.MMPoseExpert(ExpertConfig(name="e", backend="mm", model=model, top_down=top_down,
                                        **kw))


def final_poses(e: mm.MMPoseExpert, images, boxes=None) -> list:
    """What the estimate stage keeps: the backend's raw poses, finalized once."""
    return [finalize_poses(p, e.cfg) for p in e.estimate(images, boxes)]


def final_dets(d: mm.MMDetector, images) -> list[Detections]:
    """What the detect stage keeps: the backend's raw boxes, finalized once."""
    return [finalize_detections(r, d.cfg, im.shape[1], im.shape[0])
            for r, im in zip(d.detect(images), images, strict=True)]


def dets(boxes: np.ndarray, scores) -> Detections:
    return Detections(np.asarray(boxes, np.float32).reshape(-1, 4),
                      np.asarray(scores, np.float32).reshape(-1))


@contextmanager
def as_built():
    """Build models without the fast-inference rewrites (conv-BN folding, channels-last)."""
    mm.clear_model_cache()
    mm.models.FAST_INFERENCE = False
    try:
        yield
    finally:
        mm.models.FAST_INFERENCE = True
        mm.clear_model_cache()


@pytest.fixture(scope="module")
def nano() -> mm.MMDetector:
    # Random detector weights are degenerate (every anchor scores alike, sliver boxes), so
    # float rounding alone changes which boxes survive: this fixture keeps the model as
    # built. The rewrites are checked on a well-defined detector in test_fast_inference_*.
    with as_built():
        return mm.MMDetector(DetectorConfig(backend="mm", model="rtmdet-nano", checkpoint=RI,
                                            batch_size=2))


@pytest.fixture(scope="module")
def rtmpose_t() -> mm.MMPoseExpert:
    return expert("rtmpose-t", batch_size=4)


def derived_config(tmp: Path, base: Path, body: str) -> str:
    """A config inheriting from a bundled one (how a user tweaks a model)."""
    p = tmp / f"derived_{base.stem}.py"
    p.write_text(f"_base_ = [{str(base)!r}]\n" + textwrap.dedent(body))
    return str(p)


def check_poses(p, k: int) -> None:
    n = len(p)
    assert p.keypoints.shape == (n, k, 2) and p.keypoints.dtype == np.float32
    assert p.scores.shape == (n, k) and p.scores.dtype == np.float32
    assert p.boxes.shape == (n, 4) and p.box_scores.shape == (n,)
    assert ((p.scores >= 0) & (p.scores <= 1)).all()
    assert ((p.box_scores >= 0) & (p.box_scores <= 1)).all()
    # a joint is missing (NaN) exactly when its score is 0
    np.testing.assert_array_equal(np.isnan(p.keypoints).any(-1), p.scores == 0)


# --- detectors ---------------------------------------------------------------------------


def test_rtmdet_person_detector_on_real_frames(nano, frames):
    assert isinstance(nano, Detector)
    assert nano.model_id == "rtmdet-nano" and nano.checksum() == RI
    out = final_dets(nano, frames)
    assert len(out) == 2
    for d in out:
        assert 0 < len(d) <= nano.cfg.max_detections  # random weights fire everywhere
        assert d.boxes.dtype == np.float32 and d.boxes.shape == (len(d), 4)
        assert (d.scores >= nano.cfg.score_threshold).all() and (d.scores <= 1).all()
        assert (np.diff(d.scores) <= 0).all()
        assert (d.boxes[:, [0, 1]] >= 0).all() and (d.boxes[:, 2] <= 1920).all()
        assert (d.boxes[:, 3] <= 1080).all()
        assert (d.boxes[:, 2] > d.boxes[:, 0]).all() and (d.boxes[:, 3] > d.boxes[:, 1]).all()
    assert nano.detect([]) == []
    with pytest.raises(ShapeError):
        nano.detect([frames[0][..., 0]])


def test_detector_batching_across_frames_matches_one_by_one(nano, frames):
    both = nano.detect(frames)
    for f, d in zip(frames, both, strict=True):
        (one,) = nano.detect([f])
        np.testing.assert_allclose(one.boxes, d.boxes, atol=1e-3)
        np.testing.assert_allclose(one.scores, d.scores, atol=1e-5)


@pytest.mark.parametrize("name", ["rtmdet-tiny", "faster-rcnn-r50"])
def test_coco_detectors_build_and_run(name, small_frame, tmp_path):
    # The bundled config, shrunk for CI time: fewer proposals / candidates, smaller input.
    config, entry = zoo.resolve_config(name, "detector")
    body = {
        "rtmdet-tiny": "model = dict(test_cfg=dict(nms_pre=200, max_per_img=50))\n",
        "faster-rcnn-r50": """
            model = dict(test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=50)))
            test_pipeline = [
                dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(400, 320), keep_ratio=True),
                dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                                      'img_shape', 'scale_factor'))]
            test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
        """,
    }[name]
    det = mm.MMDetector(DetectorConfig(backend="mm", model=derived_config(tmp_path, config, body),
                                       checkpoint=RI, score_threshold=0.0))
    (d,) = final_dets(det, [small_frame])
    assert d.boxes.shape == (len(d), 4) and ((d.scores >= 0) & (d.scores <= 1)).all()
    assert (d.boxes[:, 2] <= 340).all() and (d.boxes[:, 3] <= 256).all()


# --- top-down experts --------------------------------------------------------------------


def test_rtmpose_top_down_shapes_layout_scores(rtmpose_t, frames):
    e = rtmpose_t
    assert isinstance(e, PoseExpert) and e.top_down and e.layout.name == "coco17"
    two = dets(np.vstack([BOX, BOX + 20]), [0.9, 0.4])
    raw = e.estimate(frames, [two, Detections.empty()])
    assert raw[0].scores.max() > 1.0  # backends return raw SimCC maxima
    out = [finalize_poses(p, e.cfg) for p in raw]
    assert [len(p) for p in out] == [2, 0]
    check_poses(out[0], 17)
    check_poses(out[1], 17)
    np.testing.assert_array_equal(out[0].boxes, two.boxes)  # detector boxes and scores kept
    np.testing.assert_array_equal(out[0].box_scores, two.scores)
    # random weights give raw SimCC maxima far above 1: the mapping clips them
    assert out[0].scores.max() == 1.0


def test_empty_detections_give_zero_instances(rtmpose_t, frames):
    out = rtmpose_t.estimate(frames, [Detections.empty(), Detections.empty()])
    assert [len(p) for p in out] == [0, 0]
    assert out[0].keypoints.shape == (0, 17, 2)
    assert rtmpose_t.estimate([], []) == []


def test_crop_batching_across_frames_matches_one_by_one(rtmpose_t, frames):
    boxes = [dets(np.vstack([BOX, BOX - 30]), [0.8, 0.7]), dets(BOX + 10, [0.6])]
    pooled = rtmpose_t.estimate(frames, boxes)  # 3 crops from 2 frames, batch_size 4
    for f, b, p in zip(frames, boxes, pooled, strict=True):
        (one,) = rtmpose_t.estimate([f], [b])
        np.testing.assert_allclose(one.keypoints, p.keypoints, atol=1e-2)
        np.testing.assert_allclose(one.scores, p.scores, atol=1e-4)


def test_matches_mmpose_inference_topdown_except_calibration(rtmpose_t, frames):
    from mmpose.apis import inference_topdown

    model = rtmpose_t._b.model
    raw = inference_topdown(model, np.ascontiguousarray(frames[0][..., ::-1]), BOX)
    raw_kp = raw[0].pred_instances.keypoints[0]
    raw_sc = raw[0].pred_instances.keypoint_scores[0]
    (ours,) = rtmpose_t.estimate(frames[:1], [dets(BOX, [1.0])])  # raw, as mmpose's
    np.testing.assert_allclose(ours.keypoints[0], raw_kp, atol=1e-2)
    np.testing.assert_allclose(ours.scores[0], raw_sc, atol=1e-5)
    (final,) = [finalize_poses(ours, rtmpose_t.cfg)]
    np.testing.assert_allclose(final.scores[0], np.clip(raw_sc, 0, 1), atol=1e-5)
    # mmpose invents a whole-image person when given no box; we never do
    assert len(inference_topdown(model, frames[0][..., ::-1].copy(), np.zeros((0, 4)))) == 1


def test_min_scores_are_applied(frames):
    e = expert("rtmpose-t", min_instance_score=0.5, min_keypoint_score=1.0)
    (p,) = final_poses(e, frames[:1], [dets(np.vstack([BOX, BOX]), [0.9, 0.3])])
    assert len(p) == 1 and p.box_scores[0] == pytest.approx(0.9)
    assert set(np.unique(p.scores)) <= {0.0, 1.0}
    check_poses(p, 17)


@pytest.mark.parametrize(
    ("name", "k", "layout"),
    [("hrnet-w32", 17, "coco17"), ("rtmw-m", 133, "coco_wholebody133"),
     ("rtmpose-m-384x288", 17, "coco17")],
)
def test_other_top_down_families(name, k, layout, frames):
    e = expert(name)
    assert e.layout.name == layout and e.top_down
    (p,) = final_poses(e, frames[:1], [dets(BOX, [0.7])])
    assert len(p) == 1
    check_poses(p, k)
    assert p.box_scores[0] == pytest.approx(0.7)


def test_top_down_config_must_match_the_model(frames):
    with pytest.raises(ConfigError, match="top_down: true"):
        expert("rtmpose-t", top_down=False)
    with pytest.raises(ExpertError, match="needs boxes"):
        expert("rtmpose-t").estimate(frames[:1])


def test_half_precision_on_the_cpu_is_refused_before_building():
    before = mm.models.cached_model.cache_info().currsize
    for make in (lambda: expert("rtmpose-l", device="cpu", precision="fp16"),
                 lambda: mm.MMDetector(DetectorConfig(backend="mm", model="rtmdet-m",
                                                      checkpoint=RI, device="cpu",
                                                      precision="fp16"))):
        with pytest.raises(DeviceError, match="fp16 of the mm backend needs a CUDA device"):
            make()
    assert mm.models.cached_model.cache_info().currsize == before


# --- one-stage RTMO ----------------------------------------------------------------------


def test_rtmo_one_stage(frames, tmp_path):
    with pytest.raises(ConfigError, match="top_down: false"):
        expert("rtmo-s", top_down=True)
    config, _ = zoo.resolve_config("rtmo-s", "expert")
    # keep at most 4 candidates: random weights otherwise decode thousands of poses
    small = derived_config(tmp_path, config, "model = dict(test_cfg=dict(nms_pre=4))\n")
    e = expert(small, top_down=False)
    assert not e.top_down and e.layout.name == "coco17" and e.model_id == Path(small).stem
    out = final_poses(e, frames)
    assert len(out) == 2
    for p in out:
        assert 0 < len(p) <= 4
        check_poses(p, 17)
    with pytest.raises(ExpertError, match="takes no boxes"):
        e.estimate(frames[:1], [dets(BOX, [1.0])])


# --- weights -----------------------------------------------------------------------------


def test_local_checkpoint_loads_with_weights_only(rtmpose_t, frames, tmp_path):
    import torch

    with as_built():  # a checkpoint holds the unfolded weights
        src = expert("rtmpose-t", batch_size=4)
        sd = {k: v.clone() for k, v in src._b.model.state_dict().items()}
    path = tmp_path / "ckpt.pth"
    meta = {"dataset_meta": {"sigmas": np.linspace(0.02, 0.1, 17).astype(np.float32)}}
    torch.save({"meta": meta, "state_dict": sd}, path)
    loaded = expert("rtmpose-t", checkpoint=str(path))
    assert loaded.checksum() == zoo.weights_sha256(path) != RI
    (a,) = loaded.estimate(frames[:1], [dets(BOX, [1.0])])
    (b,) = rtmpose_t.estimate(frames[:1], [dets(BOX, [1.0])])
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-4)
    # weights of another model, or with weights missing, are refused
    with pytest.raises(CheckpointError, match="does not fit"):
        expert("rtmpose-s", checkpoint=str(path))
    del sd[next(k for k in sd if k.startswith("backbone."))]
    torch.save({"state_dict": sd}, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="1 weights missing"):
        expert("rtmpose-t", checkpoint=str(tmp_path / "bad.pth"))


def test_missing_checkpoint_offline_names_url_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POSETOOLS_HOME", str(tmp_path))
    monkeypatch.setenv("POSETOOLS_OFFLINE", "1")
    entry = zoo.ZOO["rtmpose-t"]
    with pytest.raises(CheckpointError) as ei:
        expert("rtmpose-t", checkpoint=None)
    msg = str(ei.value)
    assert entry.url in msg and str(tmp_path / "checkpoints" / entry.filename) in msg


# --- scope isolation: mmdet + mmpose in one process vs separate processes ---------------


def well_defined_detector(path: Path) -> Path:
    """An rtmdet-nano checkpoint with constant class logits and box offsets (zeroed head
    convs): its boxes follow from the anchors and the preprocessing alone, so no float
    rounding decides which survive (random detector weights are degenerate)."""
    import torch

    with as_built():
        det = mm.MMDetector(DetectorConfig(backend="mm", model="rtmdet-nano", checkpoint=RI))
        head = det._b.model.bbox_head
        with torch.no_grad():
            for conv, val in [(c, 2.2) for c in head.rtm_cls] + [(c, 2.0) for c in head.rtm_reg]:
                conv.weight.zero_()
                conv.bias.fill_(val)
        torch.save({"state_dict": det._b.model.state_dict()}, path)
    return path


_CHILD = """
import json, sys, numpy as np, cv2
from posetools.experts.backends import mm
from posetools.config.models import DetectorConfig, ExpertConfig
from posetools.experts.types import Detections
cap = cv2.VideoCapture(sys.argv[2]); ok, bgr = cap.read(); rgb = bgr[..., ::-1].copy()
if sys.argv[1] == "det":
    d = mm.MMDetector(DetectorConfig(backend="mm", model="rtmdet-nano", checkpoint=sys.argv[3],
                                     max_detections=5))
    (r,) = d.detect([rgb])
    print(json.dumps({"boxes": r.boxes.tolist(), "scores": r.scores.tolist()}))
else:
    e = mm.MMPoseExpert(ExpertConfig(name="e", backend="mm", model="rtmpose-t",
                                     checkpoint="random-init", top_down=True))
    logits = []
    for lin in (e._b.model.head.cls_x, e._b.model.head.cls_y):
        lin.register_forward_hook(lambda m, i, o: logits.append(o.detach().numpy().tolist()))
    box = Detections(np.array([BOX], np.float32), np.ones(1, np.float32))
    e.estimate([rgb], [box])
    print(json.dumps({"simcc": logits}))
""".replace("BOX", repr(BOX[0].tolist()))


def _children(video: Path, det_ckpt: Path) -> tuple[dict, dict]:
    """Run the detector and the expert each in a fresh interpreter (concurrently)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, kind, str(video), str(det_ckpt)],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
             for kind in ("det", "pose")]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    return outs[0], outs[1]


def test_mixed_process_equals_separate_processes(rtmpose_t, frames, videos_dir, tmp_path):
    """mmdet and mmpose models interleaved in one process give what each gives alone.

    Compared on well-defined outputs only: the boxes of a constant-head detector and
    the continuous SimCC logits of the pose model (random-init argmax locations can flip
    between processes on near-ties; the logits cannot).
    """
    from mmengine.registry import DefaultScope

    def current_scope():
        inst = DefaultScope.get_current_instance()
        return None if inst is None else inst.scope_name

    ckpt = well_defined_detector(tmp_path / "det.pth")
    det = mm.MMDetector(DetectorConfig(backend="mm", model="rtmdet-nano", checkpoint=str(ckpt),
                                       max_detections=5))
    logits: list = []
    head = rtmpose_t._b.model.head
    hooks = [lin.register_forward_hook(lambda m, i, o: logits.append(o.detach().numpy().copy()))
             for lin in (head.cls_x, head.cls_y)]
    DefaultScope.get_instance("caller-scope", scope_name="mmpose")  # as mmpose's own APIs do
    before = current_scope()
    try:
        # interleave: pose, detector, pose again, all in this process
        rtmpose_t.estimate(frames[:1], [dets(BOX, [1.0])])
        (d,) = det.detect(frames[:1])
        rtmpose_t.estimate(frames[:1], [dets(BOX, [1.0])])
    finally:
        for h in hooks:
            h.remove()
    assert current_scope() == before == "mmpose"  # the caller's scope is left as it was
    n = len(logits) // 2  # per call: x and y logits (of the crop and its flip: flip_test)
    for first, second in zip(logits[:n], logits[n:], strict=True):
        np.testing.assert_array_equal(first, second)
    assert len(d) > 0
    sep_det, sep_pose = _children(videos_dir / "demo_skeleton.mp4", ckpt)

    def as_set(boxes, scores):  # raw boxes with tied scores: compare as a sorted set
        rows = np.column_stack([np.asarray(boxes).reshape(-1, 4), np.asarray(scores)])
        return rows[np.lexsort(rows.T[::-1])]

    np.testing.assert_allclose(as_set(sep_det["boxes"], sep_det["scores"]),
                               as_set(d.boxes, d.scores), atol=1e-3)
    for mine, theirs in zip(logits[:n], sep_pose["simcc"], strict=True):
        np.testing.assert_allclose(np.array(theirs), mine, rtol=1e-4, atol=1e-4)


def test_fast_inference_rewrites_keep_results(frames, tmp_path):
    import torch

    box = [dets(BOX, [1.0])]
    with as_built():
        (plain,) = expert("rtmpose-t").estimate(frames[:1], box)
    (fast,) = expert("rtmpose-t").estimate(frames[:1], box)
    np.testing.assert_allclose(fast.keypoints, plain.keypoints, atol=1e-2)
    np.testing.assert_allclose(fast.scores, plain.scores, atol=1e-4)
    ckpt = well_defined_detector(tmp_path / "det.pth")
    cfg = DetectorConfig(backend="mm", model="rtmdet-nano", checkpoint=str(ckpt),
                         max_detections=5)
    with as_built():
        (a,) = final_dets(mm.MMDetector(cfg), frames[:1])
    fast_model = mm.MMDetector(cfg)
    assert fast_model._b.model.backbone.stem[0].conv.weight.is_contiguous(
        memory_format=torch.channels_last)
    (b,) = final_dets(fast_model, frames[:1])
    assert len(a) == len(b) == 5
    np.testing.assert_allclose(b.boxes, a.boxes, atol=1e-2)
    np.testing.assert_allclose(b.scores, a.scores, atol=1e-5)
