"""The ``detect`` stage on real clips and on a black clip."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest

from posetools.config import from_dict
from posetools.config.schema import PipelineConfig
from posetools.errors import ConfigError
from posetools.io.artifacts.detect import DetectArtifact
from posetools.stages.detect import DetectStage, read_detections
from tests.support.jobs import make_job, run_process
from tests.support.media import write_clip


def _pipeline(**detect):
    return from_dict(PipelineConfig, {"stages": ["detect"], "detect": {"detector": detect}})


def test_hog_on_a_multi_person_clip(videos_dir, tmp_path):
    stage = DetectStage.from_pipeline(_pipeline(backend="hog", score_threshold=0.5,
                                                max_detections=4))
    assert stage.reads_video() and stage.inputs() == ()
    assert stage.params()["detector"]["max_detections"] == 4
    assert "batch_size" not in stage.params()["detector"]
    assert re.fullmatch(r"[0-9a-f]{64}", stage.model_checksum())
    job = make_job(videos_dir / "mmpose_demo.mp4")
    summary, progressed = run_process(stage, job, tmp_path / "d.h5")
    assert summary["frames"] == 5 and progressed == 5
    with h5py.File(tmp_path / "d.h5") as fh:
        assert fh["frame_index"][...].tolist() == [0, 1, 2, 3, 4]
        assert fh["pts"].dtype == np.float64 and fh.attrs["width"] == 960
        boxes, sc, n = fh["boxes"][...], fh["box_scores"][...], fh["n_instances"][...]
        assert boxes.dtype == np.float32 and boxes.shape[0] == 5 and boxes.shape[2] == 4
        assert n.dtype == np.int32 and (n >= 1).all() and (n <= 4).all()
        assert boxes.shape[1] == n.max()
        for t in range(5):
            assert np.isfinite(boxes[t, : n[t]]).all() and np.isnan(boxes[t, n[t]:]).all()
            assert (sc[t, : n[t]] >= 0.5).all() and (sc[t, n[t]:] == 0).all()
        assert fh.attrs["backend"] == "hog"
        assert fh.attrs["model_id"] == "opencv-hog-default-people"
        assert fh.attrs["model_checksum"] == stage.model_checksum()
    with h5py.File(tmp_path / "d.h5") as fh:
        dets = read_detections(fh)
    assert sorted(dets) == [0, 1, 2, 3, 4]
    assert [len(dets[i]) for i in range(5)] == n.tolist()


def test_black_clip_keeps_every_frame_with_zero_instances(tmp_path):
    clip = write_clip(tmp_path / "black.mp4", n=6, size=(320, 240), value=0)
    stage = DetectStage.from_pipeline(from_dict(PipelineConfig, {
        "stages": ["detect"], "video": {"frame_stride": 2}, "detect": {"detector": {}}}))
    summary, _ = run_process(stage, make_job(clip), tmp_path / "b.h5")
    assert summary == {"frames": 3, "boxes": 0, "empty_frames": 3}
    with h5py.File(tmp_path / "b.h5") as fh:
        assert fh["frame_index"][...].tolist() == [0, 2, 4]
        assert fh["n_instances"][...].tolist() == [0, 0, 0]
        assert fh["boxes"].shape == (3, 1, 4) and np.isnan(fh["boxes"][...]).all()
        assert (fh["box_scores"][...] == 0).all()


def test_pack_detections_padding():
    from posetools.experts.types import Detections

    d1 = Detections(np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.float32),
                    np.array([0.9, 0.4], np.float32))
    e = Detections.empty()
    boxes, scores, n = DetectArtifact.pack([e.boxes, d1.boxes], [e.scores, d1.scores])
    assert boxes.shape == (2, 2, 4) and n.tolist() == [0, 2]
    assert np.isnan(boxes[0]).all() and scores[0].tolist() == [0, 0]
    np.testing.assert_array_equal(boxes[1], d1.boxes)


def test_unknown_detector_key_is_a_config_error():
    with pytest.raises(ConfigError, match=r"detect\.detector\.bogus"):
        from_dict(PipelineConfig, {"stages": ["detect"], "detect": {"detector": {"bogus": 1}}})


def test_unavailable_detector_fails_the_video_not_the_plan(videos_dir, tmp_path, monkeypatch):
    import sys

    from posetools.errors import MissingBackendError

    monkeypatch.setitem(sys.modules, "posetools.experts.backends.mm", None)
    monkeypatch.setitem(sys.modules, "mmdet", None)  # as if the mm stack were not installed
    stage = DetectStage.from_pipeline(_pipeline(backend="mm", model="rtmdet-tiny"))
    assert stage.model_checksum() == "unavailable:MissingBackendError"
    with pytest.raises(MissingBackendError) as ei:
        run_process(stage, make_job(videos_dir / "mmpose_demo.mp4"), tmp_path / "d.h5")
    assert ei.value.stage == "detect" and ei.value.video_id == "mmpose_demo"
