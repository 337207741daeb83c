"""``backend: import``: other tools' keypoints through the estimate stage, into SST-A."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from posetools.config import from_dict
from posetools.config.models import ExpertConfig
from posetools.config.schema import AggregateConfig, PipelineConfig, VideoConfig
from posetools.errors import ConfigError, ExpertError, FormatError
from posetools.experts.build import EXPERTS, build_expert
from posetools.experts.types import PoseSource
from posetools.io.formats.pyskl import export_pyskl
from posetools.io.manifest import ManifestEntry
from posetools.skeletons import convert_layout
from posetools.stages.aggregate import AggregateStage
from posetools.stages.base import VideoJob
from posetools.stages.estimate import EstimateStage
from tests.support.heatmap_fixtures import walking_sequence, write_aggregate
from tests.support.jobs import make_job, run_process

SAMPLES = Path(__file__).parents[2] / "io" / "formats" / "data"
VIDEO = "mmpose_demo"  # 5 frames; the OpenPose / AlphaPose samples are its frames 0-2


def expert(name="op", **kw) -> ExpertConfig:
    return from_dict(ExpertConfig, {"name": name, "backend": "import", **kw})


def pipeline(*experts) -> PipelineConfig:
    return from_dict(PipelineConfig, {"stages": ["estimate", "aggregate"],
                                      "estimate": {"experts": list(experts)}})


@pytest.fixture
def files(tmp_path):
    shutil.copytree(SAMPLES / "openpose" / "BODY_25", tmp_path / "openpose" / VIDEO)
    (tmp_path / "alphapose" / VIDEO).mkdir(parents=True)
    shutil.copy(SAMPLES / "alphapose" / "alphapose-results.json",
                tmp_path / "alphapose" / VIDEO / "alphapose-results.json")
    return tmp_path


def op_cfg(root: Path) -> dict:
    return {"name": "openpose", "backend": "import", "format": "openpose",
            "path": str(root / "openpose" / "{video_id}")}


def ap_cfg(root: Path) -> dict:
    return {"name": "alphapose", "backend": "import", "format": "alphapose",
            "path": str(root / "alphapose" / "{video_id}" / "alphapose-results.json")}


def test_build_table_and_protocol(files):
    assert EXPERTS["import"] == ("imported", "ImportPoseSource")
    src = build_expert(expert(**op_cfg(files) | {"name": "op"}))
    assert isinstance(src, PoseSource) and not src.top_down
    assert src.model_id == f"import:openpose:{files}/openpose/{{video_id}}"
    other = build_expert(expert(**op_cfg(files) | {"name": "op", "frame_offset": 1}))
    assert src.checksum() != other.checksum() and src.checksum().startswith("import-")
    got = src.load(VIDEO)
    assert got.layout.name == "openpose_body25" and sorted(got.by_frame) == [0, 1, 2]
    assert got.at(4).keypoints.shape == (0, 25, 2)  # no record: zero instances


@pytest.mark.parametrize("bad,msg", [
    ({}, "format: backend import needs"),
    ({"format": "openpose"}, "path: backend import needs"),
    ({"format": "openpose", "path": "/x/{video}"}, "path: '/x/{video}' is not a template"),
    ({"format": "openpose", "path": "/x", "top_down": True}, "top_down: imported poses"),
    ({"format": "pyskl", "path": "/x.pkl"}, "allow_pickle: reading a pickle"),
    ({"format": "coco_results", "path": "/r.json"}, "annotations: coco_results"),
    ({"format": "openpose", "path": "/x", "annotations": "/a.json"}, "annotations: only for"),
    ({"format": "openpose", "path": "/x", "frame_from": "image_id"}, "frame_from: image_id"),
    ({"format": "openpose", "path": "/x", "frame_pattern": r"\d+"}, "exactly one group"),
    ({"format": "openpose", "path": "/x", "frame_pattern": "("}, "invalid regular"),
    ({"format": "openpose", "path": "/x", "layout": "body25"}, "layout: unknown 'body25'"),
    ({"format": "openpose", "path": "/x", "score_scale": 0}, "score_scale: must be > 0"),
    ({"format": "openpose", "path": "/x", "backend": "mediapipe"}, "format: only used with"),
    ({"format": "xml", "path": "/x"}, "format: must be one of"),
])
def test_config_validation(bad, msg):
    with pytest.raises(ConfigError, match=msg):
        from_dict(ExpertConfig, {"name": "e", "backend": "import", **bad})


def test_estimate_imports_openpose_and_alphapose_and_ssta_fuses_them(files, videos_dir, tmp_path):
    cfg = pipeline(op_cfg(files), ap_cfg(files))
    stage = EstimateStage.from_pipeline(cfg)
    assert stage.inputs() == () and stage.model_checksum().count("import-") == 2
    job = make_job(videos_dir / f"{VIDEO}.mp4")
    est = tmp_path / "estimate.h5"
    summary, _ = run_process(stage, job, est)
    assert summary["frames"] == 5
    for name in ("openpose", "alphapose"):
        s = summary[name]
        assert s["frames"] == 5 and s["frames_with_person"] == 3
        assert s["frames_matched"] == 3 and s["frames_with_person_outside_video"] == 0
    assert "_keypoints" in summary["openpose"]["source"]
    raw = json.loads((SAMPLES / "alphapose" / "alphapose-results.json").read_text())
    with h5py.File(est) as fh:
        op, ap = fh["experts/openpose"], fh["experts/alphapose"]
        assert op.attrs["layout"] == "openpose_body25" and ap.attrs["layout"] == "coco17"
        assert op.attrs["backend"] == "import" and op["n_instances"][...].tolist() == [1, 1, 1,
                                                                                    0, 0]
        kp_ap = ap["keypoints"][...]
        kp_op, sc_op = op["keypoints"][...], op["scores"][...]
    for t in range(3):  # AlphaPose's joints as written, frame by frame
        xyc = np.asarray(raw[t]["keypoints"]).reshape(17, 3)
        np.testing.assert_allclose(kp_ap[t, 0], xyc[:, :2], rtol=1e-6)
    assert np.isnan(kp_ap[3:]).all()  # nothing invented for the frames without a record
    # SST-A over both imported experts (OpenPose converted to COCO-17)
    agg_stage = AggregateStage(AggregateConfig(), VideoConfig())
    entry = ManifestEntry(video_id=VIDEO, path=job.video_path, row=1)
    agg_job = VideoJob(entry=entry, video_path=entry.path, out=tmp_path,
                       upstream={"estimate": est})
    with h5py.File(tmp_path / "aggregate.h5", "w") as out:
        agg = agg_stage.process(agg_job, out, lambda n: None)
    assert agg["frames"] == 5
    with h5py.File(tmp_path / "aggregate.h5") as fh:
        fused, valid = fh["keypoints"][...], fh["valid"][...]
        assert json.loads(fh.attrs["experts"]) == ["openpose", "alphapose"]
    assert valid[:3].any(axis=1).all() and not valid[3:].any()
    conv, _ = convert_layout(kp_op, sc_op, "openpose_body25", "coco17")
    ok = np.isfinite(fused[:3, 0]).all(-1) & np.isfinite(conv[:3, 0]).all(-1)
    assert ok.sum() >= 3 * 12
    np.testing.assert_allclose(fused[:3, 0][ok], conv[:3, 0][ok], atol=1e-2)  # same poses


def test_missing_malformed_and_misnumbered_files_fail_the_video(files, videos_dir, tmp_path):
    job = make_job(videos_dir / f"{VIDEO}.mp4")
    missing = pipeline(op_cfg(files) | {"path": str(files / "nowhere" / "{video_id}")})
    with pytest.raises(FormatError, match="no such folder") as err:
        run_process(EstimateStage.from_pipeline(missing), job, tmp_path / "e.h5")
    assert err.value.video_id == VIDEO and err.value.stage == "estimate"
    assert "expert 'openpose' (import:" in str(err.value)
    bad = files / "alphapose" / VIDEO / "alphapose-results.json"
    bad.write_text("[{")
    with pytest.raises(FormatError, match="not valid JSON"):
        run_process(EstimateStage.from_pipeline(pipeline(ap_cfg(files))), job, tmp_path / "e.h5")
    shifted = pipeline(op_cfg(files) | {"frame_offset": 100})
    with pytest.raises(ExpertError, match="none of the 3 frames.*100..102.*frame_offset"):
        run_process(EstimateStage.from_pipeline(shifted), job, tmp_path / "e.h5")


def test_frame_stride_and_offsets_map_explicitly(files, videos_dir, tmp_path):
    job = make_job(videos_dir / f"{VIDEO}.mp4")
    cfg = pipeline(op_cfg(files) | {"frame_offset": 2, "min_keypoint_score": 0.5})
    summary, _ = run_process(EstimateStage.from_pipeline(cfg), job, tmp_path / "e.h5")
    assert summary["openpose"]["frames_matched"] == 3  # file frames 0-2 are video frames 2-4
    with h5py.File(tmp_path / "e.h5") as fh:
        g = fh["experts/openpose"]
        assert g["n_instances"][...].tolist() == [0, 0, 1, 1, 1]
        sc = g["scores"][...]
    assert ((sc == 0) | (sc >= 0.5)).all()  # finalized like any expert's output


def test_pyskl_round_trip_through_the_import_expert(tmp_path):
    kp, sc, valid = walking_sequence(12, persons=2, seed=3)
    write_aggregate(tmp_path / "aggregate" / "v.h5", kp, sc, valid)
    entries = [ManifestEntry(video_id="v", path=tmp_path / "v.mp4", row=1, label=2)]
    export_pyskl(tmp_path, entries, tmp_path / "all.pkl")
    src = build_expert(expert(format="pyskl", path=str(tmp_path / "all.pkl"), allow_pickle=True))
    got = src.load("v")
    assert got.layout.name == "coco17"
    np.testing.assert_array_equal(got.frames, np.arange(12) * 2)  # posetools_frame_index
    for t in range(12):
        p = got.at(2 * t)
        slots = np.flatnonzero(valid[t])
        assert len(p) == len(slots)
        np.testing.assert_array_equal(p.keypoints, kp[t, slots])
        np.testing.assert_array_equal(p.scores, sc[t, slots])
    with pytest.raises(FormatError, match="no annotation with frame_dir 'w'"):
        src.load("w")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    junk = build_expert(expert(format="pyskl", path=str(tmp_path / "junk.pkl"), allow_pickle=True))
    with pytest.raises(FormatError, match="cannot be read"):
        junk.load("v")


def test_import_options_enter_only_import_experts_fingerprints(files):
    stage = EstimateStage.from_pipeline(pipeline({"name": "bp", "backend": "mediapipe"},
                                                 op_cfg(files)))
    bp, op = stage.params()["experts"]
    assert not {"format", "path", "frame_offset", "allow_pickle"} & set(bp)
    assert op["format"] == "openpose" and op["path"].endswith("{video_id}")
    assert "allow_pickle" not in op  # a runtime option
    shifted = EstimateStage.from_pipeline(pipeline({"name": "bp", "backend": "mediapipe"},
                                                   op_cfg(files) | {"frame_offset": 3}))
    assert shifted.params()["experts"][1] != op


def test_replacing_an_imported_file_reimports_that_video(files, videos_dir, tmp_path):
    from posetools.io.manifest import load_manifest
    from posetools.run.runner import Runner, RunOptions

    m = tmp_path / "m.csv"
    m.write_text(f"video_id,path\n{VIDEO},{videos_dir / f'{VIDEO}.mp4'}\n")
    cfg = from_dict(PipelineConfig, {"stages": ["estimate"],
                                     "estimate": {"experts": [op_cfg(files), ap_cfg(files)]}})

    def run():
        (rep,) = Runner(cfg, tmp_path / "out", RunOptions(progress=False)).run(load_manifest(m))
        return rep

    assert run().committed == [VIDEO]
    assert run().up_to_date == [VIDEO]
    frame = sorted((files / "openpose" / VIDEO).glob("*.json"))[1]
    data = json.loads(frame.read_text())
    data["people"][0]["pose_keypoints_2d"][0] += 3.0  # a moved joint in one frame file
    frame.write_text(json.dumps(data))
    assert run().committed == [VIDEO]
    assert run().up_to_date == [VIDEO]
