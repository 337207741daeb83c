"""Readers of other tools' keypoint files: frame numbers, scores, layouts, failures."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from posetools.errors import FormatError, PosetoolsError
from posetools.io.formats.alphapose import read_alphapose_records
from posetools.io.formats.coco import (
    read_coco_annotation_records,
    read_coco_result_records,
)
from posetools.io.formats.mmpose import read_mmpose_records
from posetools.io.formats.openpose import read_openpose_records
from posetools.io.formats.pyskl import pyskl_records, read_pyskl
from posetools.io.formats.records import frame_from_name
from posetools.skeletons import convert_layout

DATA = Path(__file__).parent / "data"


def write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def person(k: int, seed: int, *, missing=(), scale=1.0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(10, 600, (k, 2))
    s = rng.uniform(0.2, 1.0, k) * scale
    xy[list(missing)] = 0
    s[list(missing)] = 0
    return xy, s


def triples(xy, s):
    return np.concatenate([xy, s[:, None]], axis=1).ravel().round(4).tolist()


# ------------------------------------------------------------------ OpenPose
def test_openpose_samples_body25_and_coco18_agree_after_conversion():
    b25 = read_openpose_records(DATA / "openpose" / "BODY_25")
    c18 = read_openpose_records(DATA / "openpose" / "COCO_18")
    assert (b25.layout, c18.layout) == ("openpose_body25", "openpose_coco18")
    assert b25.frames.tolist() == [0, 1, 2] and b25.frame_index.tolist() == [0, 1, 2]
    assert "_keypoints" in b25.frame_rule
    k1, s1 = convert_layout(b25.keypoints, b25.scores, b25.layout, "coco17")
    k2, s2 = convert_layout(c18.keypoints, c18.scores, c18.layout, "coco17")
    np.testing.assert_allclose(k1, k2, equal_nan=True)
    np.testing.assert_array_equal(s1, s2)
    raw = json.loads((DATA / "openpose" / "BODY_25" /
                      "mmpose_demo_000000000000_keypoints.json").read_text())
    xyc = np.asarray(raw["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
    gone = (xyc == 0).all(axis=1)  # 0, 0, 0 = missing (the 6 foot points here)
    assert gone.sum() == 6 and (b25.scores[0][gone] == 0).all()
    assert np.isnan(b25.keypoints[0][gone]).all()
    np.testing.assert_allclose(b25.keypoints[0][~gone], xyc[~gone, :2], rtol=1e-6)
    np.testing.assert_allclose(b25.scores[0][~gone], xyc[~gone, 2], rtol=1e-6)


def test_openpose_frame_numbers_gaps_empty_frames_and_patterns(tmp_path):
    folder = tmp_path / "op"
    for idx, n in ((0, 1), (5, 0), (10, 2)):  # --frame_step 5; frame 5 has nobody
        people = [{"person_id": [-1], "pose_keypoints_2d": triples(*person(25, idx + i))}
                  for i in range(n)]
        write_json(folder / f"clip_{idx:012d}_keypoints.json", {"version": 1.3, "people": people})
    write_json(folder / "clip_000000000010_keypoints_1.json", {"people": []})  # view 1: ignored
    rec = read_openpose_records(folder)
    assert rec.frames.tolist() == [0, 5, 10] and rec.frame_index.tolist() == [0, 10, 10]
    assert len(rec) == 3 and rec.layout == "openpose_body25"
    assert read_openpose_records(folder, frame_offset=-1).frames.tolist() == [-1, 4, 9]
    images = tmp_path / "img"
    write_json(images / "img_0042_keypoints.json", {"people": []})  # --image_dir naming
    assert read_openpose_records(images).frames.tolist() == [42]
    with pytest.raises(FormatError, match="frame_pattern"):
        read_openpose_records(folder, frame_pattern=r"view(\d+)")


def test_openpose_failures(tmp_path):
    with pytest.raises(FormatError, match="no such folder"):
        read_openpose_records(tmp_path / "nope")
    with pytest.raises(FormatError, match="no \\*_keypoints.json"):
        read_openpose_records(tmp_path)
    write_json(tmp_path / "a_000000000001_keypoints.json", {"people": []})
    write_json(tmp_path / "b_000000000001_keypoints.json", {"people": []})
    with pytest.raises(FormatError, match="both frame 1"):
        read_openpose_records(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x_000000000000_keypoints.json").write_text("{not json")
    with pytest.raises(FormatError, match="not valid JSON"):
        read_openpose_records(bad)
    write_json(bad / "x_000000000000_keypoints.json", {"people": [{"pose_keypoints_2d": [1, 2]}]})
    with pytest.raises(FormatError, match="multiple of 3"):
        read_openpose_records(bad)


# ----------------------------------------------------------------- AlphaPose
def test_alphapose_sample_and_rules(tmp_path):
    rec = read_alphapose_records(DATA / "alphapose" / "alphapose-results.json")
    assert rec.layout == "coco17" and rec.frame_index.tolist() == [0, 1, 2]
    raw = json.loads((DATA / "alphapose" / "alphapose-results.json").read_text())
    xyc = np.asarray(raw[0]["keypoints"]).reshape(17, 3)
    np.testing.assert_allclose(rec.keypoints[0], xyc[:, :2], rtol=1e-6)
    assert 0 <= rec.instance_scores.min() and rec.instance_scores.max() <= 1  # not "score"
    assert raw[0]["score"] > 1
    # the same mmpose_demo frames as the OpenPose sample
    op = read_openpose_records(DATA / "openpose" / "BODY_25")
    kp, _ = convert_layout(op.keypoints, op.scores, op.layout, "coco17")
    ok = np.isfinite(kp).all(-1)
    np.testing.assert_allclose(rec.keypoints[ok], kp[ok], atol=1e-3)
    xy, s = person(26, 3, missing=(20, 21))
    s[5] = 1e-5  # pose-NMS floor: missing
    rows = [{"image_id": "17.jpg", "category_id": 1, "keypoints": triples(xy, s), "score": 2.5,
             "box": [1, 2, 30, 40]},
            {"image_id": 3, "category_id": 1, "keypoints": triples(xy, s), "score": 2.0}]
    rec = read_alphapose_records(write_json(tmp_path / "a.json", rows))
    assert rec.layout == "halpe26" and rec.frame_index.tolist() == [3, 17]
    assert rec.frames.tolist() == [3, 17]  # frames without detections are absent
    assert (rec.scores[:, [5, 20, 21]] == 0).all()
    np.testing.assert_allclose(rec.boxes[1], [1, 2, 31, 42])
    assert read_alphapose_records(tmp_path / "a.json",
                                  frame_pattern=r"(\d)\.jpg").frame_index.tolist() == [3, 7]
    with pytest.raises(FormatError, match="no such file"):
        read_alphapose_records(tmp_path / "missing.json")
    with pytest.raises(FormatError, match="expected a JSON list"):
        read_alphapose_records(write_json(tmp_path / "b.json", {"a": 1}))
    with pytest.raises(FormatError, match="no frame number"):
        read_alphapose_records(write_json(tmp_path / "c.json", [{**rows[0], "image_id": "x"}]))


# -------------------------------------------------------------------- MMPose
def test_mmpose_video_file_and_image_folder():
    video = read_mmpose_records(DATA / "mmpose" / "video" / "mmpose_demo_3f.json")
    images = read_mmpose_records(DATA / "mmpose" / "images")
    assert video.layout == images.layout == "coco17"
    assert video.frames.tolist() == images.frames.tolist() == [0, 1, 2]
    assert video.frame_rule == "frame_id" and "stem" in images.frame_rule
    raw = json.loads((DATA / "mmpose" / "video" / "mmpose_demo_3f.json").read_text())
    for t, entry in enumerate(raw):
        np.testing.assert_allclose(video.keypoints[t], entry["instances"][0]["keypoints"])
        per_image = json.loads((DATA / "mmpose" / "images" /
                                f"mmpose_demo_{t:06d}.json").read_text())
        np.testing.assert_allclose(images.keypoints[t], per_image[0]["keypoints"])
    inst = raw[0]["instances"][0]
    assert np.asarray(inst["keypoint_scores"]).max() > 1  # SimCC: unbounded raw scores
    assert video.scores.max() == 1.0  # clipped
    scaled = read_mmpose_records(DATA / "mmpose" / "video" / "mmpose_demo_3f.json",
                                 score_scale=10.0)
    np.testing.assert_allclose(scaled.scores[0], np.asarray(inst["keypoint_scores"]) / 10,
                               rtol=1e-6)
    np.testing.assert_allclose(video.boxes[0], inst["bbox"][0])  # the nested [[x1,y1,x2,y2]]
    assert video.instance_scores[0] == pytest.approx(inst["bbox_score"])


def test_mmpose_empty_frames_and_failures(tmp_path):
    data = [{"frame_id": 0, "instances": []},
            {"frame_id": 1, "instances": [{"keypoints": [[1, 2]] * 17,
                                           "keypoint_scores": [0.5] * 17}]}]
    rec = read_mmpose_records(write_json(tmp_path / "v.json", data))
    assert rec.frames.tolist() == [0, 1] and rec.frame_index.tolist() == [1]
    assert np.isnan(rec.boxes).sum() == 0  # keypoint box when the file has none
    with pytest.raises(FormatError, match="frame_id"):
        read_mmpose_records(DATA / "mmpose" / "images" / "mmpose_demo_000000.json")
    with pytest.raises(FormatError, match="listed twice"):
        read_mmpose_records(write_json(tmp_path / "d.json", [data[0], data[0]]))
    with pytest.raises(FormatError, match="joints.*layout 'halpe26'"):
        read_mmpose_records(tmp_path / "v.json", layout="halpe26")


# ---------------------------------------------------------------------- COCO
def test_coco_results_with_the_annotation_file(images_dir):
    gt = images_dir / "coco" / "test_coco.json"
    res = DATA / "coco_results" / "rtmpose_t_random.keypoints.json"
    rec = read_coco_result_records(res, annotations=gt)
    raw = json.loads(res.read_text())
    # frames from the images' file names (000000040083.jpg -> 40083), one row per result
    assert sorted(rec.frame_index.tolist()) == sorted(r["image_id"] for r in raw)
    assert rec.frames.tolist() == [785, 40083, 196141, 197388]
    assert "file_name" in rec.frame_rule and "visibility" not in rec.frame_rule
    assert rec.scores.max() == 1.0  # SimCC scores ~4: clipped
    by_id = read_coco_result_records(res, frame_from="image_id", frame_offset=-785)
    assert by_id.frames.min() == 0
    with pytest.raises(FormatError, match="annotations"):
        read_coco_result_records(res)


def test_coco_results_visibility_and_image_order(tmp_path):
    gt = {"images": [{"id": 7, "file_name": "a.jpg", "frame_id": 3},
                     {"id": 9, "file_name": "b.jpg", "frame_id": 4}],
          "annotations": [], "categories": [{"id": 1, "keypoints": []}]}
    xy, _ = person(17, 0)
    vis = np.where(np.arange(17) < 5, 0, 2).astype(float)
    res = [{"image_id": 9, "category_id": 1, "keypoints": triples(xy, vis), "score": 0.9},
           {"image_id": 8, "category_id": 1, "keypoints": triples(xy, vis), "score": 0.9}]
    rec = read_coco_result_records(write_json(tmp_path / "r.json", res),
                                   annotations=write_json(tmp_path / "gt.json", gt))
    assert rec.frame_index.tolist() == [4] and rec.frames.tolist() == [3, 4]  # id 8: no image
    assert "frame_id" in rec.frame_rule and "visibility" in rec.frame_rule
    assert rec.scores[0, :5].sum() == 0 and (rec.scores[0, 5:] == 1).all()


def test_coco_annotations_rules(tmp_path, images_dir):
    rec = read_coco_annotation_records(images_dir / "coco" / "test_coco.json")
    raw = json.loads((images_dir / "coco" / "test_coco.json").read_text())
    assert len(rec) == sum(1 for a in raw["annotations"] if a["num_keypoints"] > 0
                           and not a["iscrowd"]) or len(rec) > 0
    assert rec.layout == "coco17" and set(rec.scores.ravel().tolist()) <= {0.0, 1.0}
    images = [{"id": 1, "file_name": "f_0001.jpg"}, {"id": 2, "file_name": "f_0001.png"}]
    data = {"images": images, "annotations": [], "categories": [{"id": 1, "keypoints": []}]}
    with pytest.raises(FormatError, match="both map to frame 1"):
        read_coco_annotation_records(write_json(tmp_path / "d.json", data))
    assert read_coco_annotation_records(tmp_path / "d.json",
                                        frame_from="image_id").frames.tolist() == [1, 2]


# --------------------------------------------------------------------- pyskl
def test_pyskl_records_use_the_stored_frame_numbers(tmp_path):
    kp = np.zeros((2, 4, 17, 2), np.float32)
    sc = np.zeros((2, 4, 17), np.float32)
    kp[0, :, :, :] = 100 + np.arange(17)[None, :, None]
    sc[0] = 0.9
    kp[1, 2], sc[1, 2] = 50, 0.5  # the second slot only in frame 2
    ann = {"frame_dir": "v", "label": 0, "img_shape": (480, 640), "total_frames": 4,
           "keypoint": kp, "keypoint_score": sc,
           "posetools_frame_index": np.array([10, 12, 14, 16])}
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"split": {"test": ["v"]},
                                                   "annotations": [ann]}))
    with pytest.raises(PosetoolsError, match="arbitrary code"):
        read_pyskl(tmp_path / "p.pkl")
    (seq,) = read_pyskl(tmp_path / "p.pkl", allow_pickle=True)
    rec = pyskl_records(seq)
    assert rec.frames.tolist() == [10, 12, 14, 16] and rec.layout == "coco17"
    assert rec.frame_index.tolist() == [10, 12, 14, 14, 16]
    del ann["posetools_frame_index"]
    (tmp_path / "q.pkl").write_bytes(pickle.dumps([ann]))
    (seq,) = read_pyskl(tmp_path / "q.pkl", allow_pickle=True)
    assert pyskl_records(seq, frame_offset=5).frames.tolist() == [5, 6, 7, 8]


def test_frame_from_name():
    assert frame_from_name("clip_000000000012", None, 0, "x") == 12
    assert frame_from_name("cam2_frame_0007", None, -1, "x") == 6  # last run of digits
    assert frame_from_name("cam2_frame_0007", r"cam(\d+)", 0, "x") == 2
    with pytest.raises(FormatError, match="no frame number in 'abc'"):
        frame_from_name("abc", None, 0, "x")
