"""A full disk fails the video being written with one line; nothing is lost or broken.

Real full filesystems: tmpfs mounts of a few hundred kB (root only; the CI runs as
root). The unit tests of ``posetools.io.store`` inject ``ENOSPC`` for everyone else.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support.mounts import remount, tmpfs
from tests.support.processes import assert_consistent, cli, temp_files


@pytest.mark.parametrize("size", ["150k", "260k", "400k"])
def test_full_disk_then_space_returns(tmp_path, template, size):
    m, _ = template
    with tmpfs(tmp_path / "mnt", size) as mnt:
        out = mnt / "out"
        r = subprocess.run(cli("run", "default", "-m", str(m), "-o", str(out), "--no-progress"),
                           capture_output=True, text=True, timeout=600)
        text = r.stdout + r.stderr
        assert r.returncode in (1, 2), text[-3000:]
        assert "Traceback" not in text and "Segmentation" not in text, text[-3000:]
        assert "no space left" in text.lower(), text[-3000:]
        assert temp_files(out) == []
        if (out / "ledger.sqlite").is_file():
            assert_consistent(out)  # whatever was committed is complete and recorded
        remount(mnt, "size=64m")
        r = subprocess.run(cli("run", "default", "-m", str(m), "-o", str(out), "--no-progress"),
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
        states = assert_consistent(out)
        assert all(set(s.values()) == {"committed"} for s in states.values()), states
        v = subprocess.run(cli("verify", "-o", str(out)), capture_output=True, text=True)
        assert v.returncode == 0, v.stdout + v.stderr
