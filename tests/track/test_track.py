from __future__ import annotations

import json

import numpy as np
import pytest

from posetools.config import from_dict
from posetools.config.algorithms import TrackConfig
from posetools.errors import ConfigError, PosetoolsError, ShapeError
from posetools.skeletons import COCO17, H36M17
from posetools.track import associate_tracks, pack_by_track, rank_tracks, select_main_tracks


def _box(cx, cy, w, h):
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)


def _crossing(n_frames=41, jitter=0.0, seed=0, dy=0.0):
    """Two people walking past each other; rows shuffled per frame.

    Returns per-frame boxes and, per frame, which row is person A.
    """
    rng = np.random.default_rng(seed)
    boxes, a_row = [], []
    for t in range(n_frames):
        a = _box(100 + 10 * t, 300, 100, 200) + rng.uniform(-jitter, jitter, 4)
        b = _box(500 - 10 * t, 300 + dy, 100, 200) + rng.uniform(-jitter, jitter, 4)
        if rng.random() < 0.5:
            boxes.append(np.stack([a, b]).astype(np.float32))
            a_row.append(0)
        else:
            boxes.append(np.stack([b, a]).astype(np.float32))
            a_row.append(1)
    return boxes, np.array(a_row)


def _ids_of_a(ids, a_row):
    return np.array([i[r] for i, r in zip(ids, a_row, strict=True)])


def _ids_of_b(ids, a_row):
    return np.array([i[1 - r] for i, r in zip(ids, a_row, strict=True)])


# ------------------------------------------------------------------ similarity


# ----------------------------------------------------------------- association


@pytest.mark.parametrize("jitter,dy", [(0.0, 0.0), (3.0, 15.0), (3.0, 40.0)])
def test_crossing_people_keep_their_ids(jitter, dy):
    boxes, a_row = _crossing(jitter=jitter, dy=dy, seed=1)
    ids = associate_tracks(boxes, None, TrackConfig())
    ida, idb = _ids_of_a(ids, a_row), _ids_of_b(ids, a_row)
    assert (ida == ida[0]).all() and (idb == idb[0]).all()
    assert {ida[0], idb[0]} == {0, 1}
    assert all(i.dtype == np.int32 for i in ids)


def test_crossing_needs_motion_model():
    # Same size, same height, +-3 px noise: at the crossing frame (t=20) the two
    # boxes coincide and either assignment is as good; what matters is that each
    # person gets their id back once the boxes separate. With the last box as
    # prediction both candidates look alike right after the crossing, so ids
    # swap for good on some sequences; with the velocity prediction, never.
    persistent = {"last_box": 0, "constant_velocity": 0}
    for seed in range(20):
        boxes, a_row = _crossing(jitter=3.0, seed=seed)
        for motion in persistent:
            ids = associate_tracks(boxes, None, TrackConfig(motion=motion))
            ida = _ids_of_a(ids, a_row)
            outside = np.r_[0:19, 22:41]  # frames where the centres are >= 40 px apart
            persistent[motion] += not (ida[outside] == ida[0]).all()
    assert persistent["constant_velocity"] == 0
    assert persistent["last_box"] > 0


def test_ids_in_order_of_first_appearance():
    frames = [
        np.zeros((0, 4), np.float32),
        _box(100, 100, 50, 50)[None],
        np.stack([_box(101, 100, 50, 50), _box(400, 100, 50, 50)]),
        np.stack([_box(700, 300, 50, 50), _box(402, 100, 50, 50), _box(102, 100, 50, 50)]),
    ]
    ids = associate_tracks(frames)
    assert [i.tolist() for i in ids] == [[], [0], [0, 1], [2, 1, 0]]


