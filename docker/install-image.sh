#!/usr/bin/env bash
# The install steps of the Docker images (docker/Dockerfile.cpu, docker/Dockerfile), also
# usable in a plain venv (CI runs them that way: tests/docker/test_install_steps.py).
#
#   bash docker/install-image.sh deps   # venv + posetools' dependencies, pinned (needs only
#                                       # pyproject.toml and docker/constraints.txt: cached
#                                       # as its own image layer)
#   bash docker/install-image.sh app    # posetools itself (+ the OpenMMLab packages), checks
#
# Environment (same names as the Dockerfiles' build args):
#   VENV         the environment (default /opt/venv; created with $PYTHON -m venv if absent)
#   PYTHON       interpreter for a new venv (default python3; 3.11 to match the pins)
#   FLAVOR       cpu (onnxruntime) | gpu (torch + onnxruntime-gpu, CUDA builds) (default cpu)
#   EXTRAS       posetools extras (default: cpu "onnx,sample,viz", gpu "sample,viz,ray")
#   MM           1: the OpenMMLab stack (mmcv/mmengine/mmdet/mmpose, --no-deps) (default 0)
#   MMCV         mmcv 2.1.0 for MM=1: a wheel, a folder of wheels, a find-links URL, or
#                "skip" (install the rest of the stack, leave mmcv out) (default docker/wheels)
#   CONSTRAINTS  pins (default docker/constraints.txt); every installed distribution must be
#                pinned there
# pip's CA bundle: a BuildKit secret `ca` (/run/secrets/ca) when present, else pip's own
# configuration (PIP_CERT, pip.conf).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="$PWD"

phase="${1:?usage: install-image.sh deps|app}"
VENV="${VENV:-/opt/venv}"
PYTHON="${PYTHON:-python3}"
FLAVOR="${FLAVOR:-cpu}"
MM="${MM:-0}"
MMCV="${MMCV:-docker/wheels}"
CONSTRAINTS="$(realpath "${CONSTRAINTS:-docker/constraints.txt}")"
case "$FLAVOR" in
  cpu) EXTRAS="${EXTRAS-onnx,sample,viz}" ;;
  gpu) EXTRAS="${EXTRAS-sample,viz,ray}" ;;
  *) echo "FLAVOR must be cpu or gpu, got '$FLAVOR'" >&2; exit 2 ;;
esac
[[ "$MM" == 1 ]] && EXTRAS="${EXTRAS:+$EXTRAS,}mm"

if [[ -s /run/secrets/ca ]]; then
  export PIP_CERT=/run/secrets/ca  # e.g. a TLS-inspecting proxy's CA; never stored in a layer
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
log() { printf '[install-image %s] %s\n' "$phase" "$*" >&2; }

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --no-input -c "$CONSTRAINTS")

deps() {
  "${PIP[@]}" --upgrade pip setuptools wheel
  # posetools' own requirements (core + extras) from pyproject.toml, without its source.
  local req
  req="$(mktemp)"
  "$PY" - "$SRC/pyproject.toml" "$EXTRAS" >"$req" <<'EOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
reqs = list(project["dependencies"])
for extra in filter(None, sys.argv[2].split(",")):
    reqs += project["optional-dependencies"][extra]
print("\n".join(dict.fromkeys(reqs)))
EOF
  if [[ "$FLAVOR" == gpu ]]; then
    # CUDA builds: PyPI's x86_64 torch wheels bundle the CUDA runtime as nvidia-* wheels;
    # onnxruntime-gpu's [cuda,cudnn] extras resolve to those same wheels.
    printf '%s\n' torch torchvision "onnxruntime-gpu[cuda,cudnn]" >>"$req"
  fi
  [[ "$MM" == 1 ]] && echo cython >>"$req"  # builds xtcocotools (app phase)
  log "installing $(grep -c . "$req") requirement(s) (extras: ${EXTRAS:-none})"
  "${PIP[@]}" -r "$req"
  rm -f "$req"
}

