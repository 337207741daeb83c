"""Shared fixtures: the real media in ``../shared/data`` beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSETOOLS_SHARED", REPO.parent / "shared")).resolve()
VIDEOS = SHARED / "data" / "videos"
IMAGES = SHARED / "data" / "images"
ALL_VIDEOS = (
    "demo_skeleton.mp4",
    "ntu_S001C001P001R001A001.avi",
    "mmaction2_test.mp4",
    "mmpose_demo.mp4",
    "posetrack_000001.mp4",
)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run only when ``-m`` asks for them (``pytest -m slow``)."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: runs with -m slow (the CI runs the reduced count)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared test-media folder (fails loudly if absent: CI always has it)."""
    assert SHARED.is_dir(), f"shared test media not found at {SHARED} (set POSETOOLS_SHARED)"
    return SHARED


@pytest.fixture(scope="session")
def videos_dir(shared_dir: Path) -> Path:
    """Folder with the real test clips."""
    return shared_dir / "data" / "videos"


@pytest.fixture(scope="session")
def images_dir(shared_dir: Path) -> Path:
    """Folder with the GT-annotated test images."""
    return shared_dir / "data" / "images"
