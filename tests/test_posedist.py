"""Pose distances and negative sets (numpy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posetools.errors import ShapeError
from posetools.posedist import iter_pose_distance_blocks, negative_mask, pose_distance_matrix


def random_poses(seed: int, t: int, k: int = 5, p_missing: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.normal(size=(t, k, 2)).astype(np.float32)
    p[rng.random((t, k)) < p_missing] = np.nan
    return p


def brute(p: np.ndarray) -> np.ndarray:
    t = p.shape[0]
    d = np.zeros((t, t))
    for i in range(t):
        for j in range(t):
            if i == j:
                continue
            both = np.isfinite(p[i]).all(-1) & np.isfinite(p[j]).all(-1)
            d[i, j] = (np.linalg.norm(p[i, both] - p[j, both], axis=-1).mean() if both.any()
                       else np.inf)
    return d


def test_hand_worked_distance():
    a = np.array([[0, 0], [0, 0], [np.nan, np.nan]], np.float32)
    b = np.array([[3, 4], [0, 1], [5, 5]], np.float32)
    d = pose_distance_matrix(np.stack([a, b]))
    assert d[0, 1] == pytest.approx((5 + 1) / 2)  # joint 2 is missing in a: ignored
    assert d[0, 0] == 0 and d[1, 1] == 0


def test_no_common_joint_is_infinitely_far_and_negative():
    a = np.array([[0, 0], [np.nan, np.nan]], np.float32)
    b = np.array([[np.nan, np.nan], [0, 0]], np.float32)
    empty = np.full((2, 2), np.nan, np.float32)
    p = np.stack([a, b, empty])
    d = pose_distance_matrix(p)
    assert math.isinf(d[0, 1]) and math.isinf(d[2, 0]) and d[2, 2] == 0
    assert negative_mask(p, 1e9).tolist() == [[False, True, True], [True, False, True],
                                               [True, True, False]]


def test_valid_mask_excludes_joints():
    p = np.array([[[0, 0], [10, 0]], [[0, 0], [0, 0]]], np.float32)
    assert pose_distance_matrix(p)[0, 1] == pytest.approx(5.0)
    valid = np.array([[True, False], [True, True]])
    assert pose_distance_matrix(p, valid)[0, 1] == 0.0


def test_matches_brute_force():
    p = random_poses(0, 23)
    np.testing.assert_allclose(pose_distance_matrix(p), brute(p), rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 40), st.integers(1, 7), st.integers(1, 9),
       st.integers(1, 11))
def test_symmetric_zero_diagonal_blockwise_equals_dense(seed, t, k, block, col_block):
    p = random_poses(seed, t, k)
    dense = pose_distance_matrix(p, block=10_000, col_block=10_000)
    np.testing.assert_array_equal(dense, dense.T)
    assert (np.diag(dense) == 0).all()
    np.testing.assert_array_equal(pose_distance_matrix(p, block=block, col_block=col_block),
                                  dense)
    rows = np.random.default_rng(seed).permutation(t)[: max(1, t // 2)]
    np.testing.assert_array_equal(
        pose_distance_matrix(p, rows=rows, block=block, col_block=col_block), dense[rows])
    delta = float(np.nanmedian(np.where(np.isinf(dense), np.nan, dense))) if t > 1 else 0.0
    if np.isnan(delta):
        delta = 0.0
    neg = negative_mask(p, delta, rows=rows, block=block, col_block=col_block)
    want = dense[rows] >= delta
    want[np.arange(rows.size), rows] = False
    np.testing.assert_array_equal(neg, want)


def test_delta_zero_is_the_vanilla_set():
    p = random_poses(1, 17)
    p[3] = p[4]  # identical poses are still negatives at delta = 0
    neg = negative_mask(p, 0.0)
    np.testing.assert_array_equal(neg, ~np.eye(17, dtype=bool))


def test_larger_delta_shrinks_the_set():
    p = random_poses(2, 30)
    d = pose_distance_matrix(p)
    lo, hi = np.quantile(d[~np.eye(30, dtype=bool)], [0.25, 0.75])
    n1 = negative_mask(p, float(lo)).sum()
    n2 = negative_mask(p, float(hi)).sum()
    assert n2 < n1 < 30 * 29
    assert n1 == ((d >= lo) & ~np.eye(30, dtype=bool)).sum()


def test_rows_variants_and_iteration():
    p = random_poses(3, 12)
    dense = pose_distance_matrix(p)
    mask = np.zeros(12, bool)
    mask[[1, 5, 7]] = True
    np.testing.assert_array_equal(pose_distance_matrix(p, rows=mask), dense[[1, 5, 7]])
    np.testing.assert_array_equal(pose_distance_matrix(p, rows=slice(2, 6)), dense[2:6])
    np.testing.assert_array_equal(pose_distance_matrix(p, rows=[-1]), dense[[11]])
    got = np.concatenate([d for _, d in iter_pose_distance_blocks(p, block=5)])
    np.testing.assert_array_equal(got, dense)
    assert [r.tolist() for r, _ in iter_pose_distance_blocks(p, block=5)][-1] == [10, 11]


def test_errors():
    with pytest.raises(ShapeError):
        pose_distance_matrix(np.zeros((3, 4)))
    with pytest.raises(ShapeError):
        pose_distance_matrix(np.zeros((3, 4, 2)), np.ones((3, 5), bool))
    with pytest.raises(ShapeError):
        pose_distance_matrix(np.zeros((3, 4, 2)), rows=[3])
    with pytest.raises(ValueError):
        negative_mask(np.zeros((3, 4, 2)), -1.0)
    assert pose_distance_matrix(np.zeros((0, 4, 2))).shape == (0, 0)
