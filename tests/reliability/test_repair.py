"""Damaged artifacts are recomputed: by the next run (size / mtime changed) or after verify."""

from __future__ import annotations

import os
import subprocess

from tests.support.processes import assert_consistent, cli


def _run(m, out):
    return subprocess.run(cli("run", "default", "-m", str(m), "-o", str(out), "--no-progress"),
                          capture_output=True, text=True, timeout=600)


def test_truncated_flipped_and_deleted_files_are_repaired(fresh):
    m, out = fresh
    truncated, flipped, deleted = out / "probe" / "a.h5", out / "estimate" / "b.h5", \
        out / "heatmaps" / "c.h5"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    st = os.stat(flipped)
    raw = bytearray(flipped.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    flipped.write_bytes(bytes(raw))
    os.utime(flipped, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    deleted.unlink()

    r = _run(m, out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "REPAIRED probe/a" in r.stdout and "REPAIRED heatmaps/c" in r.stdout
    assert deleted.is_file() and len(truncated.read_bytes()) == len(data)

    v = subprocess.run(cli("verify", "-o", str(out)), capture_output=True, text=True)
    assert v.returncode == 1 and "BAD estimate/b" in v.stdout, v.stdout  # found by its hash
    v = subprocess.run(cli("verify", "-o", str(out), "--repair"), capture_output=True, text=True)
    assert v.returncode == 0 and "marked 1 artifact(s) pending" in v.stdout, v.stdout
    r = _run(m, out)
    assert r.returncode == 0, r.stdout + r.stderr
    v = subprocess.run(cli("verify", "-o", str(out)), capture_output=True, text=True)
    assert v.returncode == 0 and " 0 bad" in v.stdout, v.stdout
    states = assert_consistent(out)
    assert all(set(s.values()) == {"committed"} for s in states.values())


def test_a_no_op_rerun_keeps_every_file(fresh):
    m, out = fresh
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/*.h5")}
    r = _run(m, out)
    assert r.returncode == 0 and "REPAIRED" not in r.stdout, r.stdout + r.stderr
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/*.h5")} == before
