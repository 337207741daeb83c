"""Numeric reference tests of posetools.heatmaps (rendering and crop)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from posetools.errors import ShapeError
from posetools.heatmaps import (
    CropBox,
    channel_flip_permutation,
    channel_names,
    compute_crop,
    render_heatmaps,
)
from posetools.skeletons import COCO17
from tests.support.heatmap_fixtures import walking_sequence
from tests.support.heatmap_reference import reference_heatmaps


def one_joint(x, y, score=1.0, k=1):
    kp = np.full((1, 1, k, 2), np.nan, np.float32)
    sc = np.zeros((1, 1, k), np.float32)
    kp[0, 0, 0] = (x, y)
    sc[0, 0, 0] = score
    return kp, sc


def grid_dist(size, x, y):
    jj, ii = np.mgrid[0:size, 0:size]
    return np.hypot(ii - x, jj - y)


def seg_dist(size, a, b):
    jj, ii = np.mgrid[0:size, 0:size].astype(np.float64)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = b - a
    t = np.clip(((ii - a[0]) * d[0] + (jj - a[1]) * d[1]) / (d @ d), 0, 1)
    return np.hypot(ii - (a[0] + t * d[0]), jj - (a[1] + t * d[1]))


def test_single_joint_peak_value_and_position():
    kp, sc = one_joint(20, 30, 0.8)
    h = render_heatmaps(kp, sc, size=56, sigma=0.6)
    assert h.shape == (1, 1, 56, 56) and h.dtype == np.float32
    assert np.unravel_index(h[0, 0].argmax(), (56, 56)) == (30, 20)  # row y, column x
    assert h[0, 0, 30, 20] == pytest.approx(0.8, abs=1e-7)
    # off-grid centre: value is the Gaussian of the true distance
    kp, sc = one_joint(20.3, 30.6, 0.8)
    h = render_heatmaps(kp, sc, size=56, sigma=1.5)
    assert h[0, 0, 31, 20] == pytest.approx(0.8 * math.exp(-(0.09 + 0.16) / 4.5), rel=1e-6)
    assert np.unravel_index(h[0, 0].argmax(), (56, 56)) == (31, 20)


def test_sigma_sets_the_width():
    for sigma in (0.6, 1.0, 2.5):
        kp, sc = one_joint(28, 28)
        h = render_heatmaps(kp, sc, size=56, sigma=sigma)[0, 0]
        d = np.arange(0, int(3 * sigma) + 1)
        np.testing.assert_allclose(h[28, 28 + d], np.exp(-(d**2) / (2 * sigma**2)), rtol=1e-6)
        # second moment of the map recovers sigma (the 3-sigma cut barely changes it)
        w = h / h.sum()
        jj, ii = np.mgrid[0:56, 0:56]
        est = math.sqrt((w * (ii - 28.0) ** 2).sum())
        assert est == pytest.approx(sigma, rel=0.05 if sigma > 0.8 else 0.25)


def test_three_sigma_cut_off_is_exact_zero():
    sigma = 1.7
    kp, sc = one_joint(25.37, 19.81, 0.9)
    h = render_heatmaps(kp, sc, size=56, sigma=sigma)[0, 0]
    dist = grid_dist(56, 25.37, 19.81)
    assert (h[dist > 3 * sigma + 1e-4] == 0).all()
    assert (h[dist < 3 * sigma - 1e-4] > 0).all()
    inside = dist <= 3 * sigma
    np.testing.assert_allclose(h[inside], 0.9 * np.exp(-dist[inside] ** 2 / (2 * sigma**2)),
                               rtol=1e-5)


def test_limb_distance_profile():
    sigma = 1.5
    kp = np.full((1, 1, 2, 2), np.nan, np.float32)
    kp[0, 0] = [(10, 20), (30, 20)]
    sc = np.array([[[0.9, 0.6]]], np.float32)
    h = render_heatmaps(kp, sc, size=56, sigma=sigma, joints=False, limbs=[(0, 1)])
    assert h.shape == (1, 1, 56, 56)
    m = h[0, 0]
    d = np.arange(0, 8)
    expect = np.where(d <= 3 * sigma, 0.6 * np.exp(-(d**2) / (2 * sigma**2)), 0)
    np.testing.assert_allclose(m[20 + d, 20], expect, rtol=1e-6, atol=0)  # across the middle
    np.testing.assert_allclose(m[20, 30 + d], expect, rtol=1e-6, atol=0)  # beyond an end
    np.testing.assert_allclose(m[20, 10:31], 0.6, rtol=1e-6)  # constant along the segment
    # a diagonal limb against the exact float64 distance to the segment
    kp[0, 0] = [(7.3, 40.2), (41.6, 12.9)]
    m = render_heatmaps(kp, sc, size=56, sigma=sigma, joints=False, limbs=[(0, 1)])[0, 0]
    dist = seg_dist(56, (7.3, 40.2), (41.6, 12.9))
    inside = dist < 3 * sigma - 1e-4
    np.testing.assert_allclose(m[inside], 0.6 * np.exp(-dist[inside] ** 2 / (2 * sigma**2)),
                               rtol=1e-4)
    assert (m[dist > 3 * sigma + 1e-4] == 0).all()


def test_sub_pixel_limb_is_a_point():
    kp = np.full((1, 1, 2, 2), np.nan, np.float32)
    kp[0, 0] = [(20.0, 20.0), (20.5, 20.3)]
    sc = np.array([[[0.9, 0.4]]], np.float32)
    limb = render_heatmaps(kp, sc, size=40, sigma=1.0, joints=False, limbs=[(0, 1)])
    point = render_heatmaps(kp[:, :, :1], np.array([[[0.4]]], np.float32), size=40, sigma=1.0)
    np.testing.assert_allclose(limb, point, rtol=1e-6)


def test_persons_merge_by_max():
    rng = np.random.default_rng(1)
    kp = rng.uniform(5, 25, (3, 2, 4, 2)).astype(np.float32)
    sc = rng.uniform(0.2, 1, (3, 2, 4)).astype(np.float32)
    both = render_heatmaps(kp, sc, size=32, sigma=2.0, limbs=[(0, 1), (2, 3)])
    each = [render_heatmaps(kp[:, p:p + 1], sc[:, p:p + 1], size=32, sigma=2.0,
                            limbs=[(0, 1), (2, 3)]) for p in range(2)]
    np.testing.assert_array_equal(both, np.maximum(*each))
    overlap = (each[0] > 0) & (each[1] > 0)
    assert overlap.any()  # the persons do overlap, so max differs from sum there
    assert (both[overlap] < (each[0] + each[1])[overlap]).all()


def test_joints_and_limbs_give_k_plus_l_channels():
    kp, sc, valid = walking_sequence(4, persons=1)
    grid = compute_crop(kp, sc, valid).to_grid(kp, 56)
    limbs = COCO17.limbs
    both = render_heatmaps(grid, sc, size=56, sigma=0.6, limbs=limbs, valid=valid)
    joints = render_heatmaps(grid, sc, size=56, sigma=0.6, valid=valid)
    only_limbs = render_heatmaps(grid, sc, size=56, sigma=0.6, joints=False, limbs=limbs,
                                 valid=valid)
    assert both.shape == (4, 17 + len(limbs), 56, 56)
    np.testing.assert_array_equal(both[:, :17], joints)  # joints not overwritten by limbs
    np.testing.assert_array_equal(both[:, 17:], only_limbs)
    assert channel_names(COCO17, joints=True, limbs=True)[17] == "left_eye-right_eye"


def test_missing_and_invalid_joints_contribute_nothing():
    kp = np.array([[[[10, 10], [np.nan, 5], [20, 20]]]], np.float32)
    sc = np.array([[[0.0, 0.9, 0.00005]]], np.float32)
    h = render_heatmaps(kp, sc, size=32, sigma=1.0, limbs=[(0, 1), (0, 2)])
    assert not h.any()
    kp, sc = one_joint(10, 10, 0.7)
    assert not render_heatmaps(kp, sc, size=32, sigma=1.0, valid=np.zeros((1, 1), bool)).any()
    far, sc = one_joint(-10, 70, 1.0)  # outside the grid: nothing, no error
    assert not render_heatmaps(far, sc, size=32, sigma=1.0).any()


def test_use_score_false_gives_unit_peaks():
    kp, sc = one_joint(12, 9, 0.3)
    h = render_heatmaps(kp, sc, size=24, sigma=1.0, use_score=False)
    assert h.max() == pytest.approx(1.0)


def test_matches_per_joint_loop_reference():
    rng = np.random.default_rng(7)
    for size, sigma in ((56, 0.6), (30, 1.0), (64, 2.3)):
        kp = rng.uniform(-5, size + 5, (5, 3, 17, 2)).astype(np.float32)
        sc = rng.uniform(0, 1, (5, 3, 17)).astype(np.float32)
        sc[sc < 0.15] = 0
        kp[rng.random((5, 3, 17)) < 0.1] = np.nan
        valid = rng.random((5, 3)) < 0.8
        kw = dict(size=size, sigma=sigma, limbs=COCO17.limbs, valid=valid)
        fast = render_heatmaps(kp, sc, **kw)
        ref = reference_heatmaps(kp, sc, **kw)
        assert np.abs(fast - ref).max() <= 1e-5
        assert ((fast > 0) == (ref > 0)).all()


def test_output_dtype_cast_at_the_end():
    kp, sc = one_joint(8.4, 8.9, 0.77)
    h32 = render_heatmaps(kp, sc, size=16, sigma=1.0)
    h16 = render_heatmaps(kp, sc, size=16, sigma=1.0, dtype=np.float16)
    assert h16.dtype == np.float16
    np.testing.assert_array_equal(h16, h32.astype(np.float16))


def test_flip_permutation_mirrors_channels():
    kp, sc, valid = walking_sequence(2, persons=1, seed=3)
    grid = compute_crop(kp, sc, valid).to_grid(kp, 40)
    perm = COCO17.flip_permutation()
    flipped = grid[:, :, perm].copy()
    flipped[..., 0] = 39 - flipped[..., 0]
    kw = dict(size=40, sigma=1.2, limbs=COCO17.limbs)
    a = render_heatmaps(flipped, sc[:, :, perm], **kw)
    b = render_heatmaps(grid, sc, **kw)[:, channel_flip_permutation(COCO17, limbs=True), :, ::-1]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_bad_arguments():
    kp, sc = one_joint(1, 1)
    with pytest.raises(ValueError, match="sigma: must be > 0"):
        render_heatmaps(kp, sc, size=8, sigma=0)
    with pytest.raises(ShapeError):
        render_heatmaps(kp[0], sc[0], size=8, sigma=1)
    with pytest.raises(ShapeError):
        render_heatmaps(kp, sc, size=8, sigma=1, limbs=[(0, 3)])


# -------------------------------------------------------------------------- crop
def test_crop_is_the_padded_union_box():
    kp = np.full((3, 2, 2, 2), np.nan, np.float32)
    kp[0, 0] = [(100, 50), (140, 130)]
    kp[2, 1] = [(60, 90), (120, 200)]  # union: x 60..140, y 50..200
    sc = np.where(np.isnan(kp[..., 0]), 0, 1).astype(np.float32)
    box = compute_crop(kp, sc, frame_size=(640, 480), square=False)
    assert box.as_array() == pytest.approx([100 - 50, 125 - 93.75, 100 + 50, 125 + 93.75])
    sq = compute_crop(kp, sc, frame_size=(640, 480), square=True)
    assert sq.width == pytest.approx(187.5) and sq.height == pytest.approx(187.5)
    assert ((sq.x0 + sq.x1) / 2, (sq.y0 + sq.y1) / 2) == pytest.approx((100, 125))
    # invalid persons and low scores are ignored
    sc[2, 1] = 0
    assert compute_crop(kp, sc, square=False).as_array() == pytest.approx(
        [120 - 25, 90 - 50, 120 + 25, 90 + 50])


def test_crop_falls_back_to_the_full_frame():
    kp = np.array([[[[100, 100], [105, 160]]]], np.float32)  # 5 px wide < min_size 10
    sc = np.ones((1, 1, 2), np.float32)
    assert compute_crop(kp, sc, frame_size=(640, 480), square=False).as_array() == \
        pytest.approx([0, 0, 640, 480])
    assert compute_crop(kp, sc, frame_size=(640, 480), square=True).as_array() == \
        pytest.approx([0, -80, 640, 560])
    nobody = np.full((2, 1, 2, 2), np.nan, np.float32)
    assert compute_crop(nobody, np.zeros((2, 1, 2), np.float32), frame_size=(320, 240),
                        square=False).as_array() == pytest.approx([0, 0, 320, 240])
    # no frame size (normalized coordinates): the box grows to min_size
    box = compute_crop(kp, sc, square=False, min_size=10)
    assert box.width == pytest.approx(10) and box.height == pytest.approx(60 * 1.25)


def test_crop_scale_round_trip():
    kp, sc, valid = walking_sequence(20, persons=2, seed=5)
    box = compute_crop(kp, sc, valid, frame_size=(640, 480))
    for size in (30, 56, 112):
        grid = box.to_grid(kp, size)
        ok = np.isfinite(kp)
        inside = grid[ok]
        assert inside.min() >= -1e-3 and inside.max() <= size + 1e-3
        np.testing.assert_allclose(box.to_source(grid, size)[ok], kp[ok], atol=1e-3)
        sx, sy = box.scale(size)
        assert sx == pytest.approx(size / box.width) and sy == pytest.approx(size / box.height)
    assert CropBox.from_array(box.as_array()) == box
    with pytest.raises(ValueError):
        CropBox(0, 0, 0, 5)


def test_numpy_module_does_not_import_torch():
    import subprocess

    code = "import sys, posetools.heatmaps; print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"
