"""The ONNX backend's pure numpy / OpenCV steps, against hand-computed expectations.

No mm stack needed. Their bit-exact agreement with mmdet's / mmpose's own transforms
and codecs is checked in ``tests/experts/test_onnx_export.py`` (marked ``mm``).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posetools.experts import onnx_meta
from posetools.experts import onnx_ops as ops

RNG = np.random.default_rng(0)


def _image(h: int, w: int) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize(("hw", "new_wh"), [((1080, 1920), (320, 180)),
                                            ((1000, 333), (107, 320)),
                                            ((320, 320), (320, 320))])
def test_resize_pad_puts_the_image_top_left(hw, new_wh):
    img = _image(*hw)
    buf = np.zeros((320, 320, 3), np.uint8)
    canvas, scale = ops.resize_pad(img, (320, 320), 114, out=buf)
    nw, nh = new_wh
    assert canvas is buf  # written in place
    np.testing.assert_array_equal(canvas[:nh, :nw], cv2.resize(img, (nw, nh)))
    assert (canvas[nh:] == 114).all() and (canvas[:, nw:] == 114).all()
    np.testing.assert_array_equal(scale, [nw / hw[1], nh / hw[0]])
    np.testing.assert_allclose(ops.rescale_factors(scale), [hw[1] / nw, hw[0] / nh] * 2,
                               rtol=1e-7)


def test_box_center_scale_pads_and_fixes_the_aspect_ratio():
    boxes = np.array([[0, 0, 100, 200], [10, 20, 410, 120]], np.float32)
    center, scale = ops.box_center_scale(boxes, 0.75, 1.25)
    np.testing.assert_array_equal(center, [[50, 100], [210, 70]])
    # tall box: height 250, width widened to 0.75 * 250; wide box: width 500, height 500/0.75
    np.testing.assert_allclose(scale, [[187.5, 250], [500, 500 / 0.75]], rtol=1e-6)


def test_warp_matrix_maps_the_region_onto_the_input():
    m = ops.warp_matrix(np.array([300.0, 200.0], np.float32),
                        np.array([120.0, 160.0], np.float32), (192, 256))
    pts = np.array([[300, 200, 1], [240, 120, 1], [360, 280, 1]], np.float64)
    np.testing.assert_allclose(pts @ m.T, [[96, 128], [0, 0], [192, 256]], atol=1e-4)


def test_topdown_crops_and_input_to_image_round_trip():
    img = np.zeros((480, 640, 3), np.uint8)
    yy, xx = np.mgrid[:480, :640]
    img[..., 0] = 255 * np.exp(-((xx - 410) ** 2 + (yy - 300) ** 2) / 50.0)  # a peak at (410, 300)
    jobs = [(0, np.array([350, 200, 470, 440], np.float32)),
            (1, np.array([380, 280, 430, 320], np.float32))]
    crops, center, scale = ops.topdown_crops([img, img], jobs, (48, 64))
    assert crops.shape == (2, 64, 48, 3) and crops.dtype == np.uint8
    for n in range(2):
        v, u = np.unravel_index(crops[n, ..., 0].argmax(), (64, 48))
        back = ops.input_to_image(np.array([[[u, v]]], np.float32), center[n:n + 1],
                                  scale[n:n + 1], (48, 64))[0, 0]
        px = scale[n, 0] / 48  # image pixels per input pixel
        assert np.abs(back - [410, 300]).max() <= px + 0.5, (n, back)


def test_bottomup_warp_centres_the_frame():
    img = np.full((300, 400, 3), 7, np.uint8)
    canvas, center, scale = ops.bottomup_warp(img, (96, 96), 114)
    np.testing.assert_array_equal(center, [200, 150])
    np.testing.assert_array_equal(scale, [400, 400])  # square region around the frame
    assert (canvas[:11] == 114).all() and (canvas[85:] == 114).all()  # 12 rows each side
    assert (canvas[13:83] == 7).all()
    corner = ops.input_to_image(np.array([[[0.0, 12.0], [96.0, 84.0]]], np.float32),
                                center, scale, (96, 96))
    np.testing.assert_allclose(corner[0], [[0, 0], [400, 300]], atol=1e-4)


def test_to_nchw_swaps_normalises_and_fills_the_buffer():
    batch = RNG.integers(0, 256, (2, 8, 6, 3), dtype=np.uint8)
    mean, std = np.array([1.0, 2.0, 3.0], np.float32), np.array([4.0, 5.0, 6.0], np.float32)
    buf = np.empty((4, 3, 8, 6), np.float32)
    got = ops.to_nchw(batch, mean, std, swap_rb=True, out=buf)
    assert got.base is buf or got is buf[:2]
    want = (batch[..., ::-1].astype(np.float32) - mean) / std
    np.testing.assert_array_equal(got, want.transpose(0, 3, 1, 2))
    same = ops.to_nchw(batch, mean, std, swap_rb=False)
    np.testing.assert_array_equal(same, ((batch - mean) / std).astype(np.float32)
                                  .transpose(0, 3, 1, 2))


def test_simcc_decode_argmax_min_score_and_missing_joints():
    sx = np.zeros((1, 3, 96), np.float32)
    sy = np.zeros((1, 3, 128), np.float32)
    sx[0, 0, 31], sy[0, 0, 51] = 0.7, 0.9
    sx[0, 1, 10], sy[0, 1, 20] = 0.9, 0.2
    sx[0, 2] = -1.0  # no positive bin: mmpose's "not found", at -1
    locs, scores = ops.simcc_decode(sx, sy, 2.0)
    np.testing.assert_array_equal(locs[0], [[15.5, 25.5], [5, 10], [-0.5, -0.5]])
    np.testing.assert_array_equal(scores[0], np.float32([0.7, 0.2, -1.0]))


def test_heatmap_decode_quarter_offset_and_borders():
    hm = np.zeros((1, 4, 8, 6), np.float32)
    hm[0, 0, 3, 2], hm[0, 0, 3, 3], hm[0, 0, 2, 2] = 1.0, 0.5, 0.25  # right, then up
    hm[0, 1, 5, 0], hm[0, 1, 5, 1] = 1.0, 0.5  # on the left edge: no x step
    hm[0, 2] = -1.0  # nothing positive
    hm[0, 3, 7, 4], hm[0, 3, 6, 4] = 1.0, 0.5  # on the bottom edge: no y step
    locs, scores = ops.heatmap_decode(hm, (24, 32))  # 4x the heatmap
    np.testing.assert_array_equal(
        locs[0], np.float32([[2.25 * 4, 2.75 * 4], [0, 5 * 4], [-4, -4], [4 * 4, 7 * 4]]))
    np.testing.assert_array_equal(scores[0], np.float32([1, 1, -1, 1]))


def test_grid_priors_row_major_per_level():
    pts, sizes = ops.grid_priors((32, 16), [8, 16], 0.5)
    assert sizes == [8, 2]
    np.testing.assert_array_equal(pts[:5], [[4, 4], [12, 4], [20, 4], [28, 4], [4, 12]])
    np.testing.assert_array_equal(pts[8:], [[8, 8], [24, 8]])


def test_rtmdet_decode_filters_suppresses_per_class_and_rescales():
    priors = np.array([[10, 10], [12, 10], [40, 40], [60, 20], [50, 50]], np.float32)
    dists = np.array([[5, 5, 5, 5], [5, 5, 5, 5], [5, 5, 5, 5], [2, 2, 90, 2], [0, 3, 0, 3]],
                     np.float32)
    scores = np.zeros((5, 2), np.float32)
    scores[0, 0], scores[1, 0] = 0.9, 0.8  # overlapping persons: the weaker is suppressed
    scores[1, 1] = 0.7  # the same box, another class: kept
    scores[2, 0] = 0.2  # below the threshold
    scores[3, 0] = 0.6  # clamped to the input width 64
    scores[4, 0] = 0.95  # zero width: dropped
    boxes, sc, lab = ops.rtmdet_decode(scores, dists, priors, [4, 1], (64, 64), 0.3, 10, 0.5,
                                       10)
    np.testing.assert_array_equal(sc, np.float32([0.9, 0.7, 0.6]))
    np.testing.assert_array_equal(lab, [0, 1, 0])
    np.testing.assert_array_equal(boxes, [[5, 5, 15, 15], [7, 5, 17, 15], [58, 18, 64, 22]])
    # nms_pre: per level, only the best candidate; max_det: the best two overall
    _, sc, _ = ops.rtmdet_decode(scores, dists, priors, [4, 1], (64, 64), 0.3, 1, 0.5, 2)
    np.testing.assert_array_equal(sc, np.float32([0.9]))
    boxes, _, _ = ops.rtmdet_decode(scores, dists, priors, [4, 1], (64, 64), 0.3, 10, 0.5, 1,
                                    np.array([0.5, 0.25]))
    np.testing.assert_array_equal(boxes, [[10, 20, 30, 60]])


def test_metadata_roundtrip_foreign_keys_and_versions():
    enc = onnx_meta.encode({"format": 1, "input_size": [192, 256], "flip_test": True})
    assert all(k.startswith("posetools.") for k in enc)
    meta = onnx_meta.decode({**enc, "producer": "mmdeploy"})
    assert meta == {"format": 1, "input_size": [192, 256], "flip_test": True}
    assert onnx_meta.decode({"producer": "mmdeploy"}) == {}
    with pytest.raises(ValueError, match="newer"):
        onnx_meta.decode(onnx_meta.encode({"format": 99}))
    with pytest.raises(ValueError, match="not JSON"):
        onnx_meta.decode({"posetools.format": "{"})
