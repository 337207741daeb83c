import errno
import json
import os

import h5py
import numpy as np
import pytest

from posetools.errors import DiskFullError, RunInterrupted, StoreError, WriteError
from posetools.io.files import file_sha256
from posetools.io.store import (
    TMP_MARK,
    artifact_path,
    atomic_h5,
    check_artifact,
    read_attrs,
    read_strings,
    remove_stale_temps,
    write_strings,
)

KW = dict(stage="probe", stage_version="1", fingerprint="f" * 64, video_id="v", params={"a": 1})


def test_atomic_commit_and_attrs(tmp_path):
    final = artifact_path(tmp_path, "probe", "v")
    with atomic_h5(final, **KW) as art:
        art.file["x"] = np.arange(3)
        write_strings(art.file, "names", ["a", "bé"])
        assert not final.exists()
    a = read_attrs(final)
    assert "created_utc" not in a  # no wall-clock data: identical inputs, identical bytes
    st = os.stat(final)
    assert (art.committed.size, art.committed.mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert art.committed.sha256 == file_sha256(final)
    assert a["stage"] == "probe" and a["complete"] is True and a["fingerprint"] == "f" * 64
    assert json.loads(a["params_json"]) == {"a": 1}
    assert "numpy" in json.loads(a["library_versions_json"])
    with h5py.File(final) as fh:
        assert read_strings(fh, "names") == ["a", "bé"]
    check_artifact(final, "f" * 64)
    with pytest.raises(StoreError, match="fingerprint"):
        check_artifact(final, "0" * 64)
    assert not list(final.parent.glob(f"*{TMP_MARK}*"))


def test_failure_leaves_nothing(tmp_path):
    final = artifact_path(tmp_path, "probe", "v")
    with pytest.raises(RuntimeError):
        with atomic_h5(final, **KW) as art:
            art.file["x"] = np.arange(3)
            raise RuntimeError("boom")
    assert not final.exists()
    assert not list(final.parent.glob("*"))


def test_failure_keeps_previous_version(tmp_path):
    final = artifact_path(tmp_path, "probe", "v")
    with atomic_h5(final, **KW) as art:
        art.file["x"] = np.arange(3)
    with pytest.raises(RuntimeError):
        with atomic_h5(final, **dict(KW, fingerprint="e" * 64)) as art:
            art.file["x"] = np.arange(4)
            raise RuntimeError("boom")
    assert read_attrs(final)["fingerprint"] == "f" * 64


def test_a_write_of_an_ended_run_is_not_committed(tmp_path):
    final = artifact_path(tmp_path, "probe", "v")
    with pytest.raises(RunInterrupted, match="not committing"):
        with atomic_h5(final, **KW, may_commit=lambda: False) as art:
            art.file["x"] = np.arange(3)
    assert not final.exists() and not list(final.parent.glob("*"))


@pytest.mark.parametrize("err, cls", [(errno.ENOSPC, DiskFullError), (errno.EIO, WriteError)])
def test_io_errors_become_one_line_errors_and_leave_nothing(tmp_path, monkeypatch, err, cls):
    final = artifact_path(tmp_path, "probe", "v")

    def failing_fsync(fd):
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(cls) as ei:
        with atomic_h5(final, **KW) as art:
            art.file["x"] = np.arange(3)
    assert "\n" not in str(ei.value) and str(final) in str(ei.value)
    if cls is DiskFullError:
        assert "free space" in str(ei.value)
    assert not final.exists() and not list(final.parent.glob("*"))


def test_stale_temps_and_corruption(tmp_path):
    d = tmp_path / "probe"
    d.mkdir()
    stale = d / f".v{TMP_MARK}123-abcd"
    stale.write_bytes(b"partial")
    assert remove_stale_temps(tmp_path) == [stale]
    bad = d / "w.h5"
    bad.write_bytes(os.urandom(2048))
    with pytest.raises(StoreError, match="corrupt|cannot open"):
        check_artifact(bad)
    with pytest.raises(StoreError):
        read_attrs(bad)
