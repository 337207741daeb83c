"""Outlier tests: known spikes found, clean motion (ramps, still joints, ends) never flagged."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posetools.temporal.outliers import hampel_mask, person_size, spike_mask


def smooth_track(n=90, fps=30.0):
    t = np.arange(n) / fps
    return t, np.stack([300 + 80 * np.sin(2 * np.pi * 0.8 * t), 200 + 40 * t], axis=1)


def test_hampel_finds_isolated_spikes_only():
    t, x = smooth_track()
    noisy = x + np.random.default_rng(0).normal(scale=1.0, size=x.shape)
    spikes = [10, 11, 40, 70]  # two adjacent ones too
    noisy[spikes] += [[35, -20], [30, -25], [-40, 0], [0, 50]]
    m = hampel_mask(noisy, 7, 3.0, min_dev=6.0)
    assert np.flatnonzero(m).tolist() == spikes


@pytest.mark.parametrize("speed", [0.0, 50.0, 2000.0])
def test_hampel_linear_motion_never_flagged_even_at_the_ends(speed):
    t = np.arange(40) / 30
    x = np.stack([speed * t, -0.5 * speed * t], axis=1)
    assert not hampel_mask(x, 7, 3.0, min_dev=0.0).any()


def test_hampel_floor_protects_still_clean_joints():
    x = 100 + np.random.default_rng(1).normal(scale=0.3, size=(200, 2))
    assert hampel_mask(x, 7, 3.0, min_dev=0.0).sum() > 0   # sub-pixel noise vs MAD ~ 0
    assert not hampel_mask(x, 7, 3.0, min_dev=3.0).any()   # with a 3 px floor: none


def test_hampel_nan_ignored_short_and_bad_window():
    x = np.array([[0.0, 0], [1, 1], [np.nan, np.nan], [3, 3], [40, 40], [5, 5], [6, 6]])
    m = hampel_mask(x, 5, 3.0)
    assert not m[2] and m[4]
    assert not hampel_mask(np.zeros((2, 2)), 7).any()
    with pytest.raises(ValueError, match="window"):
        hampel_mask(x, 4)


def test_spike_mask_jump_and_back_only():
    t = np.arange(20) / 30
    x = np.zeros((20, 2))
    x[5] = [30, 0]          # out and back: spike
    x[12:] = [[0, 40]] * 8  # a step (person moved / expert switch): not a spike
    m = spike_mask(x, t, max_speed=300.0)
    assert np.flatnonzero(m).tolist() == [5]
    fast = np.stack([np.arange(20) * 40.0, np.zeros(20)], axis=1)  # fast but straight
    assert not spike_mask(fast, t, 300.0).any()


def test_person_size_per_piece():
    kp = np.zeros((6, 3, 2))
    kp[:, 1] = [10, 50]
    kp[:3, 2] = [40, 0]   # box 40 x 50 -> 50
    kp[3:, 2] = [100, 0]  # box 100 x 50 -> 100
    present = np.ones((6, 3), bool)
    size = person_size(kp, present, np.array([0, 0, 0, 1, 1, 1]))
    assert size.tolist() == [50] * 3 + [100] * 3
    present[3:, 1:] = False  # second piece unmeasurable: takes the others' median
    assert person_size(kp, present, np.array([0, 0, 0, 1, 1, 1])).tolist() == [50] * 6
    assert np.isnan(person_size(kp, np.zeros((6, 3), bool))).all()


@settings(max_examples=40, derandomize=True, deadline=None)
@given(st.integers(1, 6), st.floats(20, 200))
def test_hampel_spike_detected_for_any_position(pos_frac, height):
    t, x = smooth_track(60)
    i = 1 + (pos_frac * 9) % 58  # interior samples only
    x[i, 0] += height
    m = hampel_mask(x, 7, 3.0, min_dev=10.0)
    assert m[i] and m.sum() == 1
