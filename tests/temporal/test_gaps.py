"""Gap repair: in time, inside segments only, never extrapolated, never across restarts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posetools.temporal.gaps import fill_gaps, interpolate


def line(pts):
    return np.stack([3.0 * pts + 1.0, -2.0 * pts + 5.0], axis=1)


@pytest.mark.parametrize("method", ["linear", "pchip"])
def test_linear_motion_filled_exactly_in_time(method):
    pts = np.array([0.0, 0.03, 0.07, 0.1, 0.16, 0.2, 0.23, 0.27])  # uneven rows
    x = line(pts)
    present = np.array([1, 1, 0, 0, 1, 0, 1, 1], bool)
    xin = np.where(present[:, None], x, np.nan)
    out, filled = fill_gaps(xin, present, pts, dt=0.035, max_gap=3, method=method)
    assert filled.tolist() == (~present).tolist()
    np.testing.assert_allclose(out, x, atol=1e-12)


@pytest.mark.parametrize("method", ["linear", "pchip"])
def test_gaps_up_to_n_filled_longer_not(method):
    t = 40
    pts = np.arange(t) / 30
    present = np.ones(t, bool)
    present[5:8] = False     # 3 missing: filled with max_gap=3
    present[15:19] = False   # 4 missing: not filled
    x = np.where(present[:, None], line(pts), np.nan)
    out, filled = fill_gaps(x, present, pts, 1 / 30, 3, method=method)
    assert filled[5:8].all() and not filled[15:19].any()
    assert np.isnan(out[15:19]).all()
    assert filled.sum() == 3


def test_no_extrapolation_past_the_ends():
    pts = np.arange(12) / 25
    present = np.zeros(12, bool)
    present[3:9] = True
    present[5] = False
    x = np.where(present[:, None], line(pts), np.nan)
    out, filled = fill_gaps(x, present, pts, 1 / 25, 5)
    assert filled.tolist() == [i == 5 for i in range(12)]
    assert np.isnan(out[:3]).all() and np.isnan(out[9:]).all()


def test_never_across_a_restart():
    pts = np.arange(10) / 30
    present = np.ones(10, bool)
    present[4:6] = False
    restart = np.zeros(10, bool)
    restart[5] = True  # the track restarts inside the hole
    x = np.where(present[:, None], line(pts), np.nan)
    out, filled = fill_gaps(x, present, pts, 1 / 30, 5, restart=restart)
    assert not filled.any() and np.isnan(out[4:6]).all()


def test_stride_counts_samples_not_frames():
    pts = np.arange(0, 60, 5) / 30.0  # every 5th frame
    present = np.ones(pts.size, bool)
    present[4:6] = False  # 2 missing samples = 10 video frames
    x = np.where(present[:, None], line(pts), np.nan)
    _, filled = fill_gaps(x, present, pts, 5 / 30, 2)
    assert filled.sum() == 2
    _, filled = fill_gaps(x, present, pts, 5 / 30, 1)
    assert filled.sum() == 0


def test_pchip_no_overshoot_and_better_on_smooth_motion():
    pts = np.arange(60) / 30
    truth = np.sin(2 * np.pi * 0.7 * pts)[:, None]
    present = np.ones(60, bool)
    present[10:16] = False
    present[30:36] = False
    x = np.where(present[:, None], truth, np.nan)
    lin, _ = fill_gaps(x, present, pts, 1 / 30, 6, method="linear")
    pch, _ = fill_gaps(x, present, pts, 1 / 30, 6, method="pchip")
    assert np.abs(pch - truth).max() < np.abs(lin - truth).max()
    step = np.r_[np.zeros(10), np.ones(10)][:, None]  # a step: pchip stays within [0, 1]
    pres = np.ones(20, bool)
    pres[8:12] = False
    out, _ = fill_gaps(np.where(pres[:, None], step, np.nan), pres, np.arange(20.0), 1.0, 4,
                       method="pchip")
    assert out.min() >= 0 and out.max() <= 1


def test_interpolate_rejects_outside_and_unknown():
    out = interpolate(np.array([0.0, 1.0]), np.array([[0.0], [2.0]]), np.array([-1, 0.5, 2]))
    assert np.isnan(out[0, 0]) and out[1, 0] == 1 and np.isnan(out[2, 0])
    with pytest.raises(ValueError, match="method"):
        interpolate(np.arange(3.0), np.zeros((3, 1)), np.array([1.0]), "cubic")  # type: ignore


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.booleans(), min_size=2, max_size=50), st.integers(0, 5))
def test_fill_invariants(mask, max_gap):
    present = np.array(mask)
    pts = np.arange(present.size) / 30
    x = np.where(present[:, None], line(pts), np.nan)
    out, filled = fill_gaps(x, present, pts, 1 / 30, max_gap)
    assert not (filled & present).any()
    np.testing.assert_array_equal(out[present], x[present])
    np.testing.assert_allclose(out[filled], line(pts)[filled], atol=1e-9)
    idx = np.flatnonzero(present)
    for r in np.flatnonzero(~present):
        left, right = idx[idx < r], idx[idx > r]
        should = left.size and right.size and right[0] - left[-1] - 1 <= max_gap
        assert filled[r] == bool(should)
