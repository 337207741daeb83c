"""The whole refinement on synthetic pose tracks: per track, per joint, masks and scores."""

from __future__ import annotations

import math
from typing import get_args

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import sosfreqz

from posetools.aggregate import track_restarts
from posetools.config.algorithms import RefineConfig, Smoother
from posetools.temporal import refine_poses
from posetools.temporal.filters import butter_sos
from posetools.temporal.refine import hampel_window, max_gap_samples
from posetools.temporal.segments import piece_ids

SMOOTHERS = get_args(Smoother)
K = 5
OFFS = np.array([[0, 0], [40, 0], [0, 80], [40, 80], [20, 120]], np.float64)  # size 120 px


def video(t=90, p=1, fps=30.0, stride=1, motion=None, seed=0, noise=0.0):
    """``(keypoints, scores, valid, pts)`` of ``p`` identical 5-joint persons."""
    rng = np.random.default_rng(seed)
    pts = np.arange(t) * stride / fps
    center = np.zeros((t, 2)) + 300 if motion is None else motion(pts)
    kp = center[:, None, None, :] + OFFS[None, None] + np.zeros((t, p, 1, 1))
    kp = kp + rng.normal(scale=noise, size=kp.shape) if noise else kp
    sc = np.full((t, p, K), 0.8)
    return kp.astype(np.float32), sc.astype(np.float32), np.ones((t, p), bool), pts


def refine(kp, sc, valid, pts, cfg=RefineConfig(), tid=None, **kw):  # noqa: B008
    restart = None if tid is None else track_restarts(tid)
    return refine_poses(kp, sc, valid, pts, cfg, restart=restart, **kw)


def sine(f, amp=60.0):
    return lambda t: np.stack([300 + amp * np.sin(2 * np.pi * f * t), 200 + 0 * t], axis=1)


@pytest.mark.parametrize("smoother", SMOOTHERS)
def test_still_pose_unchanged(smoother):
    kp, sc, valid, pts = video()
    r = refine(kp, sc, valid, pts, RefineConfig(smoother=smoother))
    np.testing.assert_allclose(r.keypoints, kp, atol=1e-3)
    np.testing.assert_array_equal(r.scores, sc)
    assert r.valid.all() and not r.rejected.any() and not r.filled.any()
    assert r.sample_period == pytest.approx(1 / 30)


@pytest.mark.parametrize("smoother", ["butterworth", "savgol", "gaussian"])
def test_slow_motion_passes_zero_phase(smoother):
    kp, sc, valid, pts = video(t=150, motion=sine(1.0))
    r = refine(kp, sc, valid, pts, RefineConfig(smoother=smoother))
    assert np.abs(r.keypoints - kp)[10:-10].max() < 0.02 * 60 * 2  # < 2% of the swing


def test_noise_reduced_by_the_butterworth_factor():
    kp, sc, valid, pts = video(t=3000, noise=2.0, seed=3)
    cfg = RefineConfig(outliers="none", smoother="butterworth", cutoff_hz=6.0)
    r = refine(kp, sc, valid, pts, cfg)
    _, h = sosfreqz(butter_sos(4, 6.0, 30.0), worN=1 << 14, fs=30.0)
    expected = math.sqrt(np.mean(np.abs(h) ** 4))  # zero-phase gain |H|^2, power |H|^4
    clean = video(t=3000)[0]
    ratio = (r.keypoints - clean)[50:-50].std() / (kp - clean)[50:-50].std()
    assert ratio == pytest.approx(expected, rel=0.05)


def test_gaps_up_to_n_filled_longer_not_with_flags_and_scores():
    kp, sc, valid, pts = video(t=60, motion=sine(0.5))
    truth = kp.copy()
    kp[10:13, 0, 1] = np.nan   # 3 missing: filled (max_gap_s 3 / 30)
    kp[30:34, 0, 1] = np.nan   # 4 missing: not filled
    valid[45:47] = False       # two dropped rows (SST-A filter): filled, row valid again
    cfg = RefineConfig(max_gap_s=3 / 30, smoother="none", filled_score_factor=0.5)
    r = refine(kp, sc, valid, pts, cfg)
    assert r.filled[10:13, 0, 1].all() and not r.filled[30:34, 0, 1].any()
    assert np.isnan(r.keypoints[30:34, 0, 1]).all() and (r.scores[30:34, 0, 1] == 0).all()
    assert r.filled[45:47, 0].all() and r.valid[45:47, 0].all()
    np.testing.assert_allclose(r.keypoints[10:13, 0, 1], truth[10:13, 0, 1], atol=0.5)
    np.testing.assert_allclose(r.scores[10:13, 0, 1], 0.4, atol=1e-6)
    assert r.filled.sum() == 3 + 2 * K


