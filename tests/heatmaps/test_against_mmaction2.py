"""``style: mmaction2`` against the installed mmaction2 itself (CI installs it; skipped without it).

Runs mmaction2's own ``PoseCompact -> Resize(scale=(-1, S)) -> CenterCrop(S) ->
GeneratePoseTarget`` (the PoseC3D val pipeline without frame sampling) on the
whole clip and compares it with the heatmaps stage's cache for the same keypoints:
the stored keypoints of the shared videos in ``data/`` and random grid keypoints.
mmaction2 1.2.0 needs ``np.Inf`` under numpy 2 (restored here for the test only).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

mmaction = pytest.importorskip(
    "mmaction", reason="mmaction2 is not installed (docker/install-test-deps.sh installs it)")

from posetools.config.schema import HeatmapsConfig  # noqa: E402
from posetools.heatmaps import render_heatmaps_mmaction2  # noqa: E402
from posetools.skeletons import COCO17  # noqa: E402
from tests.heatmaps.test_mmaction2 import CLIPS, clip, random_grid, to_tp  # noqa: E402
from tests.support.heatmap_fixtures import run_heatmaps_stage, write_aggregate  # noqa: E402
from tests.support.mmaction2_reference import to_mmaction2  # noqa: E402

MM = [list(e) for e in COCO17.limb_set("mmaction2")]


@pytest.fixture(autouse=True)
def numpy_inf(monkeypatch):
    monkeypatch.setattr(np, "Inf", np.inf, raising=False)


def mm_val_pipeline(keypoint, score, img_shape, size, sigma, *, with_kp, with_limb):
    from mmaction.datasets.transforms import (
        CenterCrop,
        GeneratePoseTarget,
        PoseCompact,
        Resize,
    )

    r = dict(keypoint=keypoint.copy(), keypoint_score=score.copy(), img_shape=img_shape,
             modality="Pose")
    r = PoseCompact(hw_ratio=1.0, allow_imgpad=True)(r)
    r = Resize(scale=(-1, size))(r)
    r = CenterCrop(crop_size=size)(r)
    r = GeneratePoseTarget(sigma=sigma, with_kp=with_kp, with_limb=with_limb, skeletons=MM)(r)
    return r["imgs"]


@pytest.mark.parametrize("name", CLIPS)
@pytest.mark.parametrize("size,sigma", [(56, 0.6), (64, 0.6), (30, 1.0)])
def test_stage_cache_equals_mmaction2(tmp_path, name, size, sigma):
    d = clip(name)
    h, w = (int(v) for v in d["img_shape"])
    write_aggregate(tmp_path / "aggregate" / "v.h5", d["src_keypoints"], d["src_scores"],
                    d["src_valid"], width=w, height=h)
    cfg = HeatmapsConfig(size=size, sigma=sigma, style="mmaction2", limbs=True,
                         limb_set="mmaction2", dtype="float32")
    path, _ = run_heatmaps_stage(tmp_path, "v", cfg)
    with h5py.File(path, "r") as fh:
        ours = fh["heatmaps"][...]
    mk, ms = to_mmaction2(d["src_keypoints"], d["src_scores"], d["src_valid"])
    joints = mm_val_pipeline(mk, ms, (h, w), size, sigma, with_kp=True, with_limb=False)
    limbs = mm_val_pipeline(mk, ms, (h, w), size, sigma, with_kp=False, with_limb=True)
    assert np.abs(ours - np.concatenate([joints, limbs], axis=1)).max() <= 1e-6


@pytest.mark.parametrize("seed,size,sigma", [(0, 56, 0.6), (1, 40, 0.37), (2, 32, 2.0)])
def test_renderer_equals_generate_pose_target(seed, size, sigma):
    from mmaction.datasets.transforms import GeneratePoseTarget

    kp, sc = random_grid(np.random.default_rng(seed), 6, 3, 17, size)
    ours = render_heatmaps_mmaction2(kp, sc, size=size, sigma=sigma, limbs=MM)
    r = dict(keypoint=to_tp(kp), keypoint_score=to_tp(sc), img_shape=(size, size))
    joints = GeneratePoseTarget(sigma=sigma, with_kp=True, with_limb=False)(dict(r))["imgs"]
    limbs = GeneratePoseTarget(sigma=sigma, with_kp=False, with_limb=True, skeletons=MM)(
        dict(r))["imgs"]
    assert np.abs(ours - np.concatenate([joints, limbs], axis=1)).max() <= 1e-6
