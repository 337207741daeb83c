"""Build the Docker images and check them end to end with docker/test-images.sh.

CPU image (plain ``pytest``, so CI): build, quickstart and show, the default pipeline on the shared
clips mounted read-only, `docker stop` of a running job (exit 143 within the grace period,
no temp file, ledger consistent) and a clean rerun. Skipped, with the reason, when no
daemon answers and none can be started (tests/docker/conftest.py).

GPU image: marked ``slow`` *and* opted into with POSETOOLS_TEST_GPU_IMAGE=1, so that
``pytest -m slow`` (the reliability tests' full counts) does not start it by accident: it
downloads about 4 GB of CUDA wheels and takes about 17 GB of disk (4.5 min here). No GPU is
needed: ``pytest -m slow tests/docker/test_images.py::test_gpu_image`` with the variable set.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import VIDEOS
from tests.docker.conftest import DOCKER_DIR, REPO

pytestmark = pytest.mark.docker


def _test_images(docker: str, *args: str, timeout: int) -> None:
    if not VIDEOS.is_dir():
        pytest.fail(f"shared clips not found at {VIDEOS} (set POSETOOLS_SHARED)")
    env = dict(os.environ, DOCKER=docker, VIDEOS=str(VIDEOS))
    # One `docker stop` (of a --workers 2 job: the pool path, whose workers are not PID 1's
    # children) keeps CI short; the inline path's stop is tested without Docker in
    # tests/reliability/test_signals.py. STOP_WORKERS="1 2" (the script's default) for both.
    env.setdefault("STOP_WORKERS", "2")
    r = subprocess.run(["bash", str(DOCKER_DIR / "test-images.sh"), *args], cwd=REPO, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    print(r.stdout)
    failed = [ln for ln in r.stdout.splitlines() if " FAIL " in ln or " ERROR " in ln]
    rc = r.returncode
    assert rc == 0, "docker/test-images.sh failed:\n" + "\n".join(failed or [r.stdout[-3000:]])


def test_cpu_image(base_image, docker_daemon):
    _test_images(docker_daemon, timeout=1800)


@pytest.mark.slow
def test_gpu_image(base_image, docker_daemon):
    if os.environ.get("POSETOOLS_TEST_GPU_IMAGE") != "1":
        pytest.skip("set POSETOOLS_TEST_GPU_IMAGE=1 to build the GPU image (about 4 GB of "
                    "CUDA wheels, about 17 GB of disk; not in CI)")
    _test_images(docker_daemon, "--gpu", timeout=3600)
