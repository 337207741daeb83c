"""Identical inputs give identical bytes: a cache can be checked with plain sha256sum."""

from __future__ import annotations

import hashlib
import subprocess

from tests.support.processes import cli


def _digests(out):
    return {p.relative_to(out): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("*/*.h5"))}


def test_two_runs_give_byte_identical_artifacts(template, tmp_path):
    m, first = template
    second = tmp_path / "out2"
    r = subprocess.run(cli("run", "default", "-m", str(m), "-o", str(second), "--no-progress"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    a, b = _digests(first), _digests(second)
    assert len(a) == 15 and a == b