@pytest.mark.parametrize("motion", ["constant_velocity", "last_box"])
def test_gap_within_max_gap_keeps_id(motion):
    # a person walking right at 4 px/frame, unseen for 5 frames (10..14)
    frames = [
        _box(100 + 4 * t, 200, 80, 160)[None] if not 10 <= t < 15 else np.zeros((0, 4))
        for t in range(25)
    ]
    ids = associate_tracks(frames, None, TrackConfig(max_gap=5, motion=motion))
    assert np.concatenate(ids).tolist() == [0] * 20
    ids = associate_tracks(frames, None, TrackConfig(max_gap=4, motion=motion))
    assert np.concatenate(ids).tolist() == [0] * 10 + [1] * 10


def test_max_gap_zero_needs_consecutive_frames():
    frames = [_box(100, 100, 50, 50)[None], np.zeros((0, 4)), _box(100, 100, 50, 50)[None]]
    assert [i.tolist() for i in associate_tracks(frames, cfg=TrackConfig(max_gap=0))] == [
        [0], [], [1]]
    assert [i.tolist() for i in associate_tracks(frames, cfg=TrackConfig(max_gap=1))] == [
        [0], [], [0]]


def test_empty_and_nan_rows():
    assert associate_tracks([]) == []
    ids = associate_tracks([np.zeros((0, 4))] * 3)
    assert [i.shape for i in ids] == [(0,)] * 3
    frames = [
        np.stack([_box(100, 100, 50, 50), np.full(4, np.nan, np.float32)]),
        np.stack([np.full(4, np.nan, np.float32), _box(102, 100, 50, 50)]),
    ]
    ids = associate_tracks(frames)
    assert [i.tolist() for i in ids] == [[0, -1], [-1, 0]]


def test_low_iou_starts_new_track_and_scores_break_ties():
    frames = [_box(100, 100, 50, 50)[None], _box(300, 100, 50, 50)[None]]
    assert [i.tolist() for i in associate_tracks(frames)] == [[0], [1]]
    # two equally good candidates: the higher-scored one continues the track
    same = _box(100, 100, 50, 50)
    frames = [same[None], np.stack([same, same])]
    ids = associate_tracks(frames, [np.ones(1), np.array([0.2, 0.9])])
    assert ids[1].tolist() == [1, 0]


def test_oks_association():
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 100, (17, 2))
    boxes, kps = [], []
    for t in range(10):
        a_kp = base + [100 + 5 * t, 100]
        b_kp = base + [400 - 5 * t, 100]
        kp = np.stack([a_kp, b_kp]) if t % 2 == 0 else np.stack([b_kp, a_kp])
        box = np.concatenate([np.nanmin(kp, axis=1), np.nanmax(kp, axis=1)], axis=1)
        boxes.append(box)
        kps.append(kp)
    cfg = TrackConfig(use_oks=True)
    ids = associate_tracks(boxes, None, cfg, keypoints=kps, layout=COCO17)
    assert [i.tolist() for i in ids] == [[0, 1] if t % 2 == 0 else [1, 0] for t in range(10)]
    # a keypoint array with the wrong shape is reported
    with pytest.raises(ShapeError):
        associate_tracks(boxes, None, cfg, keypoints=[k[:, :5] for k in kps], layout=COCO17)
    # non-COCO layouts fall back to IoU (same result here)
    ids_iou = associate_tracks(boxes, None, cfg, keypoints=kps, layout=H36M17)
    assert [i.tolist() for i in ids_iou] == [i.tolist() for i in ids]


def test_bad_inputs():
    with pytest.raises(ShapeError):
        associate_tracks([np.zeros((2, 4))], [np.zeros(3)])
    with pytest.raises(ShapeError):
        associate_tracks([np.zeros((2, 4))], [np.zeros(2), np.zeros(2)])


def test_config_validation():
    with pytest.raises(ConfigError, match="iou_threshold"):
        from_dict(TrackConfig, {"iou_threshold": 1.5})
    with pytest.raises(ConfigError, match="max_gap"):
        from_dict(TrackConfig, {"max_gap": -1})
    with pytest.raises(ConfigError, match="motion"):
        from_dict(TrackConfig, {"motion": "kalman"})
    assert from_dict(TrackConfig, {"max_persons": 0}).max_persons == 0


# ----------------------------------------------------------------------- ranking