mmcv_source() {
  # Prints pip arguments that install mmcv 2.1.0, or nothing for MMCV=skip.
  [[ "$MMCV" == skip ]] && return 0
  if [[ "$MMCV" == *://* ]]; then
    printf '%s\n' --find-links "$MMCV" "mmcv==2.1.0"; return 0
  fi
  if [[ -d "$MMCV" ]]; then
    local w
    w="$(find "$MMCV" -maxdepth 1 -name 'mmcv-2.1.0-cp311-*.whl' | sort | head -n1)"
    if [[ -n "$w" ]]; then printf '%s\n' "$w"; return 0; fi
  elif [[ -f "$MMCV" ]]; then
    printf '%s\n' "$MMCV"; return 0
  fi
  cat >&2 <<EOF
error: MM=1 needs mmcv 2.1.0 built for torch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo '(not installed)') (mmcv has no PyPI wheel),
and none was found at MMCV=$MMCV. Put mmcv-2.1.0-cp311-cp311-linux_x86_64.whl into docker/wheels/
(docker/README.md says how to build one), or pass MMCV=<wheel|folder|find-links URL>,
or MMCV=skip to install the stack without mmcv (mmpose/mmdet then do not import).
EOF
  exit 2
}

app() {
  # posetools itself; its dependencies are in place (deps phase), so nothing else moves.
  "${PIP[@]}" --no-deps --no-build-isolation "$SRC"
  if [[ "$MM" == 1 ]]; then
    local src_args
    local -a mmcv=()
    src_args="$(mmcv_source)"  # exits here when no mmcv is to be found
    [[ -n "$src_args" ]] && mapfile -t mmcv <<<"$src_args"
    # Why --no-deps and a source build of xtcocotools: docker/README.md.
    "${PIP[@]}" --no-deps --no-binary xtcocotools --no-build-isolation xtcocotools
    "${PIP[@]}" --no-deps "${mmcv[@]}" mmengine mmdet mmpose
  fi
  check
}

check() {
  # 1. Every installed distribution is pinned (posetools itself excepted).
  "$PY" - "$CONSTRAINTS" <<'EOF'
import importlib.metadata as md, re, sys
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
pins = {}
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if "==" in line:
        name, ver = line.split("==")
        pins[norm(name.split("[")[0])] = ver.strip()
bad = []
for d in md.distributions():
    n = norm(d.metadata["Name"])
    if n != "posetools" and pins.get(n) != d.version:
        bad.append(f"{d.metadata['Name']}=={d.version} (pinned: {pins.get(n, 'not pinned')})")
if bad:
    sys.exit("installed but not pinned in docker/constraints.txt (run docker/lock.sh):\n  "
             + "\n  ".join(sorted(bad)))
cv = [d.metadata["Name"] for d in md.distributions() if "opencv" in d.metadata["Name"].lower()]
assert len(cv) == 1, f"exactly one OpenCV distribution expected, found {cv}"
EOF
  # 2. Requirements are satisfied, except those the mm recipe leaves out on purpose.
  local out
  out="$("$PY" -m pip check 2>&1 || true)"
  out="$(grep -v -E 'requires (chumpy|opencv-python|mmcv)|^No broken requirements' <<<"$out" || true)"
  if [[ -n "$out" ]]; then echo "$out" >&2; exit 1; fi
  # 3. The backends this flavour promises import.
  "$PY" - "$FLAVOR" "$MM" "$MMCV" "$EXTRAS" <<'EOF'
import importlib, sys, warnings
warnings.simplefilter("ignore")
flavor, mm, mmcv, extras = sys.argv[1:]
# Third-party modules only: posetools' own module layout is not part of this contract
# (`posetools --version` below, and test-images.sh runs the pipeline in the image).
import cv2, mediapipe, onnxruntime as ort  # noqa: F401,E401
from mediapipe.python.solutions import pose  # noqa: F401  (the embedded default's graph)
got = {"posetools": __import__("posetools").__version__, "mediapipe": mediapipe.__version__,
       "opencv": cv2.__version__, "onnxruntime": ort.__version__,
       "ort providers": ort.get_available_providers()}
# What each extra is installed for (mm: below).
for extra in filter(None, extras.split(",")):
    module = {"onnx": "onnxruntime", "sample": "skimage", "viz": "matplotlib", "ray": "ray",
              "torch": "torch"}.get(extra)
    if module:
        got[module] = importlib.import_module(module).__version__
if flavor == "gpu":
    import torch
    got["torch"] = f"{torch.__version__} (CUDA {torch.version.cuda})"
    assert torch.version.cuda, "gpu flavour: torch is not a CUDA build"
    assert "CUDAExecutionProvider" in got["ort providers"], "onnxruntime-gpu: no CUDA provider"
if mm == "1":
    import mmengine, xtcocotools.coco  # noqa: F401,E401
    if mmcv != "skip":
        import mmcv.ops, mmdet.apis, mmpose.apis  # noqa: F401,E401
        got["mm"] = "mmcv.ops, mmdet, mmpose"
    else:
        got["mm"] = "mmengine, xtcocotools (mmcv skipped: mmdet/mmpose not importable)"
print("[install-image check]", got)
EOF
  "$VENV/bin/posetools" --version
}

case "$phase" in
  deps) deps ;;
  app) app ;;
  check) check ;;
  *) echo "usage: install-image.sh deps|app|check" >&2; exit 2 ;;
esac
