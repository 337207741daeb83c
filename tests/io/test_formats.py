"""pyskl/mmaction2 pickle and COCO JSON export/import."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from posetools.errors import PosetoolsError
from posetools.io.formats.coco import (
    export_coco,
    export_coco_json,
    read_coco_annotation_records,
    read_coco_json,
)
from posetools.io.formats.pyskl import export_pyskl, read_pyskl
from posetools.io.formats.sequence import read_artifact
from posetools.io.manifest import ManifestEntry
from posetools.skeletons import COCO17
from tests.support.heatmap_fixtures import walking_sequence, write_aggregate


def entries(tmp_path, rows):
    return [ManifestEntry(video_id=v, path=tmp_path / f"{v}.mp4", row=i + 1, split=s, label=lb)
            for i, (v, s, lb) in enumerate(rows)]


@pytest.fixture
def out(tmp_path):
    for i, (vid, n, p) in enumerate((("a", 30, 2), ("b", 12, 1))):
        kp, sc, valid = walking_sequence(n, persons=p, seed=i)
        write_aggregate(tmp_path / "aggregate" / f"{vid}.h5", kp, sc, valid, width=640,
                        height=360)
    nobody = np.full((4, 1, 17, 2), np.nan, np.float32)
    write_aggregate(tmp_path / "aggregate" / "n.h5", nobody, np.zeros((4, 1, 17), np.float32),
                    np.zeros((4, 1), bool))
    return tmp_path


def test_pyskl_pickle_layout(out, tmp_path):
    rows = [("a", "train", "wave"), ("b", "val", "walk"), ("n", None, "wave"), ("z", "val", "x")]
    summary = export_pyskl(out, entries(tmp_path, rows), tmp_path / "ann.pkl",
                           label_names=["walk", "wave", "x"])
    assert summary["videos"] == 3 and summary["skipped"] == ["z"]
    assert summary["label_rule"] == "label map"
    with open(tmp_path / "ann.pkl", "rb") as fh:
        data = pickle.load(fh)
    assert data["split"] == {"train": ["a"], "val": ["b"], "unsplit": ["n"]}
    assert data["label_names"] == ["walk", "wave", "x"]
    a, b, n = data["annotations"]
    assert a["frame_dir"] == "a" and a["label"] == 1 and b["label"] == 0
    assert a["img_shape"] == (360, 640) and a["original_shape"] == (360, 640)
    assert a["total_frames"] == 30
    assert a["keypoint"].shape == (2, 30, 17, 2) and a["keypoint"].dtype == np.float32
    assert a["keypoint_score"].shape == (2, 30, 17)
    assert b["keypoint"].shape == (1, 12, 17, 2)
    assert n["keypoint"].shape == (0, 4, 17, 2)  # nobody: no invented person
    assert np.isfinite(a["keypoint"]).all()  # missing joints are 0 with score 0
    np.testing.assert_array_equal(a["posetools_frame_index"], np.arange(30) * 2)
    assert "frame_inds" not in a  # mmaction2 would sample by it
    src = read_artifact(out / "aggregate" / "a.h5")
    miss = a["keypoint_score"] == 0
    assert (a["keypoint"][miss] == 0).all()
    ok = ~miss
    np.testing.assert_array_equal(a["keypoint"][ok], src.keypoints.transpose(1, 0, 2, 3)[ok])


def test_pyskl_round_trip_is_opt_in(out, tmp_path):
    export_pyskl(out, entries(tmp_path, [("a", "train", 3), ("b", "train", 5)]),
                 tmp_path / "ann.pkl")
    with pytest.raises(PosetoolsError, match="arbitrary code"):
        read_pyskl(tmp_path / "ann.pkl")
    seqs = read_pyskl(tmp_path / "ann.pkl", allow_pickle=True)
    assert [s.video_id for s in seqs] == ["a", "b"] and [s.label for s in seqs] == [3, 5]
    assert seqs[0].split == "train" and (seqs[0].width, seqs[0].height) == (640, 360)
    src = read_artifact(out / "aggregate" / "a.h5")
    got = seqs[0]
    np.testing.assert_array_equal(got.keypoints, src.keypoints)  # NaN where missing
    np.testing.assert_array_equal(got.scores, src.scores)
    np.testing.assert_array_equal(got.valid, src.valid)


def test_coco_json_round_trip(out, tmp_path):
    path = export_coco_json(out / "aggregate" / "a.h5", tmp_path / "a.json")
    data = json.loads(path.read_text())
    assert len(data["images"]) == 30
    assert data["categories"][0]["keypoints"] == list(COCO17.joints)
    ann = data["annotations"][0]
    assert len(ann["keypoints"]) == 51 and set(ann["keypoints"][2::3]) <= {0, 2}
    seq = read_coco_json(path)
    src = read_artifact(out / "aggregate" / "a.h5")
    np.testing.assert_allclose(seq.keypoints, src.keypoints, atol=1e-3)
    np.testing.assert_allclose(seq.scores, src.scores, atol=1e-5)
    np.testing.assert_array_equal(seq.valid, src.valid)
    np.testing.assert_array_equal(seq.frame_index, src.frame_index)


def test_reads_real_coco_annotations(images_dir):
    path = images_dir / "coco" / "test_coco.json"
    raw = json.loads(path.read_text())
    seq = read_coco_json(path)
    assert seq.keypoints.shape[0] == len(raw["images"]) and seq.keypoints.shape[2] == 17
    assert int(seq.valid.sum()) == sum(1 for a in raw["annotations"] if a["num_keypoints"] > 0)
    first = raw["annotations"][0]
    t = [im["id"] for im in sorted(raw["images"], key=lambda im: im["id"])].index(
        first["image_id"])
    xyv = np.asarray(first["keypoints"], np.float32).reshape(17, 3)
    vis = xyv[:, 2] > 0
    rows = [p for p in range(seq.keypoints.shape[1])
            if np.allclose(seq.keypoints[t, p][vis], xyv[vis, :2])]
    assert rows, "the first annotation's visible joints are not found"
    assert np.isnan(seq.keypoints[t, rows[0]][~vis]).all()


def test_coco_export_ids_are_unique_across_videos_and_merge(out, tmp_path):
    arts = [out / "aggregate" / f"{v}.h5" for v in ("a", "b", "n")]
    summary = export_coco(arts, tmp_path / "per_video")
    files = [json.loads(Path(f).read_text()) for f in summary["files"]]
    assert [len(d["images"]) for d in files] == [30, 12, 4] and summary["images"] == 46
    image_ids = [im["id"] for d in files for im in d["images"]]
    anno_ids = [a["id"] for d in files for a in d["annotations"]]
    assert len(set(image_ids)) == len(image_ids) == 46 and min(image_ids) == 1
    assert len(set(anno_ids)) == len(anno_ids) == summary["annotations"]
    assert files[1]["images"][0] == {"id": 31, "file_name": "b/000000.jpg", "width": 640,
                                     "height": 360, "frame_index": 0, "video_id": "b"}
    assert all(a["image_id"] in {im["id"] for im in d["images"]}
               for d in files for a in d["annotations"])
    merged_path = tmp_path / "all.json"
    merged = export_coco(arts, merged_path, merge=True)
    data = json.loads(merged_path.read_text())
    assert merged["files"] == [str(merged_path)] and len(data["images"]) == 46
    assert data["images"] == [im for d in files for im in d["images"]]
    assert data["annotations"] == [a for d in files for a in d["annotations"]]
    # each video comes back out of the merged file, frames and keypoints as written
    for vid in ("a", "b"):
        seq = read_coco_json(merged_path, video_id=vid)
        src = read_artifact(out / "aggregate" / f"{vid}.h5")
        np.testing.assert_array_equal(seq.frame_index, src.frame_index)
        np.testing.assert_allclose(seq.keypoints, src.keypoints, atol=5e-4)


def test_coco_round_trip_through_the_import_reader(out, tmp_path):
    """import(export(x)) == x to the written precision (3 decimals, scores 5)."""
    export_coco([out / "aggregate" / "a.h5", out / "aggregate" / "b.h5"], tmp_path / "m.json",
                merge=True)
    for vid in ("a", "b"):
        rec = read_coco_annotation_records(tmp_path / "m.json", video_id=vid)
        src = read_artifact(out / "aggregate" / f"{vid}.h5")
        assert rec.layout == "coco17" and "frame_index" in rec.frame_rule
        np.testing.assert_array_equal(rec.frames, src.frame_index)
        ok = src.valid & (src.scores > 0).any(-1)
        t_idx, p_idx = np.nonzero(ok)
        np.testing.assert_array_equal(rec.frame_index, src.frame_index[t_idx])
        np.testing.assert_allclose(rec.keypoints, src.keypoints[t_idx, p_idx], atol=5e-4)
        np.testing.assert_allclose(rec.scores, src.scores[t_idx, p_idx], atol=5e-6)
        assert np.isnan(rec.keypoints[rec.scores == 0]).all()


def test_merged_coco_export_loads_in_pycocotools(out, tmp_path):
    coco_mod = pytest.importorskip("pycocotools.coco", reason="pycocotools not installed")
    export_coco([out / "aggregate" / v for v in ("a.h5", "b.h5", "n.h5")], tmp_path / "m.json",
                merge=True)
    coco = coco_mod.COCO(str(tmp_path / "m.json"))
    assert len(coco.getImgIds()) == 46
    b_images = [i for i in coco.getImgIds() if coco.imgs[i]["video_id"] == "b"]
    assert [coco.imgs[i]["frame_index"] for i in b_images] == list(range(0, 24, 2))
    assert all(coco.anns[a]["image_id"] in coco.imgs for a in coco.getAnnIds())
