"""Each geometry helper's semantics, pinned: degenerate inputs, missing joints, ties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posetools.errors import ShapeError
from posetools.geometry import box_iou, crop_region, greedy_match, keypoint_box, nms, oks
from posetools.skeletons import COCO17_SIGMAS

# ------------------------------------------------------------------------- box_iou


def test_box_iou_by_hand():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10], [3, 3, 3, 3]], np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0, 1, 0]])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 4)


def test_box_iou_degenerate_and_nan_boxes_give_zero():
    a = np.array([[0, 0, 0, 0], [np.nan, 0, 5, 5], [2, 2, 1, 1]])
    b = np.array([[0, 0, 10, 10], [0, 0, 0, 0]])
    assert (box_iou(a, b) == 0).all()


def test_box_iou_batched_equals_per_frame():
    rng = np.random.default_rng(0)
    lo = rng.uniform(0, 50, (3, 4, 2))
    a = np.concatenate([lo, lo + rng.uniform(1, 20, (3, 4, 2))], axis=-1)
    lo = rng.uniform(0, 50, (3, 5, 2))
    b = np.concatenate([lo, lo + rng.uniform(1, 20, (3, 5, 2))], axis=-1)
    batched = box_iou(a, b)
    assert batched.shape == (3, 4, 5)
    for t in range(3):
        np.testing.assert_array_equal(batched[t], box_iou(a[t], b[t]))


# ----------------------------------------------------------------------------- nms


def test_nms_keeps_highest_first_and_breaks_ties_by_input_order():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]])
    scores = np.array([0.5, 0.9, 0.5, 0.5])
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]  # box 0 and 3 suppressed by box 1
    assert nms(boxes, np.array([0.5, 0.5, 0.5, 0.5]), 0.99).tolist() == [0, 1, 2]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


# --------------------------------------------------------------------- keypoint_box


def test_keypoint_box_uses_present_joints_only_and_nan_when_none():
    kp = np.array([[[1.0, 2.0], [5.0, -1.0], [100.0, 100.0]],
                   [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]])
    present = np.array([[True, True, False], [False, False, False]])
    box = keypoint_box(kp, present)
    np.testing.assert_array_equal(box[0], [1, -1, 5, 2])
    assert np.isnan(box[1]).all()


def test_crop_region_clips_and_rejects_tiny_windows():
    assert crop_region(np.array([10, 10, 30, 50]), 100, 100, margin=1.0) == (10, 10, 30, 50)
    assert crop_region(np.array([-20, -20, 10, 10]), 100, 100, margin=1.0) == (0, 0, 10, 10)
    assert crop_region(np.array([99.6, 10, 100, 20]), 100, 100, margin=1.0) is None


# ----------------------------------------------------------------------------- oks


def test_oks_by_hand_with_explicit_area():
    kp = np.zeros((1, 17, 2))
    kp[0, :, 0] = np.arange(17) * 10
    other = kp.copy()
    other[0, 0, 0] += 2.0  # nose moved 2 px
    other[0, 1:, :] = np.nan  # only the nose is shared
    area = np.array([400.0])
    sigma = 0.026
    expected = np.exp(-4.0 / (2 * 400.0 * (2 * sigma) ** 2))
    np.testing.assert_allclose(oks(kp, other, area, COCO17_SIGMAS), [[expected]])
    np.testing.assert_allclose(oks(kp, kp, area, COCO17_SIGMAS), [[1.0]])
    nothing = np.full((1, 17, 2), np.nan)
    assert np.isnan(oks(kp, nothing, area, COCO17_SIGMAS)).all()


def test_oks_present_masks_override_finiteness():
    kp = np.zeros((1, 3, 2))
    other = np.zeros((1, 3, 2))
    other[0, 2] = 100.0  # far away, but masked out
    sig = np.full(3, 0.1)
    present_b = np.array([[True, True, False]])
    assert oks(kp, other, np.ones(1), sig, present_b=present_b)[0, 0] == 1.0
    assert oks(kp, other, np.ones(1), sig)[0, 0] < 1.0


def test_oks_shape_errors():
    with pytest.raises(ShapeError):
        oks(np.zeros((1, 3, 2)), np.zeros((1, 4, 2)), np.ones(1), np.ones(3))


# ---------------------------------------------------------------------- greedy_match


def test_greedy_match_threshold_and_one_to_one():
    sim = np.array([[[0.9, 0.8], [0.85, 0.1]]])
    assert greedy_match(sim, 0.3).tolist() == [[0, -1]]  # 0->0, then 1 has only 0.1
    assert greedy_match(sim, 0.05).tolist() == [[0, 1]]
    assert greedy_match(np.zeros((3, 0, 2)), 0.3).shape == (3, 0)


def test_greedy_match_ties_go_to_tie_key_then_lower_row_then_lower_column():
    sim = np.array([[0.5, 0.5], [0.5, 0.5]])
    assert greedy_match(sim, 0.1).tolist() == [0, 1]  # row 0 takes column 0
    assert greedy_match(sim, 0.1, tie=np.array([0.0, 1.0])).tolist() == [1, 0]
    col = np.array([[0.7], [0.7]])
    assert greedy_match(col, 0.1).tolist() == [0, -1]  # lower row wins


def test_greedy_match_never_matches_zero_or_nan_similarity():
    sim = np.array([[0.0, np.nan], [np.nan, 0.0]])
    assert greedy_match(sim, 0.0).tolist() == [-1, -1]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 5), st.integers(0, 5), st.integers(0, 2**31 - 1))
def test_greedy_match_equals_sorted_pair_greedy(n_a, n_b, seed):
    """The batched implementation equals the textbook greedy over sorted pairs."""
    rng = np.random.default_rng(seed)
    sim = np.round(rng.uniform(0, 1, (n_a, n_b)), 1)  # many ties
    tie = np.round(rng.uniform(0, 1, n_b), 1)
    want = np.full(n_a, -1)
    pairs = sorted((-sim[r, c], -tie[c], r, c) for r in range(n_a) for c in range(n_b)
                    if sim[r, c] > 0 and sim[r, c] >= 0.3)
    used_r, used_c = set(), set()
    for _, _, r, c in pairs:
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            want[r] = c
    assert greedy_match(sim, 0.3, tie=tie).tolist() == want.tolist()
