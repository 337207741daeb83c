"""The aggregate stage on hand-built estimate artifacts (documented layout)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from posetools.config import from_dict
from posetools.config.algorithms import RefineConfig
from posetools.config.schema import AggregateConfig, VideoConfig
from posetools.errors import ConfigError, MissingUpstreamError, StoreError
from posetools.io.artifacts.aggregate import AggregateArtifact
from posetools.io.manifest import ManifestEntry
from posetools.skeletons import BLAZEPOSE33, COCO17
from posetools.stages.aggregate import AggregateStage
from posetools.stages.base import VideoJob
from tests.support.artifacts import expert_poses, frame_axis, write_estimate

# COCO-17 skeleton: face centroid 20 px above mid-shoulders
BASE = np.array([
    [0, -50], [-5, -65], [5, -65], [-10, -60], [10, -60], [-20, -40], [20, -40], [-25, -15],
    [25, -15], [-27, 10], [27, 10], [-12, 10], [12, 10], [-13, 45], [13, 45], [-14, 80],
    [14, 80],
], dtype=np.float32) + 300
T = 10


def to_blazepose(kp: np.ndarray, sc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO-17 -> BlazePose-33 by joint name (other BlazePose joints missing)."""
    out = np.full(kp.shape[:-2] + (33, 2), np.nan, np.float32)
    osc = np.zeros(kp.shape[:-2] + (33,), np.float32)
    for i, n in enumerate(COCO17.joints):
        out[..., BLAZEPOSE33.index(n), :] = kp[..., i, :]
        osc[..., BLAZEPOSE33.index(n)] = sc[..., i]
    return out, osc


def people(t=T):
    step = np.arange(t, dtype=np.float32)[:, None, None] * np.array([3, 0], np.float32)
    a = BASE[None] + step
    b = a + np.array([400, 10], np.float32)
    return a, b


def make_estimate(path: Path, *, stride_b=2, swap_b=True) -> dict:
    """Expert 'yolo' (COCO-17, every frame, 2 persons) and 'blaze' (BlazePose-33, every
    ``stride_b``-th frame, the same 2 persons 1 px off, in the other slot order)."""
    frames = np.arange(100, 100 + T)
    a, b = people()
    kp_y = np.stack([a, b], axis=1)
    sc_y = np.full(kp_y.shape[:3], 0.9, np.float32)
    rows_b = np.arange(0, T, stride_b)
    pair = [b, a] if swap_b else [a, b]
    kp_c = np.stack(pair, axis=1)[rows_b] + 1.0
    kp_b, sc_b = to_blazepose(kp_c, np.full(kp_c.shape[:3], 0.8, np.float32))
    write_estimate(path, frame_axis(frames, width=1280, height=720),
                   expert_poses("yolo", frames, kp_y, sc_y, "coco17"),
                   expert_poses("blaze", frames[rows_b], kp_b, sc_b, "blazepose33"))
    return {"frames": frames, "a": a, "b": b, "rows_b": rows_b}


ARMS = [BLAZEPOSE33.index(f"{s}_{j}") for s in ("left", "right") for j in ("elbow", "wrist")]


def disagree_on_arms(path: Path, row: int) -> None:
    """Move blaze's elbows and wrists 150 px on both axes at ``row``: the persons still
    match (13 of 17 joints agree, 1 px apart) but C = exp(-(13 + 4 * 151) sqrt(2) / 34 / 20)
    = 0.277."""
    with h5py.File(path, "a") as f:
        kp = f["experts/blaze/keypoints"]
        arr = kp[...]
        arr[row, :, ARMS] += 150.0
        kp[...] = arr


def run_stage(tmp_path: Path, est: Path, cfg: AggregateConfig | None = None) -> Path:
    stage = AggregateStage(cfg or AggregateConfig(), VideoConfig())
    entry = ManifestEntry(video_id="vid", path=tmp_path / "vid.mp4", row=1)
    job = VideoJob(entry=entry, video_path=entry.path, out=tmp_path,
                   upstream={"estimate": est})
    out_path = tmp_path / "aggregate.h5"
    seen = []
    with h5py.File(out_path, "w") as out:
        summary = stage.process(job, out, seen.append)
    assert sum(seen) == T and summary["frames"] == T
    return out_path


