"""Hostile manifests and unusable folders: one-line errors with a non-zero exit, never a
traceback; read-only use never writes."""

from __future__ import annotations

import json
import subprocess

import pytest

from posetools.errors import ManifestError
from posetools.io.manifest import MAX_ID_LENGTH, load_manifest
from posetools.run.ledger import Ledger
from tests.support.media import write_clip
from tests.support.mounts import remount, tmpfs
from tests.support.processes import cli


def _cli(*args):
    return subprocess.run(cli(*args), capture_output=True, text=True, timeout=300)


def _one_line_error(r, rc=2) -> str:
    assert r.returncode == rc, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert err, r.stderr
    return err[0]


# -------------------------------------------------------------------------- manifests


@pytest.fixture
def root(tmp_path):
    write_clip(tmp_path / "a.mp4", n=4)
    return tmp_path


def _problems(path, **kw) -> str:
    with pytest.raises(ManifestError) as ei:
        load_manifest(path, **kw)
    return "\n".join(ei.value.problems)


def test_ids_must_fit_every_derived_file_name(root):
    ok = "x" * MAX_ID_LENGTH
    m = root / "m.csv"
    m.write_text(f"video_id,path\n{ok},a.mp4\n{'y' * (MAX_ID_LENGTH + 1)},a.mp4\n")
    assert f"row 2: video_id is {MAX_ID_LENGTH + 1} characters long" in _problems(m)
    m.write_text(f"video_id,path\n{ok},a.mp4\n")
    out = root / "out"
    r = _cli("run", str(_probe_yaml(root)), "-m", str(m), "-o", str(out), "--no-progress")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (out / "probe" / f"{ok}.h5").is_file()


@pytest.mark.parametrize("vid", ["trail\n", ".x.h5.tmp-1", ".hidden", "a b", "../x", "é"])
def test_ids_that_are_not_plain_file_names_are_refused(root, vid):
    m = root / "m.jsonl"
    m.write_text(json.dumps({"video_id": vid, "path": "a.mp4"}) + "\n")
    assert "is not a safe file name" in _problems(m)


def test_a_byte_order_mark_is_accepted(root):
    (root / "m.csv").write_bytes(b"\xef\xbb\xbfvideo_id,path,label\na,a.mp4,7\n")
    (root / "m.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps({"video_id": "a",
                                                                   "path": "a.mp4"}).encode())
    (e,) = load_manifest(root / "m.csv")
    assert e.video_id == "a" and e.label == 7  # digits are an integer label
    assert load_manifest(root / "m.jsonl")[0].video_id == "a"


def test_jsonl_types_are_strict_and_every_problem_is_reported(root):
    m = root / "m.jsonl"
    lines = [json.dumps({"video_id": "a", "path": "a.mp4", "start": True}),
             json.dumps({"video_id": "b", "path": "a.mp4", "split": ["train"]}),
             '{"video_id": "c", "path": "a.mp4", "end": Infinity}',
             json.dumps({"video_id": 7, "path": "a.mp4"}),
             "[1, 2]",
             "not json",
             json.dumps({"video_id": "d", "path": "a.mp4", "transcript": "x|y"}),
             json.dumps({"video_id": "e", "path": "a.mp4", "label": 1.5})]
    m.write_text("\n".join(lines) + "\n")
    text = _problems(m)
    for want in ("line 1: start must be a number, got bool",
                 "line 2: split must be a string, got list",
                 "line 3: invalid JSON: Infinity is not a finite number",
                 "line 4: video_id must be a string, got int",
                 "line 5: expected a JSON object, got list",
                 "line 6: invalid JSON",
                 "line 7: transcript must be a JSON list of strings",
                 "line 8: label must be an integer or a string, got float"):
        assert want in text, text


def test_csv_non_finite_times_and_non_utf8_files(root):
    m = root / "m.csv"
    m.write_text("video_id,path,start,end\na,a.mp4,0,inf\n")
    assert "end='inf' must be a finite number" in _problems(m)
    m.write_bytes(b"video_id,path\n\xff\xfe,a.mp4\n")
    r = _cli("check-manifest", str(m))
    assert "not UTF-8 text: byte 0xff" in r.stderr and r.returncode == 2, r.stderr


# ---------------------------------------------------------------------- output folders


def _probe_yaml(root):
    p = root / "p.yaml"
    p.write_text("stages: [probe]\n")
    return p


def test_out_under_a_file_is_a_one_line_error(root):
    m = root / "m.csv"
    m.write_text("video_id,path\na,a.mp4\n")
    (root / "afile").write_text("x")
    r = _cli("run", str(_probe_yaml(root)), "-m", str(m), "-o", str(root / "afile" / "sub"))
    assert "is a file, not a folder" in _one_line_error(r)


def test_status_and_verify_need_a_ledger_and_never_create_one(root):
    folder = root / "not_an_output"
    folder.mkdir()
    for cmd in ("status", "verify"):
        assert "no ledger.sqlite here" in _one_line_error(_cli(cmd, "-o", str(folder)))
    assert list(folder.iterdir()) == []


def test_a_corrupt_ledger_is_a_one_line_error(root):
    folder = root / "out"
    folder.mkdir()
    (folder / "ledger.sqlite").write_bytes(b"garbage" * 100)
    for cmd in ("status", "verify"):
        assert "not a readable posetools ledger" in _one_line_error(_cli(cmd, "-o", str(folder)))


def test_read_only_output_folder(root, tmp_path):
    m = root / "m.csv"
    m.write_text("video_id,path\na,a.mp4\n")
    with tmpfs(tmp_path / "mnt", "8m") as mnt:
        out = mnt / "out"
        r = _cli("run", str(_probe_yaml(root)), "-m", str(m), "-o", str(out), "--no-progress")
        assert r.returncode == 0, r.stdout + r.stderr
        remount(mnt, "ro")
        before = sorted(p.name for p in out.rglob("*"))
        st = _cli("status", "-o", str(out), "-m", str(m))
        assert st.returncode == 0 and "probe" in st.stdout, st.stderr
        v = _cli("verify", "-o", str(out))
        assert v.returncode == 0 and "1 ok, 0 bad" in v.stdout, v.stdout + v.stderr
        i = _cli("inspect", str(out / "probe" / "a.h5"))
        assert i.returncode == 0 and "frame_index" in i.stdout
        assert "not writable" in _one_line_error(
            _cli("run", str(_probe_yaml(root)), "-m", str(m), "-o", str(out)))
        assert sorted(p.name for p in out.rglob("*")) == before


def test_status_against_a_large_manifest(root):
    """20k rows against a 20k-row ledger (quadratic code would take minutes)."""
    out = root / "out"
    led = Ledger(out)
    ids = [f"v{i:05d}" for i in range(20_000)]
    with led.batch():
        for v in ids[:-3]:
            led.commit("probe", v, fingerprint="f", input_hash=None, detail={})
        led.fail("probe", ids[-3], error_class="X", message="boom")
    led.close()
    m = root / "big.csv"
    m.write_text("video_id,path\n" + "".join(f"{v},a.mp4\n" for v in ids))
    r = _cli("status", "-o", str(out), "-m", str(m))
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("probe")][0]
    assert line.split()[1:] == ["19997", "1", "0", "2", "20000"]
