"""The normalize stage on an aggregate artifact produced by the aggregate stage."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from posetools.config.algorithms import RefineConfig
from posetools.config.schema import AggregateConfig, NormalizeConfig, VideoConfig
from posetools.errors import StoreError
from posetools.io.artifacts.normalize import NormalizeArtifact
from posetools.io.manifest import ManifestEntry
from posetools.normalize import denormalize
from posetools.stages.base import VideoJob
from posetools.stages.normalize import NormalizeStage

from .test_aggregate import (
    T,
    disagree_on_arms,
    make_estimate,
    run_any,
    run_stage,
    single_expert_estimate,
)


def normalize(tmp_path, agg, cfg=None):
    stage = NormalizeStage(cfg or NormalizeConfig(), VideoConfig())
    entry = ManifestEntry(video_id="vid", path=tmp_path / "vid.mp4", row=1)
    job = VideoJob(entry, entry.path, tmp_path, {"aggregate": agg})
    path = tmp_path / "normalize.h5"
    with h5py.File(path, "w") as out:
        summary = stage.process(job, out, lambda n: None)
    return path, summary


def test_normalize_layout_and_inverse(tmp_path):
    make_estimate(tmp_path / "est.h5", stride_b=1, swap_b=False)
    disagree_on_arms(tmp_path / "est.h5", row=4)
    agg = run_stage(tmp_path, tmp_path / "est.h5", AggregateConfig(gamma=0.3))
    path, summary = normalize(tmp_path, agg)
    assert summary["frames"] == T and summary["valid"] == 2 * (T - 1)
    with h5py.File(agg) as a, h5py.File(path) as n:
        for name in ("frame_index", "pts", "scores", "source_expert", "confidence", "filled",
                     "track_ids"):
            np.testing.assert_array_equal(n[name][...], a[name][...])
        assert n.attrs["layout"] == "coco17" and n.attrs["width"] == 1280
        assert n.attrs["experts"] == a.attrs["experts"]
        assert n["center"].shape == (T, 2, 2) and n["scale"].shape == (T, 2)
        assert n["angle"].shape == (T, 2) and n["keypoints"].dtype == np.float32
        valid = n["valid"][...]
        np.testing.assert_array_equal(valid, a["valid"][...])
        back = denormalize(n["keypoints"][...], n["center"][...], n["scale"][...],
                           n["angle"][...])
        np.testing.assert_allclose(back[valid], a["keypoints"][...][valid], atol=1e-3)
        kp = n["keypoints"][...][valid]
        np.testing.assert_allclose(np.nanmean(kp, axis=1), 0, atol=1e-5)
        rms = np.sqrt(np.nanmean((kp**2).sum(-1), axis=1))
        np.testing.assert_allclose(rms, 1, rtol=1e-5)
        assert np.isnan(n["keypoints"][4]).all() and np.isnan(n["scale"][4]).all()


def test_layout_mismatch_is_an_error(tmp_path):
    make_estimate(tmp_path / "est.h5")
    agg = run_stage(tmp_path, tmp_path / "est.h5")
    with pytest.raises(StoreError, match="layout"):
        normalize(tmp_path, agg, NormalizeConfig(layout="h36m17", head="head_joint"))


def test_params():
    stage = NormalizeStage(NormalizeConfig(scale="torso"), VideoConfig())
    assert stage.params()["scale"] == "torso" and stage.inputs() == ("aggregate",)


def test_refined_aggregate_groups_are_carried(tmp_path):
    single_expert_estimate(tmp_path / "est.h5")
    agg, _ = run_any(tmp_path, tmp_path / "est.h5", AggregateConfig(refine=RefineConfig()))
    path, _ = normalize(tmp_path, agg)
    with h5py.File(agg) as a, h5py.File(path) as n:
        for name in ("raw/keypoints", "raw/scores", "raw/valid", "refine/rejected",
                     "refine/filled"):
            np.testing.assert_array_equal(n[name][...], a[name][...])  # raw stays in pixels
        assert n.attrs["refine_json"] == a.attrs["refine_json"]
        back = denormalize(n["keypoints"][...], n["center"][...], n["scale"][...],
                           n["angle"][...])
        np.testing.assert_allclose(back, a["keypoints"][...], atol=1e-3)  # the refined pose
        art = NormalizeArtifact.read(n)
    assert art.aggregate.refine is not None and art.aggregate.refine.raw_valid.all()
