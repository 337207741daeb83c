"""Fixtures of the Docker image tests: a BuildKit-capable client, a daemon, the base image.

The daemon comes from, in order: one that already answers; or, as root, one started here
with ``docker/dockerd.sh`` (stopped again at the end of the session). Otherwise the tests
are skipped with the reason. ``.ci/run`` starts the daemon itself, so CI never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO / "docker"


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def _has_buildkit(client: str) -> bool:
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    try:
        r = _run([client, "build", "--help"], env=env, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--secret" in r.stdout


def find_docker_client() -> str | None:
    """``$DOCKER``, else Debian docker.io's client, else ``docker`` on PATH, with BuildKit."""
    cands = [os.environ.get("DOCKER"), "/usr/bin/docker", shutil.which("docker")]
    for c in cands:
        if c and Path(c).is_file() and _has_buildkit(c):
            return c
    return None


@pytest.fixture(scope="session")
def docker_client() -> str:
    """Path of a docker client whose ``build`` supports BuildKit secrets."""
    c = find_docker_client()
    if c is None:
        pytest.skip("no docker client with BuildKit (`docker build --secret`): install "
                    "Debian's docker.io, or the buildx plugin for a newer client")
    return c


@pytest.fixture(scope="session")
def docker_daemon(docker_client):
    """A daemon that answers; started here (and stopped at the end) when root and needed."""
    env = dict(os.environ, DOCKER=docker_client)
    if _run([docker_client, "info"], timeout=60).returncode == 0:
        yield docker_client
        return
    if os.geteuid() != 0:
        pytest.skip("no Docker daemon answers and not root, so none can be started here "
                    "(start one, or run as root with docker.io installed)")
    if (shutil.which("dockerd") or shutil.which("dockerd", path="/usr/sbin:/usr/bin")) is None:
        pytest.skip("no Docker daemon answers and dockerd is not installed "
                    "(apt-get install docker.io)")
    r = _run(["bash", str(DOCKER_DIR / "dockerd.sh"), "start"], env=env, timeout=120)
    if r.returncode != 0:
        pytest.skip(f"no Docker daemon could be started: {r.stderr.strip()[-500:]}")
    try:
        yield docker_client
    finally:
        _run(["bash", str(DOCKER_DIR / "dockerd.sh"), "stop"], env=env, timeout=60)


@pytest.fixture(scope="session")
def base_image(docker_daemon) -> str:
    """``debian:bookworm-slim``, made offline by docker/make-base-image.sh when missing."""
    tag = "debian:bookworm-slim"
    if _run([docker_daemon, "image", "inspect", tag], timeout=60).returncode == 0:
        return tag
    r = _run(["bash", str(DOCKER_DIR / "make-base-image.sh")],
             env=dict(os.environ, DOCKER=docker_daemon), timeout=900)
    if r.returncode != 0:
        pytest.skip(f"base image {tag} missing and docker/make-base-image.sh failed "
                    f"(needs root and a Debian mirror): {r.stderr.strip()[-500:]}")
    return tag