def test_aggregate_layout_and_values(tmp_path):
    info = make_estimate(tmp_path / "est.h5")
    path = run_stage(tmp_path, tmp_path / "est.h5")
    with h5py.File(path) as f:
        np.testing.assert_array_equal(f["frame_index"][...], info["frames"])
        np.testing.assert_allclose(f["pts"][...], info["frames"] / 30.0)
        assert f.attrs["width"] == 1280 and f.attrs["height"] == 720
        assert f.attrs["layout"] == "coco17"
        assert json.loads(f.attrs["experts"]) == ["yolo", "blaze"]
        assert f.attrs["reference_expert"] == "yolo"  # ran on every frame: most instances
        assert f.attrs["gamma"] == pytest.approx(0.18)
        assert json.loads(f.attrs["ssta_json"])["normalizer"] == "head_neck"
        for name, shape, dtype in [
            ("keypoints", (T, 2, 17, 2), np.float32), ("scores", (T, 2, 17), np.float32),
            ("source_expert", (T, 2, 17), np.int8), ("confidence", (T, 2), np.float32),
            ("valid", (T, 2), bool), ("filled", (T, 2, 17), bool), ("track_ids", (T, 2), np.int32),
        ]:
            assert f[name].shape == shape and f[name].dtype == dtype, name
        kp = f["keypoints"][...]
        src = f["source_expert"][...]
        conf = f["confidence"][...]
        assert f["valid"][...].all() and not f["filled"][...].any()
        np.testing.assert_array_equal(f["track_ids"][...], np.tile([[0, 1]], (T, 1)))
        np.testing.assert_array_equal(f["expert_ran"][...][1], np.arange(T) % 2 == 0)
        # the blaze persons are in the other slot order: matched by OKS
        matched = f["matched"][...]
        assert (matched[1, ::2, 0] == 1).all() and (matched[1, ::2, 1] == 0).all()
        assert (matched[1, 1::2] == -1).all()
    # first frame: pair (yolo, blaze) -> yolo; later the closest to the previous (yolo)
    assert (src == 0).all()
    np.testing.assert_allclose(kp[:, 0], info["a"])
    np.testing.assert_allclose(kp[:, 1], info["b"])
    # frames where blaze ran: 1 px offset on x and y -> mean sqrt(2)/2 over 2 experts
    np.testing.assert_allclose(conf[::2], math.exp(-(math.sqrt(2) / 2) / 20), rtol=1e-5)
    np.testing.assert_allclose(conf[1::2], 1.0)  # only the reference ran


def test_reference_expert_option(tmp_path):
    make_estimate(tmp_path / "est.h5", stride_b=1)
    path = run_stage(tmp_path, tmp_path / "est.h5", AggregateConfig(reference_expert="blaze"))
    with h5py.File(path) as f:
        assert f.attrs["reference_expert"] == "blaze"
        kp = f["keypoints"][...]
    a, b = people()
    # blaze slots are [b, a]; its slot 0 follows person b. Pair rule -> yolo (listed first)
    np.testing.assert_allclose(kp[:, 0], b)
    with pytest.raises(StoreError, match="reference_expert"):
        run_stage(tmp_path, tmp_path / "est.h5", AggregateConfig(reference_expert="nope"))


def test_low_confidence_rows_kept_and_marked(tmp_path):
    make_estimate(tmp_path / "est.h5", stride_b=1, swap_b=False)
    disagree_on_arms(tmp_path / "est.h5", row=4)
    for gamma, valid4 in ((0.18, True), (0.3, False)):
        path = run_stage(tmp_path, tmp_path / "est.h5", AggregateConfig(gamma=gamma))
        with h5py.File(path) as f:
            v = f["valid"][...]
            assert v[4].tolist() == [valid4, valid4] and v[[0, 1, 2, 3, 5]].all()
            assert np.isnan(f["keypoints"][4]).all() == (not valid4)
            want = math.exp(-(13 + 4 * 151) * math.sqrt(2) / 34 / 20)
            np.testing.assert_allclose(f["confidence"][4], want, rtol=1e-5)
    path = run_stage(tmp_path, tmp_path / "est.h5", AggregateConfig(gamma=0.3, max_gap=1))
    with h5py.File(path) as f:
        assert f["valid"][...].all() and f["filled"][4].all() and not f["filled"][3].any()
        assert (f["source_expert"][4] == -1).all()


