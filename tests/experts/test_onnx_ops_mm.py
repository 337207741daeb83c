"""The ONNX backend's numpy steps vs mmdet's / mmpose's own transforms and codecs.

Bit-exact (``assert_array_equal``): what makes the ONNX backend see the same crops and
decode the same keypoints as the mm backend. Needs the mm stack.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mmpose", reason="OpenMMLab stack not installed")
pytest.importorskip("mmdet", reason="OpenMMLab stack not installed")

from posetools.experts import onnx_ops as ops  # noqa: E402

pytestmark = pytest.mark.mm
RNG = np.random.default_rng(0)


def _image(h: int, w: int) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_heatmap_decode_is_msra_heatmap_decoding():
    from mmpose.codecs.utils import get_heatmap_maximum, refine_keypoints

    hm = RNG.normal(size=(3, 5, 64, 48)).astype(np.float32)
    hm[0, 0] = -1.0  # no positive value: mmpose puts the joint at -1
    hm[1, 1, 10, 0] = 50.0  # peak on the left edge: no x refinement
    hm[1, 2, 63, 20] = 50.0  # peak on the bottom edge
    locs, scores = ops.heatmap_decode(hm, (192, 256))
    for b in range(3):
        want, vals = get_heatmap_maximum(hm[b])
        want = refine_keypoints(want[None], hm[b])[0] * np.array([4.0, 4.0])
        np.testing.assert_array_equal(locs[b], want.astype(np.float32))
        np.testing.assert_array_equal(scores[b], vals)


def test_simcc_decode_is_simcc_label_decoding():
    from mmpose.codecs.utils import get_simcc_maximum

    sx = RNG.normal(size=(4, 17, 384)).astype(np.float32)
    sy = RNG.normal(size=(4, 17, 512)).astype(np.float32)
    sx[0, 3] = -1.0
    locs, scores = ops.simcc_decode(sx, sy, 2.0)
    want, vals = get_simcc_maximum(sx, sy)
    np.testing.assert_array_equal(locs, want / 2.0)
    np.testing.assert_array_equal(scores, vals)


def test_topdown_crops_are_topdown_affine_crops():
    from mmpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine

    img = _image(540, 960)
    for box in ([[100.25, 40.5, 380.0, 500.75]], [[-50.0, 300.0, 700.0, 420.0]]):
        box = np.array(box, np.float32)
        info = GetBBoxCenterScale()(dict(img=img, bbox=box))
        info = TopdownAffine(input_size=(192, 256))(info)
        crops, c, s = ops.topdown_crops([img], [(0, box[0])], (192, 256))
        np.testing.assert_array_equal(crops[0], info["img"])
        np.testing.assert_array_equal(c[0], info["input_center"])
        np.testing.assert_array_equal(s[0], info["input_scale"])


def test_bottomup_warp_is_bottomup_resize():
    from mmpose.datasets.transforms import BottomupResize

    img = _image(720, 1280)
    info = BottomupResize(input_size=(640, 640), pad_val=(114, 114, 114))(
        dict(img=img, ori_shape=img.shape[:2]))
    canvas, c, s = ops.bottomup_warp(img, (640, 640), 114)
    np.testing.assert_array_equal(canvas, info["img"])
    np.testing.assert_array_equal(c, info["input_center"])
    np.testing.assert_array_equal(s, info["input_scale"])


@pytest.mark.parametrize("hw", [(1080, 1920), (720, 1280), (1000, 333)])
def test_resize_pad_is_mmdet_resize_and_pad(hw):
    from mmdet.datasets.transforms import Pad, Resize

    img = _image(*hw)
    info = Resize(scale=(320, 320), keep_ratio=True)(dict(img=img))
    info = Pad(size=(320, 320), pad_val=dict(img=(114, 114, 114)))(info)
    canvas, scale = ops.resize_pad(img, (320, 320), 114)
    np.testing.assert_array_equal(canvas, info["img"])
    np.testing.assert_array_equal(scale, info["scale_factor"])


def test_grid_priors_are_mlvl_point_generator_priors():
    from mmdet.models.task_modules.prior_generators import MlvlPointGenerator

    pts, sizes = ops.grid_priors((320, 320), [8, 16, 32], 0.0)
    want = MlvlPointGenerator([8, 16, 32], offset=0).grid_priors([(40, 40), (20, 20), (10, 10)],
                                                                 device="cpu")
    np.testing.assert_array_equal(pts, np.concatenate([w.numpy() for w in want]))
    assert sizes == [1600, 400, 100]


def test_input_to_image_is_mmposes_mapping_back():
    import torch
    from mmengine.structures import InstanceData
    from mmpose.models.pose_estimators import TopdownPoseEstimator
    from mmpose.structures import PoseDataSample

    locs = RNG.uniform(-5, 200, (2, 17, 2)).astype(np.float32)
    center = np.array([[512.3, 300.7], [40.0, 99.5]], np.float32)
    scale = np.array([[300.1, 400.13], [75.0, 100.0]], np.float32)
    samples = []
    for n in range(2):
        s = PoseDataSample(metainfo=dict(input_size=(192, 256), input_center=center[n],
                                         input_scale=scale[n]))
        s.gt_instances = InstanceData(bboxes=np.zeros((1, 4), np.float32),
                                      bbox_scores=np.ones(1, np.float32))
        samples.append(s)
    preds = [InstanceData(keypoints=locs[n:n + 1].copy(), keypoint_scores=np.ones((1, 17)))
             for n in range(2)]
    est = TopdownPoseEstimator.__new__(TopdownPoseEstimator)
    torch.nn.Module.__init__(est)
    est.test_cfg = {}
    out = TopdownPoseEstimator.add_pred_to_datasample(est, preds, None, samples)
    want = np.stack([o.pred_instances.keypoints[0] for o in out])
    np.testing.assert_array_equal(ops.input_to_image(locs, center, scale, (192, 256)),
                                  want.astype(np.float32))


def test_to_nchw_is_the_data_preprocessor():
    import torch
    from mmengine.model import ImgDataPreprocessor

    batch = RNG.integers(0, 256, (2, 16, 12, 3), dtype=np.uint8)
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    pre = ImgDataPreprocessor(mean=mean, std=std, bgr_to_rgb=True)  # PoseDataPreprocessor's base
    bgr = [torch.from_numpy(np.ascontiguousarray(b[..., ::-1].transpose(2, 0, 1))) for b in batch]
    want = pre(dict(inputs=bgr, data_samples=None))["inputs"].numpy()
    got = ops.to_nchw(batch, np.array(mean, np.float32), np.array(std, np.float32), False)
    np.testing.assert_array_equal(got, want)