def _main_and_background(n=30):
    """Main person: big, centred, whole clip. Background: small, corner, 8 frames."""
    boxes = []
    for t in range(n):
        rows = [_box(320 + (t % 3), 240, 200, 400)]
        if 5 <= t < 13:
            rows.insert(0, _box(600, 40, 30, 60))  # listed first, detected first
        boxes.append(np.stack(rows))
    return boxes


def test_rank_by_hand():
    # 640x480 image; a centred 320x240 box in 4 of 8 frames
    boxes = [np.stack([_box(320, 240, 320, 240)]) if t < 4 else np.zeros((0, 4))
             for t in range(8)]
    ids = [np.zeros(len(b), np.int32) for b in boxes]
    (s,) = rank_tracks(ids, boxes, 640, 480)
    assert (s.track_id, s.n_frames, s.first_frame, s.last_frame) == (0, 4, 0, 3)
    assert s.duration == pytest.approx(0.5)
    assert s.mean_area == pytest.approx(0.25)
    assert s.centrality == pytest.approx(1.0)
    assert s.score == pytest.approx(0.125)
    # a box centred on the top-left corner, clipped to the image: centre (40, 30)
    corner = [np.stack([_box(0, 0, 160, 120)])]
    (c,) = rank_tracks([np.zeros(1, np.int32)], corner, 640, 480)
    assert c.mean_area == pytest.approx(80 * 60 / (640 * 480))
    assert c.centrality == pytest.approx(1 - np.hypot(280, 210) / 400)
    # exponents change the score
    (e,) = rank_tracks(ids, boxes, 640, 480, TrackConfig(area_exponent=0.0))
    assert e.score == pytest.approx(0.5)


def test_background_person_not_selected():
    boxes = _main_and_background()
    ids = associate_tracks(boxes)
    main_id = int(ids[0][0])
    bg_id = int(ids[5][0])
    assert main_id != bg_id
    sel = select_main_tracks(ids, boxes, 640, 480, TrackConfig(max_persons=1))
    assert sel.kept == (main_id,)
    assert [s.track_id for s in sel.ranking] == [main_id, bg_id]
    assert sel.ranking[0].score > sel.ranking[1].score
    assert sel.fixed_slots
    rec = json.loads(sel.to_json())
    assert rec["kept"] == [main_id] and len(rec["ranking"]) == 2
    both = select_main_tracks(ids, boxes, 640, 480, TrackConfig(max_persons=2))
    assert both.kept == (main_id, bg_id)
    allk = select_main_tracks(ids, boxes, 640, 480, TrackConfig(max_persons=0))
    assert allk.kept == (main_id, bg_id) and not allk.fixed_slots
    longer = select_main_tracks(ids, boxes, 640, 480, TrackConfig(max_persons=0, min_frames=9))
    assert longer.kept == (main_id,)


def test_select_on_empty_video():
    ids = associate_tracks([np.zeros((0, 4))] * 4)
    sel = select_main_tracks(ids, [np.zeros((0, 4))] * 4, 640, 480)
    assert sel.kept == () and sel.ranking == ()
    with pytest.raises(PosetoolsError):
        rank_tracks(ids, [np.zeros((0, 4))] * 4, 0, 480)


# ----------------------------------------------------------------------- packing


def _instances(boxes, k=3):
    kps = [np.repeat(b[:, None, :2], k, axis=1).astype(np.float32) for b in boxes]
    scs = [np.full((len(b), k), 0.5, np.float32) for b in boxes]
    return kps, scs