def test_errors(tmp_path):
    make_estimate(tmp_path / "est.h5")
    entry = ManifestEntry(video_id="vid", path=tmp_path / "vid.mp4", row=1)
    stage = AggregateStage(AggregateConfig(), VideoConfig())
    with h5py.File(tmp_path / "o.h5", "w") as out, pytest.raises(MissingUpstreamError):
        stage.process(VideoJob(entry, entry.path, tmp_path, {}), out, lambda n: None)
    with h5py.File(tmp_path / "est.h5", "a") as f:
        fi = f["experts/blaze/frame_index"]
        arr = fi[...]
        arr[0] = 5  # not a root frame
        fi[...] = arr
    with pytest.raises(StoreError, match="subset"):
        run_stage(tmp_path, tmp_path / "est.h5")
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f.create_dataset("frame_index", data=np.arange(3))
    with pytest.raises(StoreError, match="malformed"):
        run_stage(tmp_path, tmp_path / "bad.h5")


def test_config_and_params():
    stage = AggregateStage(AggregateConfig(gamma=0.06), VideoConfig())
    p = stage.params()
    assert p["gamma"] == 0.06 and p["reference_expert"] is None and "workers" not in p
    assert stage.inputs() == ("estimate",)
    cfg = from_dict(AggregateConfig, {"gamma": 0.06, "confidence_joints": "limbs",
                                      "normalizer": "shoulder_width",
                                      "low_confidence": "zero_confidence"})
    assert cfg.confidence_joints == "limbs"
    with pytest.raises(ConfigError, match="low_confidence"):
        from_dict(AggregateConfig, {"low_confidence": "drop"})


# ------------------------------------------------------------ temporal refinement
def single_expert_estimate(path: Path, t: int = 60, *, every: int = 1, track_ids=None,
                           seed: int = 0) -> dict:
    """One COCO-17 expert, one person walking right with 2 px noise, on rows ``::every``
    of a 30 fps root axis of ``t`` frames."""
    rng = np.random.default_rng(seed)
    frames = np.arange(t)
    rows = frames[::every]
    clean = BASE[None] + (np.arange(t, dtype=np.float32) * 2.0)[:, None, None] * [1, 0]
    kp = (clean + rng.normal(scale=2.0, size=clean.shape)).astype(np.float32)[rows, None]
    sc = np.full(kp.shape[:3], 0.9, np.float32)
    tid = None if track_ids is None else np.asarray(track_ids)[rows, None]
    fa = frame_axis(frames)
    write_estimate(path, fa, expert_poses("yolo", rows, kp, sc, "coco17", track_ids=tid))
    return {"clean": clean, "noisy": kp[:, 0], "rows": rows}


def run_any(tmp_path: Path, est: Path, cfg: AggregateConfig, name: str = "aggregate.h5"):
    stage = AggregateStage(cfg, VideoConfig())
    entry = ManifestEntry(video_id="vid", path=tmp_path / "vid.mp4", row=1)
    job = VideoJob(entry=entry, video_path=entry.path, out=tmp_path, upstream={"estimate": est})
    with h5py.File(tmp_path / name, "w") as out:
        summary = stage.process(job, out, lambda n: None)
    return tmp_path / name, summary


