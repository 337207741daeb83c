"""SST-A: hand-worked examples, a literal oracle, filter/fill options, multi-person."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posetools.aggregate import (
    match_instances_to_reference,
    ssta_aggregate,
    ssta_aggregate_video,
    track_restarts,
)
from posetools.config import from_dict
from posetools.config.algorithms import SSTAConfig
from posetools.errors import ConfigError, ShapeError
from posetools.skeletons import get_layout
from posetools.skeletons.anatomy import head_def, limb_joints, neck_def, reference_point

# A COCO-17 skeleton (pixels): face centroid (0, -60), nose (0, -50),
# neck = mid-shoulders (0, -40), shoulder width 40.
BASE = np.array([
    [0, -50],                 # nose
    [-5, -65], [5, -65],      # eyes
    [-10, -60], [10, -60],    # ears
    [-20, -40], [20, -40],    # shoulders
    [-25, -15], [25, -15],    # elbows
    [-27, 10], [27, 10],      # wrists
    [-12, 10], [12, 10],      # hips
    [-13, 45], [13, 45],      # knees
    [-14, 80], [14, 80],      # ankles
], dtype=np.float64) + 200.0
K = 17
NOSE, L_SH, L_WR = 0, 5, 9


def stack(*poses, t: int = 1):
    """(M, T, K, 2) keypoints and all-ones scores from per-expert (T, K, 2) or (K, 2)."""
    kp = np.stack([np.broadcast_to(p, (t, K, 2)) if np.ndim(p) == 2 else p for p in poses])
    return kp.astype(np.float32), np.ones(kp.shape[:3], np.float32)


# ----------------------------------------------------------------- the oracle
def oracle(x, s, cfg, ran=None, restart=None):
    """Literal per-frame, per-joint SST-A as documented (selection + confidence)."""
    m, t, k, _ = x.shape
    x = x.astype(np.float64)
    lay = get_layout(cfg.layout)
    ran = np.ones((m, t), bool) if ran is None else ran
    restart = np.zeros(t, bool) if restart is None else restart

    def cand(e, f, v):
        return (ran[e, f] and np.all(np.isfinite(x[e, f, v])) and s[e, f, v] > 0
                and s[e, f, v] >= cfg.min_score)

    def dist(a, b):
        return math.sqrt(float((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2))

    sel = np.full((t, k), -1)
    active = [f for f in range(t) if ran[:, f].any()]
    for i, f in enumerate(active):
        for v in range(k):
            cs = [e for e in range(m) if cand(e, f, v)]
            if not cs:
                continue
            prev = sel[active[i - 1], v] if i > 0 and not restart[f] else -1
            if prev >= 0:
                ref = x[prev, active[i - 1], v]
                ds = [dist(x[e, f, v], ref) for e in cs]
                sel[f, v] = cs[int(np.argmin(ds))]
            elif len(cs) == 1:
                sel[f, v] = cs[0]
            else:
                pairs = [(a, b) for ai, a in enumerate(cs) for b in cs[ai + 1:]]
                ds = [dist(x[a, f, v], x[b, f, v]) for a, b in pairs]
                sel[f, v] = pairs[int(np.argmin(ds))][0]
    joints = limb_joints(lay) if cfg.confidence_joints == "limbs" else np.arange(k)
    conf = np.zeros(t)
    for f in range(t):
        has = sel[f] >= 0
        if not has.any():
            continue
        pa = np.where(has[:, None], x[np.maximum(sel[f], 0), f, np.arange(k)], np.nan)
        total, n = 0.0, 0
        for v in joints:
            if not has[v]:
                continue
            for e in range(m):
                if cand(e, f, v):
                    total += dist(pa[v], x[e, f, v])
                    n += 1
        if cfg.normalizer == "head_neck":
            a = reference_point(pa, has, head_def(lay, cfg.head))
            b = reference_point(pa, has, neck_def(lay, cfg.neck))
        else:
            a, b = pa[5], pa[6]
        dn = math.hypot(*(a - b))
        if n and np.isfinite(dn):
            conf[f] = math.exp(-(total / n) / (dn + 1e-12))
    return sel, conf


# ------------------------------------------------------------ hand-worked rules
def test_first_frame_rule_takes_first_expert_of_closest_pair():
    e0, e1, e2 = BASE.copy(), BASE.copy(), BASE.copy()
    e0[L_WR] += (0, 0)
    e1[L_WR] += (10, 0)
    e2[L_WR] += (11, 0)  # pair (1, 2) is closest (1 px) -> expert 1
    r = ssta_aggregate(*stack(e0, e1, e2))
    assert r.source_expert[0, L_WR] == 1
    np.testing.assert_array_equal(r.keypoints[0, L_WR], e1[L_WR])
    # every other joint: all three agree, first pair (0, 1) -> expert 0
    assert (np.delete(r.source_expert[0], L_WR) == 0).all()


def test_first_frame_rule_pair_order_not_expert_order():
    e0, e1, e2 = BASE.copy(), BASE.copy(), BASE.copy()
    e0[L_WR] += (0, 0)
    e1[L_WR] += (50, 0)
    e2[L_WR] += (1, 0)  # pair (0, 2) closest -> expert 0, although e1 is listed before e2
    r = ssta_aggregate(*stack(e0, e1, e2))
    assert r.source_expert[0, L_WR] == 0


def test_later_frames_take_expert_closest_to_previous_aggregate():
    kp, sc = stack(BASE, BASE, BASE, t=2)
    kp[:, 0, L_WR] = [[200, 200], [210, 200], [211, 200]]  # frame 0 -> expert 1 (210, 200)
    # frame 1: pair (0, 1) is the closest pair, but expert 2 is closest to (210, 200)
    kp[:, 1, L_WR] = [[200, 200], [201, 200], [209, 200]]
    r = ssta_aggregate(kp, sc)
    assert r.source_expert[0, L_WR] == 1
    assert r.source_expert[1, L_WR] == 2
    np.testing.assert_array_equal(r.keypoints[1, L_WR], [209, 200])


def test_confidence_hand_worked():
    # expert 1 = expert 0 shifted by (3, 4): every joint 5 px away; face joints 10 px
    e1 = BASE + (3, 4)
    e1[:5] = BASE[:5] + (6, 8)
    kp, sc = stack(BASE, e1)
    # 2 experts: the only pair is (0, 1) -> expert 0 everywhere; D to itself is 0.
    all_mean = (5 * 10 + 12 * 5) / (17 * 2)
    limbs_mean = (12 * 5) / (12 * 2)
    cases = [
        (SSTAConfig(), all_mean / 20),  # face centroid (0,-60) to neck (0,-40)
        (SSTAConfig(head="nose"), all_mean / 10),
        (SSTAConfig(normalizer="shoulder_width"), all_mean / 40),
        (SSTAConfig(confidence_joints="limbs"), limbs_mean / 20),
        (SSTAConfig(confidence_joints="limbs", normalizer="shoulder_width"), limbs_mean / 40),
    ]
    for cfg, ratio in cases:
        r = ssta_aggregate(kp, sc, cfg)
        assert (r.source_expert == 0).all()
        assert r.confidence[0] == pytest.approx(math.exp(-ratio), rel=1e-6), cfg


def test_identical_experts_return_that_expert_with_confidence_one():
    rng = np.random.default_rng(0)
    track = BASE[None] + rng.normal(size=(30, K, 2)).cumsum(axis=0)
    kp, sc = stack(track, track, track)
    sc[:] = rng.uniform(0.2, 1.0, size=(1, 30, K))
    r = ssta_aggregate(kp, sc)
    np.testing.assert_array_equal(r.keypoints, track.astype(np.float32))
    np.testing.assert_array_equal(r.scores, sc[0])
    assert (r.source_expert == 0).all()
    assert (r.confidence == 1.0).all() and r.valid.all() and not r.filled.any()


def test_outlier_expert_is_outvoted():
    rng = np.random.default_rng(1)
    t = np.arange(200.0)[:, None]
    clean = BASE[None] * 2 + np.stack([50 * np.sin(t / 20), 20 * np.cos(t / 15)], -1)
    kp = np.stack([clean + rng.normal(size=clean.shape) * 1.5 for _ in range(3)])
    outlier = rng.random((200, K)) < 0.15
    kp[2][outlier] += rng.normal(size=(int(outlier.sum()), 2)) * 40
    r = ssta_aggregate(kp.astype(np.float32), np.ones(kp.shape[:3], np.float32))
    assert r.valid.all()

    def err(p):
        return float(np.mean(np.linalg.norm(p - clean, axis=-1)))

    errs = [err(kp[e]) for e in range(3)]
    agg = err(r.keypoints)
    assert agg < errs[2]
    assert agg <= min(errs)


# ------------------------------------------------------------ missing joints
def test_missing_joints():
    kp, sc = stack(BASE, BASE + 1, BASE + 2, t=3)
    kp[0, 0, L_WR] = np.nan  # frame 0: expert 0 lacks the wrist (NaN)
    sc[1, 0, L_WR] = 0.0  # ... and expert 1 scores it 0 -> only expert 2 is a candidate
    kp[:, 1, NOSE] = np.nan  # frame 1: nobody has the nose
    sc[:, 1, NOSE] = 0.0
    r = ssta_aggregate(kp, sc)
    assert r.source_expert[0, L_WR] == 2
    assert r.source_expert[1, NOSE] == -1
    assert np.isnan(r.keypoints[1, NOSE]).all() and r.scores[1, NOSE] == 0
    # frame 2: previous nose missing -> first-frame rule -> pair (0, 1) -> expert 0
    assert r.source_expert[2, NOSE] == 0
    # other joints follow the temporal rule from expert 0 at frame 0 ... stays 0
    assert r.source_expert[2, L_SH] == 0


def test_min_score_threshold():
    kp, sc = stack(BASE, BASE + 1)
    sc[0, 0, L_WR] = 0.2
    r = ssta_aggregate(kp, sc, SSTAConfig(min_score=0.3))
    assert r.source_expert[0, L_WR] == 1


def test_frame_without_anyone_has_no_pose():
    kp, sc = stack(BASE, BASE, t=3)
    kp[:, 1] = np.nan
    sc[:, 1] = 0
    r = ssta_aggregate(kp, sc)
    assert r.valid.tolist() == [True, False, True]
    assert np.isnan(r.keypoints[1]).all() and r.confidence[1] == 0
    assert (r.source_expert[1] == -1).all()


# ------------------------------------------------------------ shapes, T alignment
def test_one_frame_video():
    r = ssta_aggregate(*stack(BASE, BASE + (3, 4)))
    assert r.keypoints.shape == (1, K, 2) and r.valid.shape == (1,)
    assert r.valid[0]


def test_zero_frames():
    kp = np.zeros((2, 0, K, 2), np.float32)
    r = ssta_aggregate(kp, np.zeros((2, 0, K), np.float32), SSTAConfig(max_gap=3))
    assert r.keypoints.shape == (0, K, 2) and r.confidence.shape == (0,)


def test_time_alignment_is_preserved():
    rng = np.random.default_rng(3)
    t = 40
    track = BASE[None] + np.arange(t)[:, None, None] * np.array([2.0, 0.0])
    kp, sc = stack(track + rng.normal(size=track.shape), track + rng.normal(size=track.shape))
    kp[:, 10:14] = np.nan  # nobody
    sc[:, 10:14] = 0
    kp[1, 20:25, :] += 300  # the experts disagree wildly -> low confidence
    ran = np.ones((2, t), bool)
    ran[:, 30:33] = False  # no expert ran
    r = ssta_aggregate(kp, sc, ran=ran)
    assert r.keypoints.shape == (t, K, 2)
    assert not r.valid[10:14].any() and not r.valid[30:33].any()
    assert not r.valid[20:25].any() and r.confidence[20:25].max() < 0.18
    ok = r.valid
    assert ok.sum() == t - 4 - 3 - 5
    # every kept joint sits on its own row: it is that row's joint of its source expert
    f, v = np.nonzero(ok[:, None] & (r.source_expert >= 0))
    np.testing.assert_array_equal(r.keypoints[f, v], kp[r.source_expert[f, v], f, v])


def test_bad_shapes():
    with pytest.raises(ShapeError):
        ssta_aggregate(np.zeros((2, 3, 5, 2)), np.zeros((2, 3, 5)))
    with pytest.raises(ShapeError):
        ssta_aggregate(np.zeros((0, 3, K, 2)), np.zeros((0, 3, K)))
    with pytest.raises(ShapeError):
        ssta_aggregate(np.zeros((2, 3, K, 2)), np.zeros((2, 3, K)), ran=np.ones((2, 4), bool))


# ------------------------------------------------------------ filter and fill
def test_low_confidence_invalid_vs_zero_confidence():
    kp, sc = stack(BASE, BASE + (30, 40))  # 50 px apart: C = exp(-25 / 20) = 0.287
    hi = ssta_aggregate(kp, sc, SSTAConfig(gamma=0.3))
    assert not hi.valid[0] and np.isnan(hi.keypoints[0]).all()
    assert (hi.scores[0] == 0).all() and (hi.source_expert[0] == -1).all()
    assert hi.confidence[0] == pytest.approx(math.exp(-25 / 20), rel=1e-6)
    lo = ssta_aggregate(kp, sc, SSTAConfig(gamma=0.28))
    assert lo.valid[0] and lo.confidence[0] == pytest.approx(math.exp(-25 / 20), rel=1e-6)
    zc = ssta_aggregate(kp, sc, SSTAConfig(gamma=0.3, low_confidence="zero_confidence"))
    assert zc.valid[0] and zc.confidence[0] == 0
    np.testing.assert_array_equal(zc.keypoints[0], BASE.astype(np.float32))


def test_reference_script_preset():
    cfg = SSTAConfig.ssta_prs()
    assert (cfg.gamma, cfg.confidence_joints, cfg.normalizer, cfg.low_confidence) == (
        0.06, "limbs", "shoulder_width", "zero_confidence")
    assert SSTAConfig.ssta_prs(gamma=0.1).gamma == 0.1
    # unlike the script, the last frame is aggregated and missing joints are not (0, 0)
    kp, sc = stack(BASE, BASE + 1, BASE + 2, t=4)
    kp[0, :, L_WR] = np.nan
    sc[0, :, L_WR] = 0
    r = ssta_aggregate(kp, sc, cfg)
    assert r.valid.all() and np.isfinite(r.keypoints).all()
    assert (r.source_expert[:, L_WR] >= 1).all()


def test_gap_filling_linear_and_bounded():
    t = 12
    track = BASE[None] + np.arange(t)[:, None, None] * np.array([3.0, -1.0])
    kp, sc = stack(track, track)
    kp[:, 2:4] = np.nan  # 2-row gap
    sc[:, 2:4] = 0
    kp[:, 6:9, L_WR] = np.nan  # 3-row gap of one joint
    sc[:, 6:9, L_WR] = 0
    r0 = ssta_aggregate(kp, sc)
    assert not r0.filled.any() and not r0.valid[2:4].any()
    r = ssta_aggregate(kp, sc, SSTAConfig(max_gap=2))
    assert r.valid[2:4].all() and r.filled[2:4].all()
    assert (r.source_expert[2:4] == -1).all()
    np.testing.assert_allclose(r.keypoints[2:4], track[2:4], atol=1e-4)
    assert (r.scores[2:4] == 1).all()
    # the 3-row wrist gap exceeds max_gap: untouched
    assert not r.filled[6:9].any() and np.isnan(r.keypoints[6:9, L_WR]).all()
    r3 = ssta_aggregate(kp, sc, SSTAConfig(max_gap=3))
    assert r3.filled[6:9, L_WR].all() and r3.filled.sum() == 2 * K + 3
    np.testing.assert_allclose(r3.keypoints[6:9, L_WR], track[6:9, L_WR], atol=1e-4)


def test_gap_filling_uses_frame_positions_and_fills_discarded_frames():
    kp, sc = stack(BASE, BASE, t=3)
    kp[:, 2] += 40.0
    kp[1, 1] += 500.0  # row 1: experts disagree -> discarded
    r = ssta_aggregate(kp, sc, SSTAConfig(max_gap=1), frame_pos=np.array([0.0, 10.0, 40.0]))
    assert r.valid.all() and r.filled[1].all()
    np.testing.assert_allclose(r.keypoints[1], BASE + 10.0, atol=1e-4)


def test_gap_filling_never_extrapolates():
    kp, sc = stack(BASE, BASE, t=4)
    kp[:, :2] = np.nan
    sc[:, :2] = 0
    r = ssta_aggregate(kp, sc, SSTAConfig(max_gap=5))
    assert not r.filled.any() and not r.valid[:2].any()


def test_gap_filling_never_crosses_a_track_restart():
    """Two persons in one slot (ids 0 | -1 | 1): the hole between them is not filled."""
    kp, sc = stack(BASE, t=3)
    kp[0, 2] += 300.0  # the second person stands elsewhere
    kp[0, 1] = np.nan
    sc[0, 1] = 0
    restart = track_restarts(np.array([0, -1, 1]))
    assert restart.tolist() == [False, False, True]
    r = ssta_aggregate(kp, sc, SSTAConfig(max_gap=2), restart=restart)
    assert not r.filled.any() and not r.valid[1] and np.isnan(r.keypoints[1]).all()
    same = ssta_aggregate(kp, sc, SSTAConfig(max_gap=2),
                          restart=track_restarts(np.array([0, -1, 0])))
    assert same.filled[1].all()  # the same hole within one track is filled
    np.testing.assert_allclose(same.keypoints[1], BASE + 150.0, atol=1e-4)
    tids = np.array([[0], [-1], [1]], np.int32)
    video = ssta_aggregate_video([kp[0][:, None]], [sc[0][:, None]], np.ones((1, 3), bool),
                                 SSTAConfig(max_gap=2), track_ids=tids)
    assert not video.filled.any() and not video.valid[1, 0]


def test_track_restarts_per_slot():
    tid = np.array([[0, 5], [0, -1], [-1, 5], [0, 6], [1, 6], [-1, -1], [2, 6]])
    np.testing.assert_array_equal(track_restarts(tid), [
        [False, False], [False, False], [False, False], [False, True], [True, False],
        [False, False], [True, False]])
    np.testing.assert_array_equal(track_restarts(tid[:, 1]), track_restarts(tid)[:, 1])
    assert track_restarts(np.zeros((0, 3), int)).shape == (0, 3)


# ------------------------------------------------------------ experts and strides
def test_single_expert_passes_through():
    rng = np.random.default_rng(5)
    track = BASE[None] + rng.normal(size=(10, K, 2))
    kp, sc = stack(track)
    kp[0, 4, L_WR] = np.nan
    sc[0, 4, L_WR] = 0
    r = ssta_aggregate(kp, sc)
    np.testing.assert_array_equal(r.keypoints, kp[0])
    assert (r.confidence == 1).all() and r.valid.all()
    assert (r.source_expert[sc[0] > 0] == 0).all() and r.source_expert[4, L_WR] == -1


def test_strided_expert_and_inactive_rows():
    t = 6
    kp, sc = stack(BASE, BASE + 1, BASE + 2, t=t)
    ran = np.zeros((3, t), bool)
    ran[0, [0, 2, 4]] = True
    ran[1, [0, 2, 4]] = True
    ran[2, [0, 4]] = True
    kp[:, 2, L_WR] = [[200, 200], [190, 300], [0, 0]]  # expert 2 did not run: ignored
    kp[:, 0, L_WR] = [[0, 0], [180, 300], [181, 300]]  # frame 0: pair (1, 2) -> 1
    r = ssta_aggregate(kp, sc, ran=ran)
    assert r.valid.tolist() == [True, False, True, False, True, False]
    assert r.source_expert[0, L_WR] == 1
    # row 2's previous row is row 0 (rows 1 skipped): closest to (180, 300) is expert 1
    assert r.source_expert[2, L_WR] == 1
    sel, conf = oracle(kp, sc, SSTAConfig(), ran=ran)
    np.testing.assert_array_equal(r.source_expert, sel)
    np.testing.assert_allclose(r.confidence, conf, rtol=1e-5)


def test_restart_uses_first_frame_rule():
    kp, sc = stack(BASE, BASE + 1, BASE + 2, t=2)
    kp[:, 0, L_WR] = [[0, 0], [100, 0], [101, 0]]
    kp[:, 1, L_WR] = [[0, 0], [1, 0], [99, 0]]
    assert ssta_aggregate(kp, sc).source_expert[1, L_WR] == 2
    r = ssta_aggregate(kp, sc, restart=np.array([False, True]))
    assert r.source_expert[1, L_WR] == 0


# ------------------------------------------------------------ oracle property test
@st.composite
def random_case(draw):
    m = draw(st.integers(1, 4))
    t = draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kp = rng.integers(0, 12, size=(m, t, K, 2)).astype(np.float32)  # many exact ties
    kp[..., :5, 1] -= 30  # keep a head above the shoulders most of the time
    sc = rng.choice([0.0, 0.2, 0.6, 1.0], size=(m, t, K), p=[0.2, 0.1, 0.3, 0.4])
    nan = rng.random((m, t, K)) < 0.1
    kp[nan] = np.nan
    ran = rng.random((m, t)) < 0.85
    restart = rng.random(t) < 0.15
    cfg = SSTAConfig(
        confidence_joints=draw(st.sampled_from(["all", "limbs"])),
        normalizer=draw(st.sampled_from(["head_neck", "shoulder_width"])),
        head=draw(st.sampled_from(["nose", "face_centroid"])),
        min_score=draw(st.sampled_from([0.0, 0.5])),
        gamma=draw(st.sampled_from([0.0, 0.18, 0.5])),
        low_confidence=draw(st.sampled_from(["invalid", "zero_confidence"])),
    )
    return kp, sc.astype(np.float32), ran, restart, cfg


@settings(max_examples=150, deadline=None)
@given(random_case())
def test_matches_literal_oracle(case):
    kp, sc, ran, restart, cfg = case
    r = ssta_aggregate(kp, sc, cfg, ran=ran, restart=restart)
    sel, conf = oracle(kp, sc, cfg, ran=ran, restart=restart)
    has_pose = (sel >= 0).any(axis=1)
    low = conf < cfg.gamma
    if cfg.low_confidence == "invalid":
        valid = has_pose & ~low
        np.testing.assert_allclose(r.confidence, conf, rtol=1e-5, atol=1e-7)
        sel = np.where(valid[:, None], sel, -1)
    else:
        valid = has_pose
        np.testing.assert_allclose(r.confidence, np.where(low, 0, conf), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(r.valid, valid)
    np.testing.assert_array_equal(r.source_expert, sel)
    m = kp.shape[0]
    want = np.where((sel >= 0)[..., None], kp[np.maximum(sel, 0), np.arange(kp.shape[1])[:, None],
                                            np.arange(K)], np.nan)
    np.testing.assert_array_equal(r.keypoints, want.astype(np.float32))
    assert r.source_expert.max(initial=-1) < m


# ------------------------------------------------------------ config
def test_config_validation():
    with pytest.raises(ConfigError, match="gamma"):
        from_dict(SSTAConfig, {"gamma": 1.5})
    with pytest.raises(ConfigError, match="head"):
        from_dict(SSTAConfig, {"head": "head_joint"})  # COCO-17 has no "head" joint
    with pytest.raises(ConfigError, match="layout"):
        from_dict(SSTAConfig, {"layout": "nope"})
    assert from_dict(SSTAConfig, {"layout": "halpe26", "head": "head_joint",
                                  "neck": "neck_joint"}).neck == "neck_joint"
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(SSTAConfig, {"gama": 0.1})


# ------------------------------------------------------------ multi-person
def two_people(t=5):
    a = BASE[None] + np.arange(t)[:, None, None] * np.array([1.0, 0])
    b = a + np.array([400.0, 0])
    return a, b


def test_match_instances_handles_order_and_strangers():
    a, b = two_people()
    ref = np.stack([a, b], axis=1)  # (T, 2, K, 2)
    other = np.stack([b + 2, np.full_like(a, np.nan), a - 2, a + 2000], axis=1)  # swapped
    osc = np.ones(other.shape[:3])
    osc[:, 1] = 0
    m = match_instances_to_reference(ref, np.ones(ref.shape[:3]), other, osc)
    assert (m[:, 0] == 2).all() and (m[:, 1] == 0).all()
    m_iou = match_instances_to_reference(ref, np.ones(ref.shape[:3]), other, osc,
                                         SSTAConfig(match_metric="iou"))
    np.testing.assert_array_equal(m, m_iou)


def test_video_aggregate_multi_person():
    t = 6
    a, b = two_people(t)
    e0 = np.stack([a, b], axis=1)
    e1 = np.stack([b + 1, a + 1], axis=1)  # other order
    e1[3] = np.nan  # expert 1 found nobody on row 3
    s0 = np.ones(e0.shape[:3], np.float32)
    s1 = np.ones(e1.shape[:3], np.float32)
    s1[3] = 0
    ran = np.ones((2, t), bool)
    tids = np.tile(np.array([[7, 9]], np.int32), (t, 1))
    out = ssta_aggregate_video([e0, e1], [s0, s1], ran, reference=0, track_ids=tids)
    assert out.keypoints.shape == (t, 2, K, 2)
    np.testing.assert_array_equal(out.track_ids, tids)
    assert (out.matched[1, [0, 1, 2, 4, 5], 0] == 1).all() and (out.matched[1, 3] == -1).all()
    # first frame: pair (0, 1) -> expert 0 for both tracks, then it stays with expert 0
    np.testing.assert_allclose(out.keypoints[:, 0], a, atol=1e-5)
    np.testing.assert_allclose(out.keypoints[:, 1], b, atol=1e-5)
    assert out.valid.all()
    # confidence: 1 px offset on both axes, 2 experts -> mean sqrt(2)/2, head-neck 20 px
    want = math.exp(-(math.sqrt(2) / 2) / 20)
    np.testing.assert_allclose(out.confidence[[0, 1, 2, 4, 5]], want, rtol=1e-5)
    assert (out.confidence[3] == 1).all()  # only the reference itself


def test_video_aggregate_restarts_on_track_change():
    kp, sc = stack(BASE, BASE + 1, BASE + 2, t=2)
    kp[:, 0, L_WR] = [[0, 0], [100, 0], [101, 0]]
    kp[:, 1, L_WR] = [[0, 0], [1, 0], [99, 0]]
    per = [kp[e][:, None] for e in range(3)]
    scs = [sc[e][:, None] for e in range(3)]
    ran = np.ones((3, 2), bool)
    cfg = SSTAConfig(match_threshold=0.0)
    same = ssta_aggregate_video(per, scs, ran, cfg, track_ids=np.array([[1], [1]]))
    new = ssta_aggregate_video(per, scs, ran, cfg, track_ids=np.array([[1], [2]]))
    assert same.source_expert[1, 0, L_WR] == 2 and new.source_expert[1, 0, L_WR] == 0


def test_long_track_chunks_and_blocks_match_oracle(monkeypatch):
    import posetools.aggregate.select as ssta_mod

    rng = np.random.default_rng(11)
    m, t = 3, 300
    kp = rng.integers(0, 40, size=(m, t, K, 2)).astype(np.float32)
    kp[..., :5, 1] -= 60
    sc = rng.choice([0.0, 1.0], size=(m, t, K), p=[0.15, 0.85]).astype(np.float32)
    ran = rng.random((m, t)) < 0.9
    restart = rng.random(t) < 0.02
    cfg = SSTAConfig(gamma=0.0)
    sel, conf = oracle(kp, sc, cfg, ran=ran, restart=restart)
    whole = ssta_aggregate(kp, sc, cfg, ran=ran, restart=restart)
    monkeypatch.setattr(ssta_mod, "_CHUNK", 7)  # tables built in many row blocks
    chunked = ssta_aggregate(kp, sc, cfg, ran=ran, restart=restart)
    for r in (whole, chunked):
        np.testing.assert_array_equal(r.source_expert, sel)
        np.testing.assert_allclose(r.confidence, conf, rtol=1e-5, atol=1e-7)
