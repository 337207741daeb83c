"""Expert/detector configs, builders, caching, missing-backend hints, post-processing."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from posetools.config import from_dict, semantic
from posetools.config.models import DetectorConfig, ExpertConfig
from posetools.errors import ConfigError, ExpertError, MissingBackendError, PosetoolsError
from posetools.experts.batching import call_model, chunks
from posetools.experts.build import build_detector, build_expert, cached_detector, cached_expert
from posetools.experts.finalize import finalize_detections, finalize_poses
from posetools.experts.types import Detections, Poses
from posetools.geometry import crop_region, keypoint_box, nms


def test_config_validation_names_the_field():
    with pytest.raises(ConfigError, match=r"experts\.name"):
        from_dict(ExpertConfig, {"name": "a b", "backend": "mediapipe"}, "experts")
    with pytest.raises(ConfigError, match="backend: must be one of"):
        from_dict(ExpertConfig, {"name": "a", "backend": "openpose"})
    with pytest.raises(ConfigError, match="batch_size"):
        from_dict(ExpertConfig, {"name": "a", "backend": "mediapipe", "batch_size": 0})
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(ExpertConfig, {"name": "a", "backend": "mediapipe", "weights": "x"})
    with pytest.raises(ConfigError, match="score_threshold"):
        from_dict(DetectorConfig, {"score_threshold": 1.5})


def test_every_backend_value_has_an_implementation():
    from typing import get_args

    from posetools.config.models import Backend, DetectorBackend
    from posetools.experts.build import DETECTORS, EXPERTS

    assert set(EXPERTS) == set(get_args(Backend))
    assert set(DETECTORS) == set(get_args(DetectorBackend))


def test_semantic_excludes_runtime_knobs():
    a = ExpertConfig(name="a", backend="mediapipe", device="cpu", batch_size=4)
    b = ExpertConfig(name="a", backend="mediapipe", device="cuda:1", batch_size=32)
    assert semantic(a) == semantic(b) and "device" not in semantic(a)
    assert "checkpoint" not in semantic(a)
    assert semantic(DetectorConfig(batch_size=1)) == semantic(DetectorConfig(batch_size=9))


def test_cached_builders_reuse_models():
    cfg = ExpertConfig(name="bp", backend="mediapipe")
    assert cached_expert(cfg) is cached_expert(ExpertConfig(name="bp", backend="mediapipe"))
    assert build_expert(cfg) is not build_expert(cfg)
    d = DetectorConfig(backend="hog")
    assert cached_detector(d) is cached_detector(DetectorConfig(backend="hog"))


@pytest.mark.parametrize("module, backend, hint", [
    ("ultralytics", "ultralytics", "posetools[yolo]"),
    ("posetools.experts.backends.mm", "mm", "posetools[mm]"),
    ("posetools.experts.backends.onnx", "onnx", "posetools[onnx]"),
])
def test_missing_optional_backend_gives_install_hint(monkeypatch, module, backend, hint):
    # a module mapped to None in sys.modules fails to import, as if not installed
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingBackendError) as ei:
        build_expert(ExpertConfig(name="x", backend=backend))
    assert hint in str(ei.value) and backend in str(ei.value)
    assert isinstance(ei.value, ImportError) and isinstance(ei.value, PosetoolsError)


def test_missing_detector_backend_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "posetools.experts.backends.mm", None)
    with pytest.raises(MissingBackendError, match=r"posetools\[mm\]"):
        build_detector(DetectorConfig(backend="mm"))


def test_finalize_poses_thresholds_and_conventions():
    kp = np.arange(2 * 3 * 2, dtype=np.float64).reshape(2, 3, 2)
    sc = np.array([[0.9, 0.2, 1.3], [0.05, np.nan, 0.4]])
    kp[0, 2, 0] = np.inf
    p = Poses(kp, sc, np.zeros((2, 4)), np.array([0.8, 0.1]))
    out = finalize_poses(p, ExpertConfig(name="a", backend="mediapipe", min_keypoint_score=0.3,
                                         min_instance_score=0.5))
    assert len(out) == 1  # the 0.1 instance is dropped
    assert out.keypoints.dtype == np.float32 and out.scores.dtype == np.float32
    np.testing.assert_allclose(out.scores[0], [0.9, 0.0, 0.0])
    assert np.isfinite(out.keypoints[0, 0]).all()
    assert np.isnan(out.keypoints[0, 1:]).all()  # below threshold / non-finite -> NaN
    keep_all = finalize_poses(p, ExpertConfig(name="a", backend="mediapipe"))
    assert len(keep_all) == 2 and keep_all.scores.max() <= 1.0
    assert keep_all.scores[1, 1] == 0 and np.isnan(keep_all.keypoints[1, 1]).all()


def test_finalize_detections_keeps_scores_and_never_invents_boxes():
    empty = finalize_detections(Detections.empty(), DetectorConfig(), 100, 100)
    assert len(empty) == 0
    boxes = np.array([[10, 10, 50, 90], [12, 11, 52, 88], [60, 5, 95, 95], [-20, 0, -5, 10],
                      [70, 20, 80, 30]], np.float32)
    scores = np.array([0.6, 0.7, 0.45, 0.9, 0.1], np.float32)
    out = finalize_detections(Detections(boxes, scores), DetectorConfig(score_threshold=0.3),
                              100, 100)
    # [3] is outside the image (zero area after clipping), [4] below threshold, [0] NMSed by [1]
    np.testing.assert_allclose(out.scores, [0.7, 0.45])
    np.testing.assert_allclose(out.boxes[1], [60, 5, 95, 95])


def test_nms_and_boxes_helpers():
    b = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], float)
    assert nms(b, np.array([0.5, 0.9, 0.1]), 0.5).tolist() == [1, 2]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).size == 0
    kp = np.array([[[1, 2], [5, 9], [100, 100]]], np.float32)
    sc = np.array([[0.9, 0.8, 0.1]], np.float32)
    np.testing.assert_allclose(keypoint_box(kp, sc >= 0.5)[0], [1, 2, 5, 9])
    assert crop_region(np.array([10, 10, 50, 90]), 100, 100, 1.5) == (0, 0, 60, 100)
    assert crop_region(np.array([200, 200, 300, 300]), 100, 100) is None


def test_call_model_wraps_failures_with_context():
    def boom(images):
        raise RuntimeError("kaput")

    with pytest.raises(ExpertError) as ei:
        call_model(boom, [1, 2], n=2, what="expert 'x'", stage="estimate", video_id="v",
                   frame=40)
    e = ei.value
    assert (e.stage, e.video_id, e.frame) == ("estimate", "v", 40)
    assert "kaput" in str(e) and "[stage=estimate video=v frame=40]" in str(e)
    with pytest.raises(ExpertError, match="returned 1 results for 2 frames"):
        call_model(lambda images: [None], [1, 2], n=2, what="x", stage="s", video_id="v",
                   frame=0)
    assert [list(c) for c in chunks([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