def test_refined_layout_keeps_raw_and_reads_back(tmp_path):
    info = single_expert_estimate(tmp_path / "est.h5")
    plain, _ = run_any(tmp_path, tmp_path / "est.h5", AggregateConfig(), "plain.h5")
    cfg = AggregateConfig(refine=RefineConfig())
    path, summary = run_any(tmp_path, tmp_path / "est.h5", cfg)
    assert AggregateStage.version == "2"
    assert summary["refine"] == {"rejected_joints": 0, "filled_joints": 0}
    with h5py.File(plain) as p, h5py.File(path) as f:
        assert "raw" not in p and "refine" not in p and "refine_json" not in p.attrs
        for name in ("keypoints", "scores", "valid"):  # raw/ = SST-A's output, unchanged
            np.testing.assert_array_equal(f[f"raw/{name}"][...], p[name][...])
        for name in ("source_expert", "confidence", "filled", "matched"):
            np.testing.assert_array_equal(f[name][...], p[name][...])
        assert f["refine/rejected"].dtype == bool and f["refine/filled"].shape == (60, 1, 17)
        assert json.loads(f.attrs["refine_json"]) == json.loads(f.attrs["ssta_json"])["refine"]
        assert json.loads(f.attrs["refine_json"])["cutoff_hz"] == 5.0
        assert f.attrs["refine_sample_period"] == pytest.approx(1 / 30)
        art = AggregateArtifact.read(f, "vid")
        assert AggregateArtifact.read(p, "vid").refine is None
    assert art.refine is not None
    np.testing.assert_array_equal(art.refine.raw_keypoints[:, 0], info["noisy"])
    # the refined pose is the smoother one, and closer to the truth
    acc = np.abs(np.diff(art.keypoints[:, 0], 2, axis=0)).mean()
    acc_raw = np.abs(np.diff(art.refine.raw_keypoints[:, 0], 2, axis=0)).mean()
    assert acc < 0.3 * acc_raw
    err = np.abs(art.keypoints[:, 0] - info["clean"]).mean()
    assert err < 0.7 * np.abs(info["noisy"] - info["clean"]).mean()
    with h5py.File(path, "a") as f:
        del f["refine/filled"]
        with pytest.raises(StoreError, match="malformed"):
            AggregateArtifact.read(f, "vid")


def test_refinement_never_crosses_a_track_restart(tmp_path):
    tids = np.where(np.arange(60) < 30, 4, 9)
    tids[28:32] = -1  # the reference lost the person for 4 frames, then another id
    single_expert_estimate(tmp_path / "est.h5", track_ids=tids)
    with h5py.File(tmp_path / "est.h5", "a") as f:  # no pose where the id is unset
        for name, fill in (("keypoints", np.nan), ("scores", 0.0)):
            ds = f[f"experts/yolo/{name}"]
            arr = ds[...]
            arr[28:32] = fill
            ds[...] = arr
    cfg = AggregateConfig(refine=RefineConfig(max_gap_s=5 / 30))
    path, _ = run_any(tmp_path, tmp_path / "est.h5", cfg)
    with h5py.File(path) as f:
        assert not f["refine/filled"][...].any() and not f["valid"][28:32].any()
    tids[:] = 4  # one track throughout: the same 4-frame hole is repaired
    single_expert_estimate(tmp_path / "est2.h5", track_ids=tids)
    with h5py.File(tmp_path / "est2.h5", "a") as f:
        for name, fill in (("keypoints", np.nan), ("scores", 0.0)):
            ds = f[f"experts/yolo/{name}"]
            arr = ds[...]
            arr[28:32] = fill
            ds[...] = arr
    path, _ = run_any(tmp_path, tmp_path / "est2.h5", cfg, "agg2.h5")
    with h5py.File(path) as f:
        assert f["refine/filled"][28:32].all() and f["valid"][28:32].all()


def test_refinement_samples_only_rows_where_an_expert_ran(tmp_path):
    """An expert on every 3rd frame: the frames between are not holes to fill."""
    info = single_expert_estimate(tmp_path / "est.h5", every=3)
    path, _ = run_any(tmp_path, tmp_path / "est.h5", AggregateConfig(refine=RefineConfig()))
    with h5py.File(path) as f:
        assert f.attrs["refine_sample_period"] == pytest.approx(3 / 30)
        assert not f["refine/filled"][...].any()
        ran = np.zeros(60, bool)
        ran[info["rows"]] = True
        np.testing.assert_array_equal(f["valid"][...][:, 0], ran)


def test_refinement_with_unusable_pts_is_a_store_error(tmp_path):
    single_expert_estimate(tmp_path / "est.h5")
    with h5py.File(tmp_path / "est.h5", "a") as f:
        f["pts"][...] = np.zeros(60)
    with pytest.raises(StoreError, match="aggregate.refine: pts"):
        run_any(tmp_path, tmp_path / "est.h5", AggregateConfig(refine=RefineConfig()))
