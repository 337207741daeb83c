"""The heatmaps stage: config validation, artifact layout, content and compression."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from posetools.config import from_dict
from posetools.config.schema import HeatmapsConfig, PipelineConfig, VideoConfig
from posetools.errors import ConfigError, MissingUpstreamError, StoreError
from posetools.heatmaps import CropBox, render_heatmaps
from posetools.io.artifacts.heatmaps import HeatmapsArtifact
from posetools.io.store import read_strings
from posetools.skeletons import COCO17
from posetools.stages.heatmaps import HeatmapsStage
from tests.support.heatmap_fixtures import (
    make_job,
    run_heatmaps_stage,
    walking_sequence,
    write_aggregate,
)


def filters(ds: h5py.Dataset) -> list[int]:
    plist = ds.id.get_create_plist()
    return [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]


@pytest.mark.parametrize("bad,msg", [
    ({"sigma": 0}, "heatmaps.sigma: must be > 0"),
    ({"size": 1}, "heatmaps.size: must be in"),
    ({"joints": False, "limbs": False}, "heatmaps.joints: at least one"),
    ({"padding": 0.9}, "heatmaps.padding: must be >= 1"),
    ({"chunk_frames": 0}, "heatmaps.chunk_frames: must be >= 1"),
    ({"compression_level": 23}, "heatmaps.compression_level"),
    ({"dtype": "float64"}, "heatmaps.dtype: must be one of"),
    ({"min_score": 1.0}, "heatmaps.min_score"),
    ({"sigmas": 1.0}, "heatmaps.sigmas: unknown key"),
])
def test_config_validation(bad, msg):
    with pytest.raises(ConfigError, match=msg):
        from_dict(PipelineConfig, {"stages": ["heatmaps"], "heatmaps": bad})


def test_params_exclude_storage_knobs():
    a = HeatmapsStage(HeatmapsConfig(chunk_frames=1, compression_level=9), VideoConfig())
    b = HeatmapsStage(HeatmapsConfig(), VideoConfig())
    c = HeatmapsStage(HeatmapsConfig(sigma=1.0), VideoConfig())
    assert a.params() == b.params() != c.params()
    assert a.inputs() == ("aggregate",) and not a.reads_video()


def test_process_writes_the_documented_layout(tmp_path):
    kp, sc, valid = walking_sequence(90, persons=2)
    write_aggregate(tmp_path / "aggregate" / "walk.h5", kp, sc, valid)
    cfg = HeatmapsConfig(size=56, sigma=0.6, joints=True, limbs=True)
    path, summary = run_heatmaps_stage(tmp_path, "walk", cfg)
    n_c = 17 + len(COCO17.limbs)
    assert summary["frames"] == 90 and summary["progress"] == 90
    assert summary["channels"] == n_c
    with h5py.File(path, "r") as fh:
        ds = fh["heatmaps"]
        assert ds.shape == (90, n_c, 56, 56) and ds.dtype == np.float16
        assert ds.chunks == (cfg.chunk_frames, n_c, 56, 56)
        assert filters(ds) == [32015]  # zstd through hdf5plugin
        assert fh["keypoints"].shape == (90, 2, 17, 2) and fh["scores"].shape == (90, 2, 17)
        assert fh["valid"].dtype == bool
        np.testing.assert_array_equal(fh["frame_index"][...], np.arange(90) * 2)
        assert fh["pts"].dtype == np.float64
        names = read_strings(fh, "channel_names")
        assert names[:17] == list(COCO17.joints) and len(names) == n_c
        np.testing.assert_array_equal(fh["limbs"][...], np.asarray(COCO17.limbs))
        a = fh.attrs
        assert a["layout"] == "coco17" and a["size"] == 56 and a["sigma"] == pytest.approx(0.6)
        assert bool(a["joints"]) and bool(a["limbs"]) and a["coordinates"] == "grid"
        assert (a["width"], a["height"]) == (640, 480)
        box = CropBox.from_array(fh["crop_box"][...])
        np.testing.assert_allclose(fh["scale"][...], box.scale(56))
        grid = fh["keypoints"][...]
        heat = ds[...]
        stored_sc, stored_valid = fh["scores"][...], fh["valid"][...]
    # keypoints map back to the source pixels
    ok = np.isfinite(kp).all(-1) & (sc > 0) & valid[..., None]
    np.testing.assert_allclose(box.to_source(grid, 56)[ok], kp[ok], atol=1e-3)
    assert np.isnan(grid[~ok]).all()
    # heatmaps are the rendering of the stored keypoints (float16 rounding apart)
    again = render_heatmaps(grid, stored_sc, size=56, sigma=0.6, limbs=COCO17.limbs,
                            valid=stored_valid)
    assert np.abs(heat.astype(np.float32) - again).max() <= 1e-3
    assert summary["compression_vs_float32"] >= 20


def test_float32_cache_and_no_compression(tmp_path):
    kp, sc, valid = walking_sequence(10, persons=1)
    write_aggregate(tmp_path / "aggregate" / "v.h5", kp, sc, valid)
    path, _ = run_heatmaps_stage(tmp_path, "v", HeatmapsConfig(dtype="float32",
                                                                  compression_level=0,
                                                                  chunk_frames=3))
    with h5py.File(path, "r") as fh:
        ds = fh["heatmaps"]
        assert ds.dtype == np.float32 and ds.chunks[0] == 3 and filters(ds) == []
        again = render_heatmaps(fh["keypoints"][...], fh["scores"][...], size=56, sigma=0.6,
                                valid=fh["valid"][...])
        np.testing.assert_array_equal(ds[...], again)


def test_nobody_and_zero_frames(tmp_path):
    kp = np.full((6, 1, 17, 2), np.nan, np.float32)
    write_aggregate(tmp_path / "aggregate" / "empty.h5", kp, np.zeros((6, 1, 17), np.float32),
                    np.zeros((6, 1), bool), width=320, height=240)
    path, summary = run_heatmaps_stage(tmp_path, "empty")
    with h5py.File(path, "r") as fh:
        assert not fh["heatmaps"][...].any()
        np.testing.assert_allclose(fh["crop_box"][...], [0, -40, 320, 280])  # full frame, square
    assert summary["frames_with_pose"] == 0
    write_aggregate(tmp_path / "aggregate" / "none.h5", np.zeros((0, 1, 17, 2), np.float32),
                    np.zeros((0, 1, 17), np.float32), np.zeros((0, 1), bool))
    path, summary = run_heatmaps_stage(tmp_path, "none")
    with h5py.File(path, "r") as fh:
        assert fh["heatmaps"].shape == (0, 17, 56, 56)
    assert summary["frames"] == 0


def test_missing_or_broken_upstream(tmp_path):
    stage = HeatmapsStage(HeatmapsConfig(), VideoConfig())
    with h5py.File(tmp_path / "o.h5", "w") as fh, pytest.raises(MissingUpstreamError):
        stage.process(make_job(tmp_path, "x", {}), fh, lambda n: None)
    bad = tmp_path / "aggregate" / "bad.h5"
    bad.parent.mkdir()
    with h5py.File(bad, "w") as fh:
        fh.create_dataset("keypoints", data=np.zeros((2, 1, 17, 2), np.float32))
    with (h5py.File(tmp_path / "o.h5", "w") as fh,
          pytest.raises(StoreError, match="frame axis|malformed")):
        stage.process(make_job(tmp_path, "bad", {"aggregate": bad}), fh, lambda n: None)


# ------------------------------------------------------------- style: mmaction2
MM_DATA = np.load(Path(__file__).parents[1] / "heatmaps" / "data" /
                  "mmaction2_1.2.0_reference.npz")


@pytest.mark.parametrize("bad,msg", [
    ({"limb_set": "mmaction2"}, "heatmaps.limb_set: set limbs: true"),
    ({"limbs": True, "limb_set": "mmaction2", "limb_pairs": [[0, 5], [0, 6]]},
     "heatmaps.limb_pairs: give either"),
    ({"limbs": True, "limb_pairs": []}, "heatmaps.limb_pairs: list at least one"),
    ({"limbs": True, "limb_pairs": [[0, -1]]}, "heatmaps.limb_pairs: each limb"),
    ({"limbs": True, "limb_pairs": [[0, 1, 2]]}, "heatmaps.limb_pairs\\[0\\]: expected 2"),
    ({"style": "pyskl"}, "heatmaps.style: must be one of"),
    ({"limb_set": "coco"}, "heatmaps.limb_set: must be one of"),
])
def test_style_and_limb_config_validation(bad, msg):
    with pytest.raises(ConfigError, match=msg):
        from_dict(PipelineConfig, {"stages": ["heatmaps"], "heatmaps": bad})


@pytest.mark.parametrize("clip", ["default__ntu", "combo__demo_skeleton+ntu", "synth__tiny_box"])
def test_mmaction2_style_cache_equals_mmaction2(tmp_path, clip):
    d = {k.split("/", 1)[1]: MM_DATA[k] for k in MM_DATA.files if k.startswith(clip + "/")}
    h, w = (int(v) for v in d["img_shape"])
    write_aggregate(tmp_path / "aggregate" / "v.h5", d["src_keypoints"], d["src_scores"],
                    d["src_valid"], width=w, height=h)
    cfg = HeatmapsConfig(size=64, sigma=0.6, style="mmaction2", limbs=True, limb_set="mmaction2",
                         dtype="float32")
    path, summary = run_heatmaps_stage(tmp_path, "v", cfg)
    assert summary["style"] == "mmaction2" and summary["channels"] == 34
    assert summary["compact_box"] == [int(v) for v in d["compact_box"]]
    with h5py.File(path, "r") as fh:
        maps = fh["heatmaps"][...]
        a = fh.attrs
        assert a["style"] == "mmaction2" and a["limb_set"] == "mmaction2"
        assert tuple(a["compact_box"]) == tuple(int(v) for v in d["compact_box"])
        assert bool(a["compacted"]) == bool(d["compacted"])
        names = read_strings(fh, "channel_names")
        np.testing.assert_array_equal(fh["limbs"][...], np.asarray(COCO17.limb_set("mmaction2")))
        flip = fh["channel_flip"][...]
        art = HeatmapsArtifact.read(fh)
    assert names[17:20] == ["nose-left_shoulder", "nose-right_shoulder",
                            "left_shoulder-left_elbow"]
    assert flip[17] == 18 and flip[33] == 33 and flip[1] == 2
    assert art.style == "mmaction2" and art.compact is not None
    n = len(d["s64_sig0.6_joints"])
    want = np.concatenate([d["s64_sig0.6_joints"], d["s64_sig0.6_limbs"]], axis=1)
    assert np.abs(maps[:n] - want).max() <= 1e-6
    # the stored grid keypoints are mmaction2's (where a joint is drawn)
    drawn = np.isfinite(art.keypoints).all(-1)
    grid = np.swapaxes(d["s64_sig0.6_grid_keypoint"], 0, 1)
    np.testing.assert_array_equal(art.keypoints[drawn], grid[drawn])
    # and the float crop box + scale still map them back to the frame
    src = CropBox.from_array(art.crop_box).to_source(art.keypoints, 64)
    ok = drawn & (d["src_keypoints"] != 0).all(-1)
    np.testing.assert_allclose(src[ok], d["src_keypoints"][ok], atol=0.05)
    np.testing.assert_allclose(art.scale, CropBox.from_array(art.crop_box).scale(64), rtol=1e-6)


def test_limb_sets_explicit_lists_and_old_artifacts(tmp_path):
    kp, sc, valid = walking_sequence(8, persons=1)
    write_aggregate(tmp_path / "aggregate" / "v.h5", kp, sc, valid)
    cfg = HeatmapsConfig(joints=False, limbs=True, limb_pairs=((5, 7), (6, 8)))
    path, summary = run_heatmaps_stage(tmp_path, "v", cfg)
    with h5py.File(path, "a") as fh:
        assert read_strings(fh, "channel_names") == ["left_shoulder-left_elbow",
                                                     "right_shoulder-right_elbow"]
        assert fh.attrs["limb_set"] == "custom" and fh.attrs["style"] == "posetools"
        assert fh["channel_flip"][...].tolist() == [1, 0]
        del fh.attrs["style"], fh.attrs["limb_set"]  # an artifact written before styles
    with h5py.File(path, "r") as fh:
        old = HeatmapsArtifact.read(fh)
    assert old.style == "posetools" and old.limb_set == "default" and old.compact is None
    with pytest.raises(ConfigError, match="mirror"):
        run_heatmaps_stage(tmp_path, "v", HeatmapsConfig(limbs=True, limb_pairs=((5, 7),)))
    write_aggregate(tmp_path / "aggregate" / "h.h5", np.zeros((2, 1, 26, 2), np.float32),
                    np.zeros((2, 1, 26), np.float32), np.zeros((2, 1), bool), layout="halpe26")
    with pytest.raises(ConfigError, match="no limb set 'mmaction2'") as err:
        run_heatmaps_stage(tmp_path, "h", HeatmapsConfig(limbs=True, limb_set="mmaction2"))
    assert err.value.video_id == "h" and err.value.stage == "heatmaps"
