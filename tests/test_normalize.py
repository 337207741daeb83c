"""Skeleton normalization, its inverse, reference points and frame resampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from posetools.config import from_dict
from posetools.config.algorithms import PoseNormConfig
from posetools.errors import ConfigError, ShapeError
from posetools.normalize import denormalize, normalize_skeletons, resample_to_frames
from posetools.skeletons import COCO17, H36M17, HALPE26
from posetools.skeletons.anatomy import head_def, limb_joints, reference_point

K = 17


def skeleton(seed: int, p_missing: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kp = rng.uniform(-50, 50, size=(K, 2)) + rng.uniform(0, 500, size=2)
    if p_missing:
        miss = rng.random(K) < p_missing
        miss[[0, 5, 6, 11, 12]] = False  # keep the nose, shoulders and hips
        kp[miss] = np.nan
    return kp


def similarity(kp: np.ndarray, angle: float, k: float, t: np.ndarray) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    r = np.array([[c, -s], [s, c]])
    return k * kp @ r.T + t


transforms = st.tuples(
    st.floats(-math.pi, math.pi), st.floats(0.05, 20.0),
    st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),
)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), transforms, st.sampled_from(["rms", "max", "torso"]),
       st.sampled_from(["nose", "face_centroid"]))
def test_invariant_to_translation_scale_rotation(seed, tf, scale, head):
    kp = skeleton(seed, p_missing=0.3)
    cfg = PoseNormConfig(scale=scale, head=head)
    a = normalize_skeletons(kp, cfg=cfg)
    assume(bool(a.ok))
    pres = np.isfinite(kp).all(-1)
    hd = reference_point(kp, pres, head_def(COCO17, head))
    # keep away from a head on top of the center, where the angle is ill-conditioned
    assume(np.linalg.norm(hd - a.center) > 1e-2 * a.scale)
    angle, k, t = tf
    b = normalize_skeletons(similarity(kp, angle, k, np.array(t)), cfg=cfg)
    assert b.ok
    np.testing.assert_allclose(b.keypoints, a.keypoints, atol=2e-4, equal_nan=True)
    assert b.scale == pytest.approx(a.scale * k, rel=1e-4)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["rms", "max", "torso"]), st.booleans())
def test_inverse_restores_the_skeleton(seed, scale, rotate):
    kp = skeleton(seed, p_missing=0.3)
    n = normalize_skeletons(kp, cfg=PoseNormConfig(scale=scale, rotate=rotate))
    back = denormalize(n.keypoints, n.center, n.scale, n.angle)
    np.testing.assert_allclose(back, kp, atol=1e-3, equal_nan=True)


def test_head_straight_above_center_and_unit_rms():
    kp = skeleton(7)
    n = normalize_skeletons(kp)
    face = n.keypoints[:5].mean(axis=0)  # the face centroid, all five present
    assert abs(face[0]) < 1e-5 and face[1] < 0  # image y points down: "above" is y < 0
    np.testing.assert_allclose(np.nanmean(n.keypoints, axis=0), 0, atol=1e-5)
    assert math.sqrt(np.mean(np.sum(n.keypoints**2, axis=-1))) == pytest.approx(1, rel=1e-5)
    nose = normalize_skeletons(kp, cfg=PoseNormConfig(head="nose")).keypoints[0]
    assert abs(nose[0]) < 1e-5 and nose[1] < 0


def test_hand_worked_transform():
    kp = np.full((K, 2), np.nan)
    kp[0] = [10, 0]  # nose to the right of the center
    kp[15] = [-10, 0]
    n = normalize_skeletons(kp, cfg=PoseNormConfig(head="nose"))
    np.testing.assert_allclose(n.center, [0, 0])
    assert n.scale == pytest.approx(10.0)
    # head direction (1, 0) has angle 0; rotate by -pi/2 to reach (0, -1)
    assert n.angle == pytest.approx(-math.pi / 2)
    np.testing.assert_allclose(n.keypoints[0], [0, -1], atol=1e-6)
    np.testing.assert_allclose(n.keypoints[15], [0, 1], atol=1e-6)
    assert normalize_skeletons(kp, cfg=PoseNormConfig(head="nose", scale="max")).scale == 10


def test_missing_joints_do_not_pull_center_or_scale():
    kp = skeleton(3)
    present = np.ones(K, bool)
    present[9] = False
    far = kp.copy()
    far[9] = [1e6, -1e6]
    a = normalize_skeletons(kp, present)
    b = normalize_skeletons(far, present)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.center, b.center)
    assert np.isnan(a.keypoints[9]).all()
    nan = kp.copy()
    nan[9] = np.nan
    np.testing.assert_allclose(normalize_skeletons(nan).center, a.center, rtol=1e-6)


def test_batched_shapes_and_not_ok_cases():
    kp = np.stack([skeleton(i) for i in range(6)]).reshape(2, 3, K, 2)
    kp[0, 1] = np.nan  # nobody
    kp[1, 2, 1:] = np.nan  # a single joint: zero scale
    n = normalize_skeletons(kp)
    assert n.keypoints.shape == (2, 3, K, 2) and n.center.shape == (2, 3, 2)
    assert n.scale.shape == n.angle.shape == n.ok.shape == (2, 3)
    assert n.ok.tolist() == [[True, False, True], [True, True, False]]
    assert np.isnan(n.keypoints[0, 1]).all() and np.isnan(n.scale[1, 2])
    torso = normalize_skeletons(kp, cfg=PoseNormConfig(scale="torso"))
    no_hip = kp[0, 0].copy()
    no_hip[11] = np.nan
    assert not normalize_skeletons(no_hip, cfg=PoseNormConfig(scale="torso")).ok
    assert torso.ok[0, 0]


def test_missing_head_policy():
    kp = skeleton(4)
    kp[:5] = np.nan
    rot = normalize_skeletons(kp)
    assert rot.ok and rot.angle == 0
    assert not normalize_skeletons(kp, cfg=PoseNormConfig(missing_head="invalid")).ok
    assert normalize_skeletons(kp, cfg=PoseNormConfig(rotate=False)).angle == 0


def test_other_layouts_and_config_errors():
    assert limb_joints(COCO17).tolist() == list(range(5, 17))
    assert "head" not in [HALPE26.joints[i] for i in limb_joints(HALPE26)]
    assert PoseNormConfig(layout="h36m17", head="head_joint", scale="torso")
    kp = np.random.default_rng(0).uniform(0, 100, (H36M17.num_joints, 2))
    n = normalize_skeletons(kp, cfg=PoseNormConfig(layout="h36m17", head="head_joint"))
    assert abs(n.keypoints[H36M17.index("head"), 0]) < 1e-5
    with pytest.raises(ConfigError, match="head"):
        from_dict(PoseNormConfig, {"layout": "h36m17", "head": "nose"})
    with pytest.raises(ConfigError, match="scale"):
        from_dict(PoseNormConfig, {"scale": "furthest"})
    with pytest.raises(ShapeError):
        normalize_skeletons(np.zeros((3, 12, 2)))


# ------------------------------------------------------------------ resampling
def test_resample_linear_and_nearest():
    src = np.array([0, 5, 10])
    vals = np.array([[0.0, 0.0], [10.0, 5.0], [20.0, 10.0]])
    valid = np.array([True, True, False])
    dst = np.arange(-1, 13)
    lin, lok = resample_to_frames(src, vals, valid, dst, method="linear")
    assert lok.tolist() == [False] + [True] * 6 + [False] * 7
    np.testing.assert_allclose(lin[1:7, 0], [0, 2, 4, 6, 8, 10])
    assert np.isnan(lin[~lok]).all()
    near, nok = resample_to_frames(src, vals, valid, dst, method="nearest")
    # -1, 0, 1, 2 -> frame 0; 3..7 -> frame 5; 8.. -> frame 10 (invalid)
    assert nok.tolist() == [True] * 9 + [False] * 5
    np.testing.assert_allclose(near[:9, 0], [0, 0, 0, 0, 10, 10, 10, 10, 10])


def test_resample_ties_gaps_and_shapes():
    src = np.array([0, 2, 10])
    kp = np.arange(3 * 2 * 4 * 2, dtype=float).reshape(3, 2, 4, 2)
    valid = np.ones((3, 2, 4), bool)
    valid[1, 0, 3] = False
    near, nok = resample_to_frames(src, kp, valid, np.array([1, 6]), method="nearest")
    np.testing.assert_array_equal(near[0], kp[0])  # tie -> the earlier sample
    np.testing.assert_array_equal(near[1][nok[1]], kp[1][valid[1]])
    assert not nok[1, 0, 3] and np.isnan(near[1, 0, 3]).all()
    lin, lok = resample_to_frames(src, kp, valid, np.array([1, 6, 10]), max_gap=4)
    assert lok[0].sum() == 7 and not lok[0, 0, 3] and not lok[1].any() and lok[2].all()
    np.testing.assert_allclose(lin[0][lok[0]], ((kp[0] + kp[1]) / 2)[lok[0]])
    _, gok = resample_to_frames(src, kp, valid, np.array([6]), method="nearest", max_gap=3)
    assert not gok.any()
    empty, eok = resample_to_frames(np.zeros(0), np.zeros((0, 2)), np.zeros(0, bool),
                                    np.array([1, 2]))
    assert empty.shape == (2, 2) and not eok.any()
    with pytest.raises(ShapeError):
        resample_to_frames(np.array([0, 0]), np.zeros((2, 1)), np.ones(2, bool), np.array([0]))
    with pytest.raises(ShapeError):
        resample_to_frames(np.array([0, 1]), np.zeros((2, 3)), np.ones(3, bool), np.array([0]))
