"""track_and_pack: association, main-person selection and padding of one expert."""

from __future__ import annotations

import json

import numpy as np

from posetools.config.algorithms import TrackConfig
from posetools.experts.types import Poses
from posetools.skeletons import BLAZEPOSE33, COCO17
from posetools.track import track_and_pack


def _track_and_pack(poses, frame_index, layout, cfg, width, height):
    return track_and_pack([p.keypoints for p in poses], [p.scores for p in poses],
                          [p.boxes for p in poses], [p.box_scores for p in poses],
                          frame_index, layout, cfg, width, height)


def _crossing(t_len=20, w=640, h=480):
    """Two walkers crossing: A (big, central path) left->right, B (small) right->left."""
    poses = []
    rng = np.random.default_rng(0)
    for t in range(t_len):
        ax = 100 + 22 * t
        bx = 520 - 22 * t
        a = np.array([ax - 60, 120, ax + 60, 440], np.float32)
        b = np.array([bx - 30, 200, bx + 30, 360], np.float32)
        boxes = np.stack([b, a]) if t % 2 else np.stack([a, b])  # detector order varies
        kp = np.stack([
            np.column_stack([rng.uniform(bb[0], bb[2], 17), rng.uniform(bb[1], bb[3], 17)])
            for bb in boxes]).astype(np.float32)
        sc = np.full((2, 17), 0.9, np.float32)
        poses.append(Poses(kp, sc, boxes, np.array([0.9, 0.8], np.float32)))
    poses[7] = Poses.empty(17)  # a frame where the expert found nobody
    return poses


def test_tracking_two_people_crossing_keeps_the_main_one():
    poses = _crossing()
    fi = np.arange(0, 40, 2)
    packed, tracks, sel = _track_and_pack(poses, fi, COCO17, TrackConfig(max_persons=1), 640, 480)
    assert packed["keypoints"].shape == (20, 1, 17, 2)
    # exactly two tracks, both recorded; the big central walker (A) is kept
    assert tracks["id"].size == 2 and tracks["kept"].tolist() == [True, False]
    assert tracks["rank"].tolist() == [0, -1]
    assert tracks["first_frame"].tolist() == [0, 0] and tracks["last_frame"].tolist() == [38, 38]
    kept_id = int(tracks["id"][0])
    n = packed["n_instances"]
    assert n[7] == 0 and (np.delete(n, 7) == 1).all()
    assert (packed["track_ids"][n > 0, 0] == kept_id).all()
    # the kept slot follows A through the crossing (its box centre moves right)
    cx = (packed["boxes"][:, 0, 0] + packed["boxes"][:, 0, 2]) / 2
    np.testing.assert_allclose(cx[n > 0], (100 + 22 * np.arange(20))[n > 0])
    assert np.isnan(packed["keypoints"][7]).all() and packed["scores"][7].max() == 0
    assert packed["n_detected"].tolist()[:8] == [2] * 7 + [0]
    assert json.loads(sel)["kept"] == [kept_id]


def test_tracking_keep_all_mode():
    packed, tracks, _ = _track_and_pack(_crossing(), np.arange(20), COCO17,
                                       TrackConfig(max_persons=0), 640, 480)
    assert packed["track_ids"].shape == (20, 2) and tracks["kept"].all()
    ids = packed["track_ids"]
    assert set(ids[0].tolist()) == {0, 1} and ids[7].tolist() == [-1, -1]


def test_tracking_with_oks_on_a_converted_layout():
    # BlazePose keypoints are matched by OKS through their COCO-17 view
    rng = np.random.default_rng(1)
    base = np.column_stack([rng.uniform(100, 200, 33), rng.uniform(50, 300, 33)])
    poses = []
    for t in range(6):
        box = np.array([[100 + 5 * t, 50, 200 + 5 * t, 300]], np.float32)
        kp = base + np.array([5 * t, 0])
        poses.append(Poses(kp[None].astype(np.float32), np.full((1, 33), 0.9, np.float32),
                           box, np.array([0.9], np.float32)))
    packed, tracks, _ = _track_and_pack(poses, np.arange(6), BLAZEPOSE33,
                                       TrackConfig(use_oks=True, oks_threshold=0.8), 640, 480)
    assert tracks["id"].tolist() == [0] and packed["n_instances"].tolist() == [1] * 6
    assert (packed["track_ids"][:, 0] == 0).all()