def test_no_extrapolation_at_track_ends():
    kp, sc, valid, pts = video(t=40)
    valid[:3] = valid[-3:] = False
    r = refine(kp, sc, valid, pts, RefineConfig(max_gap_s=10 / 30))
    assert not r.valid[:3].any() and not r.valid[-3:].any() and not r.filled.any()


@pytest.mark.parametrize("smoother", [s for s in SMOOTHERS if s != "none"])
def test_restart_is_neither_smoothed_nor_filled_across(smoother):
    kp, sc, valid, pts = video(t=80)
    tid = np.zeros((80, 1), np.int32)
    kp[40:] += 150.0          # another person from row 40 on
    tid[40:] = 7
    valid[38:42] = False      # and a short hole around the switch
    cfg = RefineConfig(smoother=smoother, max_gap_s=5 / 30)
    r = refine(kp, sc, valid, pts, cfg, tid)
    np.testing.assert_allclose(r.keypoints[:38], kp[:38], atol=1e-3)
    np.testing.assert_allclose(r.keypoints[42:], kp[42:], atol=1e-3)
    assert not r.filled.any() and not r.valid[38:42].any()
    r2 = refine(kp, sc, valid, pts, cfg)  # same data, no restart: filled and smoothed
    assert r2.filled[38:42].all()
    assert np.abs(r2.keypoints[42:46] - kp[42:46]).max() > 1.0


def test_spike_rejected_then_filled():
    kp, sc, valid, pts = video(t=60, motion=sine(0.7), noise=0.5, seed=5)
    truth = video(t=60, motion=sine(0.7))[0]
    kp[20, 0, 2] += [45, -30]
    r = refine(kp, sc, valid, pts, RefineConfig(smoother="none"))
    assert r.rejected[20, 0, 2] and r.filled[20, 0, 2]
    assert r.rejected.sum() == 1
    assert np.linalg.norm(r.keypoints[20, 0, 2] - truth[20, 0, 2]) < 3.0
    assert r.scores[20, 0, 2] == pytest.approx(0.4)


def test_rejected_joint_not_dragging_the_filter():
    """A 60 px spike: rejected and filled, it moves its neighbours far less than kept."""
    kp, sc, valid, pts = video(t=90, motion=sine(0.5), seed=1)
    truth = kp.copy()
    kp[45, 0, 0] += [60, 0]
    kept = refine(kp, sc, valid, pts, RefineConfig(outliers="none", max_speed=0.0))
    rej = refine(kp, sc, valid, pts, RefineConfig())
    assert rej.rejected[45, 0, 0] and not kept.rejected.any()
    err_kept = np.abs(kept.keypoints[40:51, 0, 0] - truth[40:51, 0, 0]).max()
    err_rej = np.abs(rej.keypoints[40:51, 0, 0] - truth[40:51, 0, 0]).max()
    assert err_kept > 10.0 and err_rej < 1.0


def test_stride_same_cutoff_in_hz():
    """Every 5th frame of the same motion: dt comes from pts, the cutoff stays in Hz."""
    cfg = RefineConfig(smoother="butterworth", cutoff_hz=2.0, outliers="none")
    full = video(t=300, motion=sine(0.4))
    strided = video(t=60, stride=5, motion=sine(0.4))
    rf = refine(*full, cfg)
    rs = refine(*strided, cfg)
    assert rs.sample_period == pytest.approx(5 / 30)
    np.testing.assert_allclose(rs.keypoints[5:-5], full[0][::5][5:-5], atol=0.6)
    np.testing.assert_allclose(rf.keypoints[25:-25:5], rs.keypoints[5:-5], atol=0.6)
    # a 2.5 Hz wobble sampled at 6 fps (below Nyquist 3 Hz) is cut as at 30 fps
    for stride, t in ((1, 300), (5, 60)):
        kp, sc, valid, pts = video(t=t, stride=stride, motion=sine(2.5, amp=10.0))
        r = refine(kp, sc, valid, pts, cfg)
        assert np.ptp(r.keypoints[5:-5, 0, 0, 0]) < 0.35 * np.ptp(kp[5:-5, 0, 0, 0])