def test_pack_fixed_slots():
    boxes = _main_and_background(20)
    ids = associate_tracks(boxes)
    sel = select_main_tracks(ids, boxes, 640, 480, TrackConfig(max_persons=2))
    kps, scs = _instances(boxes)
    packed = pack_by_track(ids, sel.kept, {"keypoints": kps, "scores": scs, "boxes": boxes},
                           fixed_slots=sel.fixed_slots)
    assert packed["keypoints"].shape == (20, 2, 3, 2)
    assert packed["scores"].shape == (20, 2, 3)
    assert packed["boxes"].shape == (20, 2, 4) and packed["boxes"].dtype == np.float32
    assert packed["track_ids"].dtype == np.int32 and packed["n_instances"].dtype == np.int32
    main_id, bg_id = sel.kept
    assert (packed["track_ids"][:, 0] == main_id).all()
    bg_frames = np.arange(5, 13)
    assert (packed["track_ids"][bg_frames, 1] == bg_id).all()
    others = np.setdiff1d(np.arange(20), bg_frames)
    assert (packed["track_ids"][others, 1] == -1).all()
    assert np.isnan(packed["keypoints"][others, 1]).all()
    assert (packed["scores"][others, 1] == 0).all()
    assert np.isnan(packed["boxes"][others, 1]).all()
    np.testing.assert_array_equal(packed["n_instances"], [2 if 5 <= t < 13 else 1
                                                          for t in range(20)])
    for t in range(20):
        row = int(np.flatnonzero(ids[t] == main_id)[0])
        np.testing.assert_array_equal(packed["boxes"][t, 0], boxes[t][row])
        np.testing.assert_array_equal(packed["keypoints"][t, 0], kps[t][row])


def test_pack_keeps_slot_even_when_best_track_absent():
    ids = [np.array([0, 1], np.int32), np.array([1], np.int32), np.zeros(0, np.int32)]
    vals = [np.array([10.0, 11.0]), np.array([21.0]), np.zeros(0)]
    packed = pack_by_track(ids, [0, 1], {"v": vals})
    np.testing.assert_array_equal(packed["track_ids"], [[0, 1], [-1, 1], [-1, -1]])
    np.testing.assert_array_equal(packed["v"], [[10, 11], [np.nan, 21], [np.nan, np.nan]])
    np.testing.assert_array_equal(packed["n_instances"], [2, 1, 0])
    # dropped: tracks not kept
    only = pack_by_track(ids, [1], {"v": vals})
    np.testing.assert_array_equal(only["v"], [[11], [21], [np.nan]])


def test_pack_keep_all_compacts_in_rank_order():
    ids = [np.array([2, 0, 1], np.int32), np.array([-1, 2], np.int32), np.zeros(0, np.int32)]
    lab = [np.array([2, 0, 1], np.int64), np.array([7, 2], np.int64), np.zeros(0, np.int64)]
    flag = [np.array([True, True, False]), np.array([True, True]), np.zeros(0, bool)]
    packed = pack_by_track(ids, [1, 2, 0], {"lab": lab, "flag": flag}, fixed_slots=False)
    np.testing.assert_array_equal(packed["track_ids"], [[1, 2, 0], [2, -1, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(packed["lab"], [[1, 2, 0], [2, -1, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(packed["flag"], [[False, True, True], [True, False, False],
                                                   [False, False, False]])
    packed2 = pack_by_track(ids[1:], [2], {"lab": lab[1:]}, fixed_slots=False)
    assert packed2["lab"].shape == (2, 1)
    none = pack_by_track([np.zeros(0, np.int32)] * 2, [], {"v": [np.zeros((0, 4))] * 2},
                         fixed_slots=False)
    assert none["v"].shape == (2, 0, 4) and none["track_ids"].shape == (2, 0)


def test_pack_fills_and_errors():
    ids = [np.array([0]), np.zeros(0, np.int64)]
    packed = pack_by_track(ids, [0], {"x": [np.ones(1), np.zeros(0)]}, fills={"x": -5.0})
    np.testing.assert_array_equal(packed["x"], [[1], [-5]])
    with pytest.raises(PosetoolsError, match="twice"):
        pack_by_track([np.array([0, 0])], [0], {"x": [np.ones(2)]})
    with pytest.raises(ShapeError):
        pack_by_track(ids, [0], {"x": [np.ones(2), np.zeros(0)]})
    with pytest.raises(PosetoolsError):
        pack_by_track(ids, [0, 0], {})
