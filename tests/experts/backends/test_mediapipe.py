"""MediaPipe BlazePose expert: real inference on the shared clips."""

from __future__ import annotations

import re

import numpy as np
import pytest

from posetools.config.models import DetectorConfig, ExpertConfig
from posetools.errors import CheckpointError, ConfigError
from posetools.experts.backends.mediapipe import MediaPipeDetector, MediaPipePoseExpert
from posetools.experts.build import build_detector, build_expert
from posetools.experts.types import Detections, PoseExpert
from posetools.io.video import VideoReader, iter_batches
from posetools.skeletons import BLAZEPOSE33


@pytest.fixture(scope="module")
def single():
    return build_expert(ExpertConfig(name="bp", backend="mediapipe"))


@pytest.fixture(scope="module")
def topdown():
    return build_expert(ExpertConfig(name="bptd", backend="mediapipe", top_down=True))


def _frames(path, stride=1, limit=None):
    out = []
    for f in VideoReader(path, frame_stride=stride):
        out.append(f.image)
        if limit and len(out) == limit:
            break
    return out


def test_every_frame_of_demo_has_one_person(single, videos_dir):
    single.reset()
    n_frames = 0
    for batch in iter_batches(iter(VideoReader(videos_dir / "demo_skeleton.mp4")), 8):
        res = single.estimate([f.image for f in batch])
        assert len(res) == len(batch)
        for f, p in zip(batch, res, strict=True):
            n_frames += 1
            assert len(p) == 1, f"frame {f.index}: {len(p)} instances"
            assert p.keypoints.shape == (1, 33, 2) and p.keypoints.dtype == np.float32
            assert p.scores.shape == (1, 33) and p.scores.dtype == np.float32
            assert ((p.scores >= 0) & (p.scores <= 1)).all()
            assert (p.scores[0] > 0.5).sum() >= 12, f"frame {f.index}"
            # the box is the keypoint box of confident joints, inside the image
            x0, y0, x1, y1 = p.boxes[0]
            h, w = f.image.shape[:2]
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            conf = p.keypoints[0][p.scores[0] >= 0.5]
            assert conf[:, 0].min() >= x0 - 1e-3 and conf[:, 0].max() <= x1 + 1e-3
            assert 0 < p.box_scores[0] <= 1
            assert np.isclose(p.box_scores[0], p.scores[0].mean(), atol=1e-6)
    assert n_frames == 72


def test_black_frames_give_zero_instances(single, topdown, videos_dir):
    black = [np.zeros((240, 320, 3), np.uint8)] * 3
    single.reset()
    assert [len(p) for p in single.estimate(black)] == [0, 0, 0]
    boxes = [Detections(np.array([[10, 10, 200, 230]], np.float32), np.array([0.9], np.float32))]
    assert [len(p) for p in topdown.estimate(black[:1], boxes)] == [0]
    # no boxes at all -> nothing, never a whole-image box
    demo = _frames(videos_dir / "demo_skeleton.mp4", limit=1)
    res = topdown.estimate(black[:1] + demo, [Detections.empty()] * 2)
    assert [len(p) for p in res] == [0, 0]
    assert res[1].keypoints.shape == (0, 33, 2)


def test_top_down_on_a_box_matches_single_person(single, topdown, videos_dir):
    img = _frames(videos_dir / "demo_skeleton.mp4", limit=1)[0]
    single.reset()
    ref = single.estimate([img])[0]
    box = ref.boxes[0]
    det = Detections(box[None], np.array([0.77], np.float32))
    out = topdown.estimate([img], [det])[0]
    assert len(out) == 1
    # the detector's box and score are kept
    np.testing.assert_array_equal(out.boxes[0], box)
    assert out.box_scores[0] == pytest.approx(0.77)
    good = (ref.scores[0] > 0.8) & (out.scores[0] > 0.8)
    assert good.sum() >= 12
    err = np.linalg.norm(out.keypoints[0][good] - ref.keypoints[0][good], axis=1)
    height = box[3] - box[1]
    assert np.median(err) < 0.05 * height, np.median(err)


def test_reset_restarts_tracking(single, videos_dir):
    imgs = _frames(videos_dir / "demo_skeleton.mp4", stride=10, limit=3)
    single.reset()
    first = single.estimate(imgs[:1])[0]
    single.estimate(imgs[1:])
    single.reset()
    again = single.estimate(imgs[:1])[0]
    np.testing.assert_allclose(again.keypoints, first.keypoints, atol=1e-3)


def test_interface_and_checksum(single):
    assert isinstance(single, PoseExpert)
    assert isinstance(single, MediaPipePoseExpert)
    assert single.layout is BLAZEPOSE33 and not single.top_down
    assert single.model_id == "mediapipe-blazepose-full"
    assert re.fullmatch(r"[0-9a-f]{64}", single.checksum())
    assert single.checksum() == single.checksum()


def test_variants_not_in_the_wheel_are_refused():
    with pytest.raises(CheckpointError, match="only 'full' is bundled"):
        build_expert(ExpertConfig(name="x", backend="mediapipe", model="heavy"))
    with pytest.raises(ConfigError, match="model"):
        build_expert(ExpertConfig(name="x", backend="mediapipe", model="huge"))
    with pytest.raises(ConfigError, match="checkpoint"):
        build_expert(ExpertConfig(name="x", backend="mediapipe", checkpoint="/tmp/x.tflite"))


def test_mediapipe_detector_gives_one_box(videos_dir):
    det = build_detector(DetectorConfig(backend="mediapipe"))
    assert isinstance(det, MediaPipeDetector)
    det.reset()
    imgs = _frames(videos_dir / "demo_skeleton.mp4", stride=24)
    res = det.detect(imgs + [np.zeros_like(imgs[0])])
    assert [len(d) for d in res] == [1] * len(imgs) + [0]
    for d in res[:-1]:
        assert d.boxes.dtype == np.float32 and 0 < d.scores[0] <= 1