def test_sampled_rows_expert_stride():
    """Poses every 5th row of a 30 fps axis: the empty rows are not samples, not holes."""
    cfg = RefineConfig(smoother="butterworth", cutoff_hz=2.0, outliers="none",
                       max_gap_s=5 / 30)
    kp, sc, valid, pts = video(t=300, motion=sine(2.5, amp=10.0))
    sampled = np.arange(300) % 5 == 0
    kp[~sampled] = np.nan
    sc[~sampled] = 0
    valid[~sampled] = False
    r = refine(kp, sc, valid, pts, cfg, sampled=sampled)
    alone = refine(kp[sampled], sc[sampled], valid[sampled], pts[sampled], cfg)
    assert r.sample_period == pytest.approx(5 / 30) and not r.filled.any()
    np.testing.assert_array_equal(r.keypoints[sampled], alone.keypoints)
    assert np.isnan(r.keypoints[~sampled]).all() and not r.valid[~sampled].any()
    every_row = refine(kp, sc, valid, pts, cfg)  # without `sampled`: 4-row holes filled
    assert every_row.filled[~sampled][1:-1].any()


def test_restart_on_a_row_that_is_not_sampled_still_splits():
    kp, sc, valid, pts = video(t=40)
    kp[21:] += 150.0
    restart = np.zeros((40, 1), bool)
    restart[21] = True  # row 21 is not sampled: the track restarts at row 22
    sampled = np.arange(40) % 2 == 0
    cfg = RefineConfig(max_gap_s=3 / 30)
    r = refine_poses(kp, sc, valid, pts, cfg, restart=restart, sampled=sampled)
    np.testing.assert_allclose(r.keypoints[sampled], kp[sampled], atol=1e-3)
    joined = refine_poses(kp, sc, valid, pts, cfg, sampled=sampled)
    assert np.abs(joined.keypoints[sampled] - kp[sampled]).max() > 1.0


def test_nan_aware_segments_filtered_separately():
    kp, sc, valid, pts = video(t=100, noise=1.0, seed=9)
    kp[40:60, 0, 0] = np.nan  # 20 missing: two segments
    r = refine(kp, sc, valid, pts, RefineConfig(max_gap_s=5 / 30))
    assert np.isnan(r.keypoints[40:60, 0, 0]).all()
    assert np.isfinite(r.keypoints[:40, 0, 0]).all() and np.isfinite(r.keypoints[60:, 0, 0]).all()
    assert r.valid.all()  # the other joints keep the rows valid


def test_shapes_and_pts_validated():
    kp, sc, valid, pts = video()
    with pytest.raises(ValueError, match="shapes"):
        refine_poses(kp, sc[:, :, :3], valid, pts)
    with pytest.raises(ValueError, match="shapes"):
        refine_poses(kp, sc, valid, pts, restart=np.zeros((5, 1), bool))
    with pytest.raises(ValueError, match="pts"):
        refine_poses(kp, sc, valid, np.zeros_like(pts))


def test_max_gap_in_seconds_counts_samples_at_any_rate():
    assert max_gap_samples(0.15, 1 / 30) == 4 and max_gap_samples(0.15, 1 / 25) == 3
    assert max_gap_samples(0.15, 5 / 30) == 0  # every 5th frame: no hole is short enough
    assert max_gap_samples(3 / 30, 1 / 30) == 3 and max_gap_samples(0.2, 0.2) == 1


def test_hampel_window_in_seconds():
    assert hampel_window(0.25, 1 / 30) == 7
    assert hampel_window(0.25, 1 / 25) == 7
    assert hampel_window(0.25, 1 / 60) == 15
    assert hampel_window(0.25, 5 / 30) == 1  # stride 5: too few samples, test skipped


