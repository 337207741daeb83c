import json

import pytest

from posetools.errors import ManifestError
from posetools.io.manifest import filter_entries, load_manifest, manifest_from_paths


def _videos(tmp_path, *names):
    root = tmp_path / "data"
    root.mkdir(exist_ok=True)
    for n in names:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_bytes(b"x")
    return root


def test_csv_ok_with_optional_columns(tmp_path):
    root = _videos(tmp_path, "a.mp4", "sub/b.mp4")
    m = tmp_path / "m.csv"
    m.write_text("video_id,path,split,label,transcript,start,end\n"
                 "a,a.mp4,train,3,take|pour|stir,0,2.5\n"
                 f"b,{root / 'sub/b.mp4'},test,,,,\n")
    es = load_manifest(m, data_root=root)
    assert [e.video_id for e in es] == ["a", "b"]
    assert es[0].transcript == ("take", "pour", "stir") and es[0].end == 2.5
    assert es[0].path == (root / "a.mp4").resolve()
    assert es[1].transcript is None and es[1].label is None and es[1].row == 2


def test_jsonl_ok(tmp_path):
    root = _videos(tmp_path, "a.mp4")
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps({"video_id": "a", "path": "a.mp4", "transcript": ["x", "y"],
                             "label": 1}) + "\n\n")
    (e,) = load_manifest(m, data_root=root)
    assert e.transcript == ("x", "y") and e.label == 1


def test_all_problems_reported_at_once(tmp_path):
    root = _videos(tmp_path, "a.mp4")
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"x")
    m = tmp_path / "m.jsonl"
    rows = [
        {"video_id": "a", "path": "a.mp4"},
        {"video_id": "a", "path": "a.mp4"},                 # duplicate id
        {"video_id": "../x", "path": "a.mp4"},              # escaping id
        {"video_id": "c", "path": "../outside.mp4"},        # escaping path
        {"video_id": "d", "path": "missing.mp4"},           # missing file
        {"video_id": "e", "path": "a.mp4", "colour": "red"},  # unknown column
        {"video_id": "f", "path": "a.mp4", "start": 3, "end": 1},  # bad range
        {"path": "a.mp4"},                                  # missing id
    ]
    m.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(ManifestError) as ei:
        load_manifest(m, data_root=root)
    probs = ei.value.problems
    text = "\n".join(probs)
    assert "line 2: duplicate video_id 'a' (first at line 1)" in text
    assert "line 3: video_id '../x' is not a safe file name" in text
    assert "line 4: path '../outside.mp4' escapes the data root" in text
    assert "line 5: video file not found" in text
    assert "line 6: unknown column(s) ['colour']" in text
    assert "line 7: end=1.0 must be > start=3.0" in text
    assert "line 8: missing required video_id" in text
    assert len(probs) == 7


@pytest.mark.parametrize("bad_id", ["..", ".", "a/b", "a\\b", "x y", ""])
def test_unsafe_ids(tmp_path, bad_id):
    root = _videos(tmp_path, "a.mp4")
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps({"video_id": bad_id, "path": "a.mp4"}))
    with pytest.raises(ManifestError):
        load_manifest(m, data_root=root)


def test_csv_unknown_header_and_types(tmp_path):
    root = _videos(tmp_path, "a.mp4")
    m = tmp_path / "m.csv"
    m.write_text("video_id,path,fps\na,a.mp4,30\n")
    with pytest.raises(ManifestError, match="unknown column"):
        load_manifest(m, data_root=root)
    m2 = tmp_path / "m.txt"
    m2.write_text("x")
    with pytest.raises(ManifestError, match="use .csv or .jsonl"):
        load_manifest(m2)


def test_filters_and_paths(tmp_path):
    root = _videos(tmp_path, "a.mp4", "b.mp4")
    m = tmp_path / "m.csv"
    m.write_text("video_id,path,split\na,a.mp4,train\nb,b.mp4,test\n")
    es = load_manifest(m, data_root=root)
    assert [e.video_id for e in filter_entries(es, split="test")] == ["b"]
    assert [e.video_id for e in filter_entries(es, ("a",))] == ["a"]
    with pytest.raises(ManifestError, match="unknown video_id 'zz'"):
        filter_entries(es, ("zz",))
    (e,) = manifest_from_paths([root / "a.mp4"])
    assert e.video_id == "a"


def test_shipped_example_manifests_parse(tmp_path):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "data_manifests"
    files = sorted(folder.glob("*.csv")) + sorted(folder.glob("*.jsonl"))
    assert len(files) >= 5
    for f in files:
        es = load_manifest(f, data_root=tmp_path, check_files=False)
        assert es and len({e.video_id for e in es}) == len(es)


def test_paths_resolve_like_path_resolve_through_links(tmp_path):
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    for name in ("a.mp4", "b.mp4"):
        (real / "sub" / name).write_bytes(b"x")
    root = tmp_path / "root"
    root.mkdir()
    (root / "dirlink").symlink_to(real / "sub")  # a linked folder inside the root
    (root / "inside").mkdir()
    (root / "inside" / "c.mp4").write_bytes(b"x")
    (root / "filelink.mp4").symlink_to(root / "inside" / "c.mp4")
    rows = {"d": "dirlink/a.mp4", "f": "filelink.mp4", "u": "inside/../inside/c.mp4",
            "abs": str(real / "sub" / "b.mp4")}
    m = root / "m.csv"
    m.write_text("video_id,path\n" + "".join(f"{k},{v}\n" for k, v in rows.items()))
    with pytest.raises(ManifestError, match="row 1: path 'dirlink/a.mp4' escapes"):
        load_manifest(m)  # resolved through the link it is outside the root, as before
    m.write_text("video_id,path\n" + "".join(f"{k},{v}\n" for k, v in rows.items()
                                            if k != "d"))
    got = {e.video_id: e.path for e in load_manifest(m)}
    assert got == {k: (root / v).resolve() for k, v in rows.items() if k != "d"}
