"""Labels -> class ids: the rule, label maps, and the CSV path end to end (pyskl + datasets)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from posetools.cli import main
from posetools.errors import ManifestError
from posetools.io.formats.pyskl import export_pyskl
from posetools.io.labels import assign_label_ids, read_label_map
from posetools.io.manifest import load_manifest
from tests.support.heatmap_fixtures import walking_sequence, write_aggregate

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "data_manifests"


def test_integer_labels_are_the_ids():
    got = assign_label_ids([0, 12, 59, None, 9])
    assert got.ids == (0, 12, 59, -1, 9) and got.names is None and got.rule == "integers"


def test_string_labels_need_a_class_list():
    with pytest.raises(ManifestError, match="no class list.*--label-map.*--sorted-labels"):
        assign_label_ids(["wave", "walk"])
    got = assign_label_ids(["wave", "walk", None], names=["walk", "wave"])
    assert got.ids == (1, 0, -1) and got.names == ("walk", "wave") and got.rule == "label map"
    with pytest.raises(ManifestError, match="v2: label 'run' is not in the label map"):
        assign_label_ids(["walk", "run"], names=["walk"], videos=["v1", "v2"])


def test_sorted_order_only_when_asked_and_says_so():
    got = assign_label_ids(["9", "10", "2"], sort_strings=True)
    assert got.names == ("10", "2", "9") and got.ids == (2, 0, 1)  # string order, on purpose
    assert got.rule == "sorted strings (opt-in)"
    with pytest.raises(ManifestError, match="mix integers"):
        assign_label_ids([3, "walk"], sort_strings=True)


def test_integer_labels_with_a_map_and_bad_labels():
    got = assign_label_ids([1, "b"], names=["a", "b", "c"])
    assert got.ids == (1, 1) and got.names == ("a", "b", "c")
    with pytest.raises(ManifestError, match="label 3 is not an id of the label map"):
        assign_label_ids([3], names=["a", "b", "c"])
    with pytest.raises(ManifestError, match="negative"):
        assign_label_ids([-2])
    with pytest.raises(ManifestError, match="neither an integer nor a string"):
        assign_label_ids([True])


def test_read_label_map(tmp_path):
    p = tmp_path / "labels.txt"
    p.write_text(" walk\nwave \n\n")
    assert read_label_map(p) == ["walk", "wave"]
    p.write_text("walk\n\nwave\nwalk\n")
    with pytest.raises(ManifestError) as err:
        read_label_map(p)
    assert err.value.problems == ["line 2: empty class name", "line 4: 'walk' already at line 1"]
    with pytest.raises(ManifestError, match="cannot read"):
        read_label_map(tmp_path / "none.txt")
    assert len(read_label_map(MANIFESTS / "penn_action_labels.txt")) == 15


def write_artifacts(out: Path, entries) -> None:
    for i, e in enumerate(entries):
        kp, sc, valid = walking_sequence(6, persons=1, seed=i)
        write_aggregate(out / "aggregate" / f"{e.video_id}.h5", kp, sc, valid)


def test_ntu_csv_labels_end_to_end(tmp_path):
    """data_manifests/ntu_rgbd.csv -> export pyskl / torch datasets keep NTU's class ids.

    Needs integer-looking CSV labels to be parsed as integers by ``load_manifest``.
    """
    entries = load_manifest(MANIFESTS / "ntu_rgbd.csv", check_files=False)
    want = {"S001C001P001R001A001": 0, "S001C002P003R002A013": 12, "S017C003P020R002A060": 59}
    assert {e.video_id: e.label for e in entries} == want, (
        "load_manifest must parse integer-looking CSV labels as ints")
    write_artifacts(tmp_path, entries)
    summary = export_pyskl(tmp_path, entries, tmp_path / "ntu.pkl")
    assert summary["label_rule"] == "integers" and summary["label_names"] is None
    with open(tmp_path / "ntu.pkl", "rb") as fh:
        data = pickle.load(fh)
    assert {a["frame_dir"]: a["label"] for a in data["annotations"]} == want
    assert "label_names" not in data
    torch_datasets = pytest.importorskip("posetools.torch.datasets")
    ds = torch_datasets.KeypointClipDataset(tmp_path, entries, source="aggregate", clip_len=4,
                                            test_mode=True)
    assert dict(zip(ds.video_ids, ds.labels, strict=True)) == want
    assert [ds[i]["label"].item() for i in range(len(ds))] == [want[v] for v in ds.video_ids]


def test_string_csv_labels_through_the_label_map(tmp_path):
    entries = load_manifest(MANIFESTS / "penn_action.csv", check_files=False)
    write_artifacts(tmp_path, entries)
    with pytest.raises(ManifestError, match="string label"):
        export_pyskl(tmp_path, entries, tmp_path / "p.pkl")
    names = read_label_map(MANIFESTS / "penn_action_labels.txt")
    summary = export_pyskl(tmp_path, entries, tmp_path / "p.pkl", label_names=names)
    with open(tmp_path / "p.pkl", "rb") as fh:
        data = pickle.load(fh)
    assert data["label_names"] == names == summary["label_names"]
    by_id = {a["frame_dir"]: a["label"] for a in data["annotations"]}
    assert by_id == {"penn_0001": 0, "penn_0002": 0, "penn_1258": names.index("jumping_jacks")}
    torch_datasets = pytest.importorskip("posetools.torch.datasets")
    ds = torch_datasets.KeypointClipDataset(tmp_path, entries, source="aggregate", clip_len=4,
                                            label_map=MANIFESTS / "penn_action_labels.txt")
    assert ds.label_names == names and ds.labels == [by_id[v] for v in ds.video_ids]
    with pytest.raises(ManifestError, match="string label"):
        torch_datasets.KeypointClipDataset(tmp_path, entries, source="aggregate", clip_len=4)


def test_cli_export_pyskl_label_options(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("video_id,path,split,label\na,a.mp4,train,wave\nb,b.mp4,val,walk\n")
    write_artifacts(tmp_path, load_manifest(m, check_files=False))
    cli = CliRunner()
    base = ["export", "pyskl", str(tmp_path / "x.pkl"), "-o", str(tmp_path), "-m", str(m)]
    r = cli.invoke(main, base)
    assert r.exit_code == 2 and "--label-map" in r.output and not (tmp_path / "x.pkl").exists()
    (tmp_path / "labels.txt").write_text("wave\nwalk\n")
    r = cli.invoke(main, [*base, "--label-map", str(tmp_path / "labels.txt")])
    assert r.exit_code == 0, r.output
    assert "2 classes" in r.output and "np.Inf" in r.output
    with open(tmp_path / "x.pkl", "rb") as fh:
        data = pickle.load(fh)
    assert [a["label"] for a in data["annotations"]] == [0, 1]
    assert data["label_names"] == ["wave", "walk"] and data["split"] == {"train": ["a"],
                                                                          "val": ["b"]}
    r = cli.invoke(main, [*base, "--sorted-labels"])
    assert r.exit_code == 0 and "sorted string order" in r.output and "0=walk, 1=wave" in r.output
    with open(tmp_path / "x.pkl", "rb") as fh:
        assert [a["label"] for a in pickle.load(fh)["annotations"]] == [1, 0]
    assert np.array_equal(data["annotations"][0]["posetools_frame_index"], np.arange(6) * 2)
