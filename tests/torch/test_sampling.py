"""Clip sampling: UniformSampleFrames semantics and fixed windows."""

from __future__ import annotations

import numpy as np
import pytest

from posetools.torch.sampling import fixed_windows, uniform_sample_frames


def test_long_video_one_frame_per_segment():
    rng = np.random.default_rng(0)
    for _ in range(20):
        pos = uniform_sample_frames(100, 10, rng=rng)
        assert pos.shape == (1, 10)
        seg = np.arange(11) * 100 // 10
        assert ((pos[0] >= seg[:-1]) & (pos[0] < seg[1:])).all()


def test_medium_video_keeps_order_and_skips_some():
    rng = np.random.default_rng(1)
    for _ in range(20):
        pos = uniform_sample_frames(15, 10, rng=rng)[0]
        step = np.diff(pos)
        assert ((step == 1) | (step == 2)).all() and pos[0] in (0, 1) and pos[-1] <= 14
        assert len(set(pos.tolist())) == 10


def test_short_video_loops():
    pos = uniform_sample_frames(4, 10, rng=np.random.default_rng(2))[0]
    assert pos.tolist() == [(pos[0] + i) % 4 for i in range(10)]
    test = uniform_sample_frames(4, 6, num_clips=3, test_mode=True)
    assert test[:, 0].tolist() == [0, 1, 2]  # evenly spread starts (fewer frames than clips)


def test_test_mode_is_deterministic_and_train_mode_varies():
    a = uniform_sample_frames(300, 48, num_clips=10, test_mode=True)
    b = uniform_sample_frames(300, 48, num_clips=10, test_mode=True)
    np.testing.assert_array_equal(a, b)
    assert len({tuple(c) for c in a.tolist()}) > 1  # clips differ from each other
    rng = np.random.default_rng(3)
    draws = {tuple(uniform_sample_frames(300, 48, rng=rng)[0].tolist()) for _ in range(5)}
    assert len(draws) > 1
    with pytest.raises(ValueError):
        uniform_sample_frames(0, 8)


def test_fixed_windows_cover_every_frame():
    assert fixed_windows(10, 4).tolist() == [0, 4, 8]
    assert fixed_windows(10, 4, 3).tolist() == [0, 3, 6]
    assert fixed_windows(8, 4).tolist() == [0, 4]
    assert fixed_windows(3, 16).tolist() == [0]
    assert fixed_windows(0, 4).tolist() == []
    for n, w, s in ((37, 8, 5), (100, 16, 16), (5, 2, 1)):
        covered = {int(st) + i for st in fixed_windows(n, w, s) for i in range(w)}
        assert set(range(n)) <= covered
