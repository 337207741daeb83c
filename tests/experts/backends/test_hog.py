"""OpenCV HOG people detector (the weak classical fallback): real detections."""

from __future__ import annotations

import re

import numpy as np
import pytest

from posetools.config.models import DetectorConfig
from posetools.errors import ConfigError
from posetools.experts.backends.hog import HogDetector
from posetools.experts.build import build_detector
from posetools.experts.finalize import finalize_detections
from posetools.experts.types import Detector
from posetools.geometry import box_iou
from posetools.io.video import VideoReader


@pytest.fixture(scope="module")
def hog():
    return build_detector(DetectorConfig(backend="hog"))


def test_finds_people_outdoors(hog, videos_dir):
    imgs = [f.image for f in VideoReader(videos_dir / "mmpose_demo.mp4")]
    raw = hog.detect(imgs)
    assert len(raw) == len(imgs)
    h, w = imgs[0].shape[:2]
    for d in raw:
        assert len(d) >= 1
        assert d.boxes.dtype == np.float32 and d.boxes.shape == (len(d), 4)
        # SVM margin -> logistic: strictly inside (0.5, 1) for positive margins
        assert ((d.scores >= 0.5) & (d.scores < 1)).all()
        assert (d.boxes[:, 2] > d.boxes[:, 0]).all() and (d.boxes[:, 3] > d.boxes[:, 1]).all()
        # boxes are in full-resolution pixels (the internal downscale is undone)
        assert d.boxes[:, 2].max() > 640 * 0.5 and d.boxes[:, 3].max() <= h * 1.2
    cfg = DetectorConfig(backend="hog", score_threshold=0.6, nms_iou=0.3, max_detections=2)
    fin = finalize_detections(raw[0], cfg, w, h)
    assert 1 <= len(fin) <= 2
    assert (fin.scores >= 0.6).all() and (np.diff(fin.scores) <= 0).all()
    iou = box_iou(fin.boxes, fin.boxes)
    assert (iou[~np.eye(len(fin), dtype=bool)] <= 0.3).all()
    # detector scores are kept, not replaced by 1
    assert set(np.round(fin.scores, 5)) <= set(np.round(raw[0].scores, 5))


def test_blank_and_tiny_images_give_nothing(hog):
    res = hog.detect([np.zeros((480, 640, 3), np.uint8), np.full((60, 60, 3), 128, np.uint8)])
    assert [len(d) for d in res] == [0, 0]
    assert res[0].boxes.shape == (0, 4) and res[0].scores.shape == (0,)


def test_interface_and_config(hog):
    assert isinstance(hog, Detector) and isinstance(hog, HogDetector)
    assert re.fullmatch(r"[0-9a-f]{64}", hog.checksum())
    with pytest.raises(ConfigError, match="model"):
        build_detector(DetectorConfig(backend="hog", model="yolo"))
    with pytest.raises(ConfigError, match="checkpoint"):
        build_detector(DetectorConfig(backend="hog", checkpoint="x.xml"))
