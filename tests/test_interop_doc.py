"""docs/interop.md: its PoseC3D snippet trains on a posetools export; its tables are complete."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from posetools.config.models import IMPORT_FIELDS, ImportFormat
from posetools.io.formats.pyskl import export_pyskl
from posetools.io.manifest import ManifestEntry
from tests.support.heatmap_fixtures import walking_sequence, write_aggregate

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "interop.md").read_text(encoding="utf-8")


def snippet(tag: str) -> str:
    m = re.search(rf"<!-- tested: {tag} -->\s*```python\n(.*?)```", DOC, re.S)
    assert m, f"no tested snippet {tag!r} in docs/interop.md"
    return m.group(1)


def test_every_import_option_and_format_is_documented():
    for name in IMPORT_FIELDS:
        assert f"| `{name}` |" in DOC, name
    for fmt in ImportFormat.__args__:
        assert f"`format: {fmt}`" in DOC, fmt


def test_posec3d_one_step_snippet_runs_on_an_export(tmp_path):
    pytest.importorskip("mmaction", reason="mmaction2 is not installed "
                                           "(docker/install-test-deps.sh installs it)")
    entries = []
    for i, vid in enumerate(("v0", "v1")):
        kp, sc, valid = walking_sequence(60, persons=2, seed=i)
        write_aggregate(tmp_path / "aggregate" / f"{vid}.h5", kp, sc, valid)
        entries.append(ManifestEntry(video_id=vid, path=tmp_path / f"{vid}.mp4", row=i + 1,
                                     split="train", label=i))
    export_pyskl(tmp_path, entries, tmp_path / "ann.pkl")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-c", snippet("posec3d-one-step")], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert re.search(r"^loss \d+\.\d+", res.stdout, re.M), res.stdout