def test_outlier_tests_at_stride_5():
    """Every 5th frame: the Hampel test is skipped, the speed-based spike test still runs."""
    kp, sc, valid, pts = video(t=40, stride=5, motion=sine(0.3), noise=0.5, seed=2)
    kp[20, 0, 1] += [100, 0]  # 0.83 person sizes away and back: 5 sizes/s each way
    off = RefineConfig(smoother="none", max_speed=0.0)
    assert not refine(kp, sc, valid, pts, off).rejected.any()
    r = refine(kp, sc, valid, pts, RefineConfig(smoother="none", max_speed=3.0))
    assert np.flatnonzero(r.rejected[:, 0, 1]).tolist() == [20] and r.rejected.sum() == 1
    assert not r.filled.any() and np.isnan(r.keypoints[20, 0, 1]).all()  # 1/6 s > 0.15 s
    r = refine(kp, sc, valid, pts, RefineConfig(smoother="none", max_speed=3.0, max_gap_s=0.2))
    assert r.rejected[20, 0, 1] and r.filled[20, 0, 1]


def test_persons_are_independent():
    kp1, sc1, valid1, pts = video(t=60, motion=sine(0.8), noise=1.0, seed=4)
    kp2, sc2, valid2, _ = video(t=60, motion=sine(0.3), noise=3.0, seed=6)
    valid2[10:30] = False
    both = refine(np.concatenate([kp1, kp2], 1), np.concatenate([sc1, sc2], 1),
                  np.concatenate([valid1, valid2], 1), pts)
    alone = refine(kp1, sc1, valid1, pts)
    np.testing.assert_array_equal(both.keypoints[:, :1], alone.keypoints)
    np.testing.assert_array_equal(both.scores[:, :1], alone.scores)


def test_kept_scores_unchanged_rejected_zero():
    kp, sc, valid, pts = video(t=60, motion=sine(0.7), noise=0.5, seed=5)
    sc = sc * np.linspace(0.5, 1.0, 60)[:, None, None].astype(np.float32)
    kp[20:28, 0, 2] = np.nan  # 8 missing
    kp[10, 0, 2] += [60, 60]  # a spike, rejected, then filled
    r = refine(kp, sc, valid, pts, RefineConfig(max_gap_s=5 / 30, smoother="none"))
    kept = ~r.rejected & ~r.filled & np.isfinite(kp).all(-1)
    np.testing.assert_array_equal(r.scores[kept], sc[kept])
    assert (r.scores[20:28, 0, 2] == 0).all()
    assert r.filled[10, 0, 2] and r.scores[10, 0, 2] == pytest.approx(0.5 * sc[10, 0, 2], 1e-3)


def test_single_row_and_empty_inputs():
    kp, sc, valid, pts = video(t=1)
    r = refine(kp, sc, valid, pts)
    np.testing.assert_array_equal(r.keypoints, kp)
    assert r.sample_period == 0.0
    kp, sc, valid, pts = video(t=10)
    valid[:] = False
    r = refine(kp, sc, valid, pts)
    assert not r.valid.any() and np.isnan(r.keypoints).all()


@settings(max_examples=40, derandomize=True, deadline=None)
@given(st.lists(st.booleans(), min_size=8, max_size=60), st.integers(0, 4),
       st.sampled_from(SMOOTHERS), st.lists(st.integers(1, 59), max_size=3))
def test_refine_invariants(mask, max_gap, smoother, restarts):
    t = len(mask)
    kp, sc, valid, pts = video(t=t, motion=sine(0.5), noise=1.0, seed=t)
    valid[:] = np.array(mask)[:, None]
    tid = np.zeros((t, 1), np.int32)
    for r0 in restarts:
        if r0 < t:
            tid[r0:] += 1
    r = refine(kp, sc, valid, pts, RefineConfig(max_gap_s=max_gap / 30, smoother=smoother), tid)
    ok = np.isfinite(r.keypoints).all(-1)
    assert (ok == (r.scores > 0)).all()
    kept = valid[..., None] & ~r.rejected
    assert not (r.filled & kept).any()  # only missing or rejected joints are filled
    assert (ok == (kept | r.filled)).all()
    pieces = piece_ids(track_restarts(tid[:, 0]))
    present = np.flatnonzero(valid[:, 0])
    for row in np.flatnonzero(r.filled[:, 0].any(-1)):
        left, right = present[present < row], present[present > row]
        assert left.size and right.size  # never extrapolated
        assert pieces[left[-1]] == pieces[right[0]]  # never across a restart
        assert right[0] - left[-1] - 1 <= max_gap
