"""``style: mmaction2``: crop and rendering equal mmaction2 1.2.0 (numpy >= 2) to <= 1e-6.

Three references: outputs of the real mmaction2 stored in ``data/`` (from keypoints
of the shared videos, plus synthetic edge cases), the plain loop model
``tests/support/mmaction2_reference.py`` (checked against those outputs first), and
hand-computed values for the behaviours the issue names (square windows, the extra
low-side row/column, the start joint's score, the integer crop).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from posetools.heatmaps import (
    compute_compact_crop,
    render_heatmaps,
    render_heatmaps_mmaction2,
)
from posetools.skeletons import COCO17
from tests.support import mmaction2_reference as ref

DATA = np.load(Path(__file__).parent / "data" / "mmaction2_1.2.0_reference.npz")
CLIPS = sorted({k.split("/")[0] for k in DATA.files if "/" in k and not k.startswith("edge")})
SETTINGS = (("s64_sig0.6", 64, 0.6), ("s30_sig1", 30, 1.0))
EDGE = (("s64_sig0.6", 64, 0.6, True), ("s40_sig0.37", 40, 0.37, True),
        ("s32_sig2", 32, 2.0, False))
MM_LIMBS = [tuple(v) for v in DATA["limbs"]]
TOL = 1e-6


def clip(name):
    return {k.split("/", 1)[1]: DATA[k] for k in DATA.files if k.startswith(name + "/")}


def to_tp(a):
    """mmaction2 (M, T, ...) -> posetools (T, P, ...)."""
    return np.ascontiguousarray(np.swapaxes(a, 0, 1))


def render_clip(d, size, sigma, *, limbs):
    h, w = (int(v) for v in d["img_shape"])
    kp, sc, valid = d["src_keypoints"], d["src_scores"], d["src_valid"]
    crop = compute_compact_crop(kp, sc, valid, frame_size=(w, h), size=size)
    grid = crop.to_grid(kp)
    out = render_heatmaps_mmaction2(grid, sc, size=size, sigma=sigma, joints=not limbs,
                                    limbs=MM_LIMBS if limbs else (), valid=valid)
    return crop, grid, out


# ------------------------------------------------------- the oracle is mmaction2
@pytest.mark.parametrize("name", CLIPS)
def test_the_loop_model_reproduces_stored_mmaction2_outputs(name):
    d = clip(name)
    mk, ms = ref.to_mmaction2(d["src_keypoints"], d["src_scores"], d["src_valid"])
    h, w = (int(v) for v in d["img_shape"])
    for tag, size, sigma in SETTINGS:
        grid, box = ref.val_pipeline_grid(mk, (h, w), size)
        np.testing.assert_array_equal(grid, d[f"{tag}_grid_keypoint"])
        n = len(d[f"{tag}_joints"])
        j = ref.generate_pose_target(grid[:, :n], ms[:, :n], size, sigma)
        lb = ref.generate_pose_target(grid[:, :n], ms[:, :n], size, sigma, joints=False,
                                      limbs=MM_LIMBS)
        np.testing.assert_array_equal(j, d[f"{tag}_joints"])
        np.testing.assert_array_equal(lb, d[f"{tag}_limbs"])


@pytest.mark.parametrize("tag, size, sigma, limbs", EDGE)
def test_the_loop_model_reproduces_mmaction2_edge_cases(tag, size, sigma, limbs):
    kp, sc = DATA[f"edge/{tag}_keypoint"], DATA[f"edge/{tag}_keypoint_score"]
    np.testing.assert_array_equal(ref.generate_pose_target(kp, sc, size, sigma),
                                  DATA[f"edge/{tag}_joints"])
    if limbs:
        np.testing.assert_array_equal(
            ref.generate_pose_target(kp, sc, size, sigma, joints=False, limbs=MM_LIMBS),
            DATA[f"edge/{tag}_limbs"])


# ------------------------------------------------- posetools against mmaction2
@pytest.mark.parametrize("name", CLIPS)
def test_compact_crop_and_render_equal_mmaction2(name):
    d = clip(name)
    present = (d["src_scores"] > 0) & d["src_valid"][..., None]
    for tag, size, sigma in SETTINGS:
        crop, grid, joints = render_clip(d, size, sigma, limbs=False)
        _, _, limbs = render_clip(d, size, sigma, limbs=True)
        assert crop.box == tuple(int(v) for v in d["compact_box"])
        assert crop.compacted == bool(d["compacted"])
        np.testing.assert_array_equal(grid[present], to_tp(d[f"{tag}_grid_keypoint"])[present])
        n = len(d[f"{tag}_joints"])
        assert np.abs(joints[:n] - d[f"{tag}_joints"]).max() <= TOL
        assert np.abs(limbs[:n] - d[f"{tag}_limbs"]).max() <= TOL


@pytest.mark.parametrize("tag, size, sigma, limbs", EDGE)
def test_renderer_equals_mmaction2_on_edge_cases(tag, size, sigma, limbs):
    kp, sc = to_tp(DATA[f"edge/{tag}_keypoint"]), to_tp(DATA[f"edge/{tag}_keypoint_score"])
    got = render_heatmaps_mmaction2(kp, sc, size=size, sigma=sigma,
                                    limbs=MM_LIMBS if limbs else ())
    n_k = kp.shape[2]
    assert np.abs(got[:, :n_k] - DATA[f"edge/{tag}_joints"]).max() <= TOL
    if limbs:  # K + L channels: each part is what mmaction2 computes in that mode alone
        assert np.abs(got[:, n_k:] - DATA[f"edge/{tag}_limbs"]).max() <= TOL


def random_grid(rng, t, p, k, size):
    """Grid keypoints hitting every branch: off-grid, integers +- 3 sigma, short limbs, eps."""
    kp = rng.uniform(-4, size + 4, (t, p, k, 2)).astype(np.float32)
    kp[rng.random((t, p, k)) < 0.15] = np.round(kp[rng.random((t, p, k)) < 0.15][:1])
    close = rng.random((t, p)) < 0.3  # sub-pixel limbs: joint 1 within a pixel of joint 0
    kp[:, :, 1][close] = kp[:, :, 0][close] + rng.uniform(-0.6, 0.6, (close.sum(), 2))
    sc = rng.uniform(0, 1, (t, p, k)).astype(np.float32)
    sc[rng.random((t, p, k)) < 0.1] = np.float32(1e-4)  # exactly eps in float32: drawn
    sc[rng.random((t, p, k)) < 0.1] = np.float32(9.99e-5)  # just below: not drawn
    return kp, sc


@pytest.mark.parametrize("seed, size, sigma", [(0, 56, 0.6), (1, 64, 0.6), (2, 30, 1.0),
                                               (3, 40, 0.37), (4, 24, 2.5), (5, 17, 1.3)])
def test_renderer_equals_the_loop_model_on_random_keypoints(seed, size, sigma):
    rng = np.random.default_rng(seed)
    kp, sc = random_grid(rng, 5, 3, 17, size)
    limbs = MM_LIMBS + [(1, 0)]  # (1, 0): end and start swapped, also sub-pixel
    got = render_heatmaps_mmaction2(kp, sc, size=size, sigma=sigma, limbs=limbs)
    want = ref.generate_pose_target(to_tp(kp), to_tp(sc), size, sigma, limbs=limbs)
    assert np.abs(got - want).max() <= TOL
    noscore = render_heatmaps_mmaction2(kp, sc, size=size, sigma=sigma, limbs=limbs,
                                        use_score=False, min_score=0.0)
    want = ref.generate_pose_target(to_tp(kp), to_tp(sc), size, sigma, limbs=limbs,
                                    use_score=False)
    assert np.abs(noscore - want).max() <= TOL


@pytest.mark.parametrize("seed", range(6))
def test_compact_crop_equals_the_loop_model(seed):
    rng = np.random.default_rng(seed)
    t, p = 6, 2
    w, h = int(rng.integers(200, 2000)), int(rng.integers(200, 2000))
    spread = [0.5, 3, 40, 400, 900, 2000][seed]  # below the threshold ... beyond the frame
    kp = (rng.uniform(-0.3, 1.0, (t, p, 17, 2)) * spread
          + rng.uniform(-50, max(w, h), 2)).astype(np.float32)
    kp[rng.random((t, p, 17)) < 0.1] = np.nan
    kp[0, 0, 3, 0] = 0.0  # a real joint exactly on x = 0: ignored for x, as mmaction2 does
    sc = rng.uniform(0, 1, (t, p, 17)).astype(np.float32)
    sc[rng.random((t, p, 17)) < 0.1] = 0
    valid = rng.random((t, p)) < 0.9
    mk, _ = ref.to_mmaction2(kp, sc, valid)
    for size in (56, 64, 30):
        crop = compute_compact_crop(kp, sc, valid, frame_size=(w, h), size=size)
        want, box = ref.val_pipeline_grid(mk, (h, w), size)
        assert crop.box == (box if box is not None else (0, 0, w, h))
        present = np.isfinite(kp).all(-1) & (sc > 0) & valid[..., None]
        np.testing.assert_array_equal(crop.to_grid(kp)[present], to_tp(want)[present])
        # the float box that the artifact stores maps the same way (up to rounding),
        # except mmaction2's unshifted coordinates equal to 0
        nonzero = present & (kp != 0).all(-1)
        np.testing.assert_allclose(crop.crop_box().to_grid(kp, size)[nonzero],
                                   to_tp(want)[nonzero], atol=2e-3)


# ---------------------------------------------- the behaviours named in the issue
def one(x, y, score=1.0, k=1):
    kp = np.full((1, 1, k, 2), np.nan, np.float32)
    sc = np.zeros((1, 1, k), np.float32)
    kp[0, 0, 0], sc[0, 0, 0] = (x, y), score
    return kp, sc


def test_square_window_with_the_extra_low_side_column_and_row():
    sigma = 0.6  # 3 sigma = 1.8: window columns trunc(10.3 - 1.8) .. trunc(10.3 + 1.8)
    kp, sc = one(10.3, 20.5, 0.9)
    mm = render_heatmaps_mmaction2(kp, sc, size=32, sigma=sigma)[0, 0]
    pt = render_heatmaps(kp, sc, size=32, sigma=sigma)[0, 0]
    cols, rows = np.flatnonzero(mm.any(0)), np.flatnonzero(mm.any(1))
    assert cols.tolist() == [8, 9, 10, 11, 12] and rows.tolist() == [18, 19, 20, 21, 22]
    assert (mm[18:23, 8:13] > 0).all()  # the whole rectangle, corners included
    # column 8 is 2.3 px away (> 3 sigma): mmaction2 draws it, posetools' disc does not
    expect = 0.9 * math.exp(-(2.3 ** 2 + 0.5 ** 2) / (2 * sigma ** 2))
    assert mm[20, 8] == pytest.approx(expect, rel=1e-5) and pt[20, 8] == 0
    assert 0 < mm[20, 8] < 0.9 * math.exp(-4.5)
    inside = pt > 0  # within the disc both styles agree to float rounding
    np.testing.assert_allclose(mm[inside], pt[inside], rtol=1e-6, atol=3e-7)


def test_column_zero_is_drawn_left_of_the_grid_by_truncation():
    kp, sc = one(-2.2, 10.0)  # -2.2 + 1.8 = -0.4: trunc gives 0, so column 0 is drawn
    mm = render_heatmaps_mmaction2(kp, sc, size=16, sigma=0.6)[0, 0]
    assert np.flatnonzero(mm.any(0)).tolist() == [0]
    assert mm[10, 0] == pytest.approx(math.exp(-(2.2 ** 2) / 0.72), rel=1e-5)


def test_sub_pixel_limb_uses_the_start_joint_and_its_score():
    kp = np.full((1, 1, 2, 2), np.nan, np.float32)
    kp[0, 0] = [(12.0, 9.0), (12.4, 9.5)]  # |ab|^2 = 0.41 < 1
    sc = np.array([[[0.3, 0.8]]], np.float32)
    limb = render_heatmaps_mmaction2(kp, sc, size=24, sigma=1.0, joints=False,
                                     limbs=[(0, 1)])[0, 0]
    start = render_heatmaps_mmaction2(kp[:, :, :1], sc[:, :, :1], size=24, sigma=1.0)[0, 0]
    np.testing.assert_array_equal(limb, start)
    assert limb.max() == pytest.approx(0.3)  # the start score, not min(0.3, 0.8) by chance
    kp[0, 0, 1] = (12.0, 9.0)  # coincident joints (a common occlusion output)
    swapped = render_heatmaps_mmaction2(kp, sc, size=24, sigma=1.0, joints=False,
                                        limbs=[(1, 0)])[0, 0]
    assert swapped.max() == pytest.approx(0.8)  # the start joint decides
    posetools = render_heatmaps(kp, sc, size=24, sigma=1.0, joints=False, limbs=[(1, 0)])
    assert posetools.max() == pytest.approx(0.3)  # posetools: min(c_a, c_b)


def test_limb_window_is_the_rectangle_without_a_capsule_cut():
    kp = np.full((1, 1, 2, 2), np.nan, np.float32)
    kp[0, 0] = [(5.0, 5.0), (15.0, 15.0)]
    sc = np.ones((1, 1, 2), np.float32)
    mm = render_heatmaps_mmaction2(kp, sc, size=24, sigma=1.0, joints=False, limbs=[(0, 1)])
    m = mm[0, 0]
    assert (m[2:19, 2:19] > 0).all() and not m[:2].any() and not m[19:].any()
    d = 10 / math.sqrt(2)  # pixel (15, 5) is 7.07 px from the diagonal segment
    assert m[5, 15] == pytest.approx(math.exp(-d * d / 2), rel=1e-4)


def test_joints_and_limbs_are_k_plus_l_channels_without_the_overwrite():
    rng = np.random.default_rng(7)
    kp, sc = random_grid(rng, 3, 2, 17, 48)
    both = render_heatmaps_mmaction2(kp, sc, size=48, sigma=0.6, limbs=MM_LIMBS)
    joints = render_heatmaps_mmaction2(kp, sc, size=48, sigma=0.6)
    limbs = render_heatmaps_mmaction2(kp, sc, size=48, sigma=0.6, joints=False, limbs=MM_LIMBS)
    assert both.shape[1] == 34
    np.testing.assert_array_equal(both, np.concatenate([joints, limbs], axis=1))
    assert both[:, 17:].any()  # mmaction2 with both modes leaves these empty


def test_missing_joints_are_never_drawn_and_dtype_is_kept():
    kp, sc = one(8.0, 8.0, 0.5, k=3)
    kp[0, 0, 1] = (4.0, 4.0)  # score 0: missing
    kp[0, 0, 2] = (np.nan, np.nan)
    sc[0, 0, 2] = 1.0
    out = render_heatmaps_mmaction2(kp, sc, size=16, sigma=0.6, use_score=False,
                                    valid=np.ones((1, 1), bool), dtype=np.float16)
    assert out.dtype == np.float16 and out[0, 0].max() == 1 and not out[0, 1:].any()
    assert not render_heatmaps_mmaction2(kp, sc, size=16, sigma=0.6,
                                         valid=np.zeros((1, 1), bool)).any()


def test_compact_crop_without_compaction_and_mmaction2_limb_channels():
    kp, sc = one(300.0, 200.0, 0.9, k=17)  # one joint: extent 0 < threshold: full frame
    crop = compute_compact_crop(kp, sc, None, frame_size=(640, 480), size=64)
    assert not crop.compacted and crop.box == (0, 0, 640, 480)
    assert crop.scale == (np.float32(85 / 640), np.float32(64 / 480))
    assert crop.offset == ((85 - 64) // 2, 0)  # Resize(-1, 64) -> 85 x 64, CenterCrop(64)
    assert COCO17.limb_set("mmaction2") == tuple(MM_LIMBS)
