"""A committed output folder of the default pipeline on three short real clips, to copy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import cli, write_manifest


@pytest.fixture(scope="session")
def template(tmp_path_factory, videos_dir) -> tuple[Path, Path]:
    """``(manifest, OUT)``: the default pipeline fully committed (never modify it: copy)."""
    root = tmp_path_factory.mktemp("template")
    m = write_manifest(root, videos_dir)
    out = root / "out"
    r = subprocess.run(cli("run", "default", "-m", str(m), "-o", str(out), "--no-progress"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return m, out


@pytest.fixture
def fresh(template, tmp_path) -> tuple[Path, Path]:
    """``(manifest, OUT)``: a private copy of the template output folder."""
    m, out = template
    dst = tmp_path / "out"
    shutil.copytree(out, dst)
    return m, dst
